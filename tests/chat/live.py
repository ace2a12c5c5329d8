"""The chat app beside a real platform (not collected): both serve on loopback ports.

`live_chat` builds on the browser tests' `live_server` (the platform in a uvicorn
subprocess): it connects the chat to it as the demo does (`connect_chat`: provider key,
webhook), serves the chat with uvicorn in a thread, waits until the chat has registered its
rooms, and lets CEOP monitor the teen lounge around the clock. `deliver()` runs the
platform's outbox once (what `childsafe worker` does), so webhooks reach the chat.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from childsafe.chat.app import create_app
from childsafe.chat.config import ChatSettings
from childsafe.chat.demo_setup import Credentials, connect_chat
from childsafe.chat.store import utcnow
from childsafe.core.crypto import new_keyring
from childsafe.mail import MemorySender
from childsafe.store import agencies, migrate
from childsafe.store.db import Database, make_engine
from childsafe.store.watch_models import RoomAssignmentRow, RoomRow, ShiftRow
from childsafe.watch.housekeeping import refresh_room
from childsafe.worker import DrainResult, default_handlers, drain_once
from tests.browser.conftest import LiveServer, _free_port
from tests.helpers import OfficerFactory

MONITORED = "teen-lounge-3"
PASSWORD = "a-long-enough-password"


@dataclass
class LiveChat:
    url: str
    settings: ChatSettings
    credentials: Credentials
    platform: LiveServer
    app: Any
    users: list[ChatUser] = field(default_factory=list)
    mail: MemorySender = field(default_factory=MemorySender)  # what the outbox mailed

    @property
    def store(self) -> Any:
        return self.app.state.store

    def deliver(self) -> DrainResult:
        """The platform's outbox, drained once (webhooks to the chat)."""
        keyring = self.platform.officers.keyring
        return drain_once(self.platform.db, default_handlers(
            self.mail, keyring=keyring, http=lambda: httpx.Client(timeout=5)),
            keyring=keyring)

    def user(self, username: str, age: int, **extra: str) -> ChatUser:
        user = ChatUser(self.url, username)
        self.users.append(user)
        user.sign_up(age, **extra)
        return user

    def push_badge(self, slug: str) -> None:
        """What an assignment made on the console does: the platform pushes the new badge."""
        with self.platform.db.transaction() as s:
            row = s.scalar(select(RoomRow).where(RoomRow.external_id == slug))
            assert row is not None
            assert refresh_room(s, self.platform.officers.keyring, row, utcnow())
        assert self.deliver().sent >= 1

    def platform_room(self, slug: str) -> RoomRow:
        with self.platform.db.transaction() as s:
            row = s.scalar(select(RoomRow).where(RoomRow.external_id == slug))
            assert row is not None
            s.expunge(row)
            return row


class ChatUser:
    """One person's browser-less session with the chat, over real HTTP."""

    def __init__(self, base: str, username: str) -> None:
        self.username = username
        self.http = httpx.Client(base_url=base, timeout=10, follow_redirects=False)

    def csrf(self) -> str:
        if not self.http.cookies.get("chat_csrf"):
            self.http.get("/login")
        return str(self.http.cookies.get("chat_csrf"))

    def sign_up(self, age: int, country: str = "GB", email: str = "") -> None:
        r = self.http.post("/signup", data={
            "username": self.username, "display_name": self.username.title(),
            "password": PASSWORD, "birth_year": str(utcnow().year - age), "country": country,
            "email": email, "csrf": self.csrf()})
        assert r.status_code == 303, r.text

    def say(self, room: str, text: str) -> str:
        r = self.http.post(f"/rooms/{room}/messages", data={"text": text, "csrf": self.csrf()},
                           headers={"accept": "application/json"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def dm(self, to: str, text: str) -> str:
        r = self.http.post(f"/dm/{to}/messages", data={"text": text, "csrf": self.csrf()},
                           headers={"accept": "application/json"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def post_form(self, path: str, **data: str) -> httpx.Response:
        return self.http.post(path, data=data | {"csrf": self.csrf()})

    def close(self) -> None:
        self.http.close()


def wait_for(check: Any, what: str, seconds: float = 30.0) -> Any:
    """Poll until `check()` is truthy (no timing is asserted: the deadline only ends a hang)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


def monitor(platform: LiveServer, slug: str, agency: str = "UK-NCA-CEOP") -> None:
    """The agency monitors the room and is on duty around the clock."""
    with platform.db.transaction() as s:
        row = s.scalar(select(RoomRow).where(RoomRow.external_id == slug))
        assert row is not None
        agency_id = agencies.get_by_code(s, agency).id
        if not s.scalar(select(RoomAssignmentRow).where(RoomAssignmentRow.room_id == row.id,
                                                        RoomAssignmentRow.agency_id == agency_id)):
            s.add(RoomAssignmentRow(room_id=row.id, agency_id=agency_id))
        if not s.scalar(select(ShiftRow).where(ShiftRow.agency_id == agency_id)):
            s.add(ShiftRow(agency_id=agency_id, timezone="UTC", days=0b1111111,
                           start_minute=0, end_minute=0))


@pytest.fixture
def live_platform(tmp_path: Path) -> Iterator[LiveServer]:
    """The platform in a uvicorn subprocess, as `live_server`, but knowing its own address
    (CHILDSAFE_BASE_URL), since the badge and hand-off links it gives out are absolute."""
    keyring = new_keyring()
    url = f"sqlite:///{tmp_path / 'childsafe.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    db = Database(url)
    with db.transaction() as session:
        agencies.seed_agencies(session)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {"CHILDSAFE_DATA_DIR": str(tmp_path), "CHILDSAFE_DATABASE_URL": url,
                        "CHILDSAFE_KEYS": keyring.to_json(), "CHILDSAFE_MAIL_SENDER": "file",
                        "CHILDSAFE_BASE_URL": base}
    log = (tmp_path / "platform.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "childsafe.web.asgi:app",
                             "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)

    def healthy() -> bool:
        try:
            return httpx.get(base + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return proc.poll() is not None  # died: stop waiting, fail below

    try:
        wait_for(healthy, "the platform to start")
        if proc.poll() is not None:
            pytest.fail("platform did not start: " + (tmp_path / "platform.log").read_text()[-2000:])
        yield LiveServer(base, db, OfficerFactory(db, keyring), tmp_path)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        db.dispose()


@pytest.fixture
def live_chat(live_platform: LiveServer, tmp_path: Path) -> Iterator[LiveChat]:
    live_server = live_platform
    port = _free_port()
    settings = ChatSettings(data_dir=tmp_path / "chat", host="127.0.0.1", port=port,
                            platform_url=live_server.url, api_key="", webhook_secret="",
                            credentials_file=tmp_path / "chat" / "platform.json",
                            badge_refresh_s=3600)
    credentials = connect_chat(live_server.db, live_server.officers.keyring, settings)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="chat-server", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"

    def registered() -> bool:
        try:
            return bool(httpx.get(url + "/healthz", timeout=1).json()["registered"])
        except httpx.HTTPError:
            return False

    try:
        wait_for(registered, "the chat to register its rooms")
        monitor(live_server, MONITORED)
        chat = LiveChat(url, settings, credentials, live_server, app)
        yield chat
        for user in chat.users:
            user.close()
    finally:
        server.should_exit = True
        thread.join(15)


def ids_in(html: str) -> list[str]:
    return re.findall(r'id="(m_[0-9a-f]+)"', html)
