"""A real server (uvicorn subprocess on loopback) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from childsafe.core.crypto import new_keyring
from childsafe.store import agencies, migrate
from childsafe.store.db import Database, make_engine
from tests.helpers import OfficerFactory

CHROMIUM = os.environ.get("CHILDSAFE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 # The embed test loads our script from a page on another loopback origin.
                 "--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessChecks,"
                 "BlockInsecurePrivateNetworkRequests"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    db: Database
    officers: OfficerFactory
    data_dir: Path


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    keyring = new_keyring()
    url = f"sqlite:///{tmp_path / 'childsafe.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    db = Database(url)
    with db.transaction() as session:
        agencies.seed_agencies(session)
    port = _free_port()
    env = os.environ | {"CHILDSAFE_DATA_DIR": str(tmp_path), "CHILDSAFE_DATABASE_URL": url,
                        "CHILDSAFE_KEYS": keyring.to_json(), "CHILDSAFE_MAIL_SENDER": "memory"}
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "childsafe.web.asgi:app",
                             "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("server did not start: " + (tmp_path / "server.log").read_text()[-2000:])
    try:
        yield LiveServer(base, db, OfficerFactory(db, keyring), tmp_path)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        db.dispose()


# Module scope: a live sync Playwright keeps an event loop running in the main thread, so
# tests after the browser ones that call asyncio.run() (SDK, admission, group commit) would fail.
@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.console_errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()


def log_in(page, base_url: str, officer) -> None:
    """Password then TOTP through the real login pages, ending on the console home."""
    import re

    import pyotp

    if "/login" not in page.url:
        page.goto(base_url + "/login")
    page.get_by_label("Username").fill(officer.username)
    page.get_by_label("Password").fill(officer.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/login/mfa$"))
    page.get_by_label("6-digit code").fill(pyotp.TOTP(officer.totp_secret).now())
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base_url + "/")
