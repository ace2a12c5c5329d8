"""A running platform for SDK tests (not collected): uvicorn on a loopback port serving the
real app on its own SQLite store, with a provider, its API keys, a CEOP shift around the
clock, and helpers to monitor a room, deliver the outbox and receive webhooks with the SDK.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from childsafe.core.crypto import Keyring, new_keyring
from childsafe.mail import MemorySender
from childsafe.sdk import ChildsafeError, WebhookEvent, verify_webhook
from childsafe.store import accounts, agencies, migrate, providers
from childsafe.store.db import Database, make_engine
from childsafe.store.models import ProviderRow
from childsafe.store.watch_models import RoomAssignmentRow, RoomRow, ShiftRow
from childsafe.watch import housekeeping
from childsafe.watch.core.roster import make_shift
from childsafe.worker import default_handlers, drain_once
from tests.helpers import OfficerFactory

ROOT = Path(__file__).resolve().parents[2]
ALL_SCOPES = ["provider:report:write", "provider:evidence:write", "provider:room:write",
              "provider:message:write"]
HANDOFF_LIMIT = 25  # per provider and hour on the test server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Platform:
    url: str
    db: Database
    keyring: Keyring
    provider_id: int
    key: str  # every provider scope
    rooms_key: str  # provider:room:write only
    revoked_key: str
    officers: OfficerFactory
    data_dir: Path

    def new_provider(self, name: str, scopes: list[str] | None = None) -> str:
        with self.db.transaction() as s:
            row = providers.create_provider(s, name)
            return providers.issue_key(s, row, scopes or ALL_SCOPES).plaintext

    def monitor(self, room_id: str, agency: str = "UK-NCA-CEOP") -> None:
        """The agency chooses the room (as on the Watch set-up page); the badge is pushed."""
        with self.db.transaction() as s:
            agency_id = agencies.get_by_code(s, agency).id
            s.add(RoomAssignmentRow(room_id=room_id, agency_id=agency_id,
                                    created_at=datetime.now(UTC)))
            s.flush()
            room = s.get(RoomRow, room_id)
            assert room is not None
            housekeeping.refresh_room(s, self.keyring, room, datetime.now(UTC))

    def set_webhook(self, url: str) -> str:
        from childsafe.reports.preservation import set_webhook

        with self.db.transaction() as s:
            provider = s.get(ProviderRow, self.provider_id)
            assert provider is not None
            return set_webhook(s, self.keyring, provider, url, actor="test")

    def deliver(self) -> None:
        """What `childsafe worker` does: drain the outbox (webhooks to the provider)."""
        drain_once(self.db, default_handlers(MemorySender(), keyring=self.keyring),
                   keyring=self.keyring)

    def principal(self, username: str) -> Any:
        with self.db.transaction() as s:
            return accounts.principal_for(s, accounts.get_user(s, username))


def start_platform(tmp: Path, extra_env: dict[str, str] | None = None
                   ) -> tuple[Platform, subprocess.Popen[bytes], Any]:
    keyring = new_keyring()
    url = f"sqlite:///{tmp / 'childsafe.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    db = Database(url)
    with db.transaction() as s:
        agencies.seed_agencies(s)
        ceop = agencies.get_by_code(s, "UK-NCA-CEOP")
        shift = make_shift(ceop.id, "UTC", "daily", "00:00", "00:00", "Around the clock")
        s.add(ShiftRow(agency_id=ceop.id, label=shift.label, timezone=shift.timezone,
                       days=shift.days, start_minute=shift.start_minute,
                       end_minute=shift.end_minute, created_at=datetime.now(UTC)))
        provider = providers.create_provider(s, "ExampleChat")
        key = providers.issue_key(s, provider, ALL_SCOPES).plaintext
        rooms_key = providers.issue_key(s, provider, ["provider:room:write"]).plaintext
        revoked = providers.issue_key(s, provider, ALL_SCOPES)
        s.flush()
        providers.revoke_key(s, revoked.key_id)
        provider_id = provider.id
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "CHILDSAFE_DATA_DIR": str(tmp), "CHILDSAFE_DATABASE_URL": url,
        "CHILDSAFE_KEYS": keyring.to_json(), "CHILDSAFE_MAIL_SENDER": "memory",
        "CHILDSAFE_BASE_URL": base, "CHILDSAFE_COOKIE_SECURE": "false",
        "CHILDSAFE_REPORTS_PER_IP_PER_HOUR": "100000",
        "CHILDSAFE_REPORTS_PER_CONTACT_PER_DAY": "100000",
        "CHILDSAFE_TEST_HANDOFFS_PER_HOUR": str(HANDOFF_LIMIT)} | (extra_env or {})
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory",
                             "tests.sdk.live_app:make", "--host", "127.0.0.1", "--port",
                             str(port)], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        log.close()
        pytest.fail("server did not start: " + (tmp / "server.log").read_text()[-2000:])
    platform = Platform(base, db, keyring, provider_id, key, rooms_key, revoked.plaintext,
                        OfficerFactory(db, keyring), tmp)
    return platform, proc, log


def stop_platform(platform: Platform, proc: subprocess.Popen[bytes], log: Any) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    platform.db.dispose()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    platform, proc, log = start_platform(tmp_path_factory.mktemp("platform"))
    try:
        yield platform
    finally:
        stop_platform(platform, proc, log)


# ---- a provider's webhook endpoint, written with the SDK ---------------------------------

@dataclass
class WebhookInbox:
    """A provider's webhook endpoint on 127.0.0.1 that verifies with `verify_webhook`,
    answers 401 to what does not verify and records each delivery id once."""

    secret: str = ""
    events: list[WebhookEvent] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    event = verify_webhook(raw, dict(self.headers.items()), inbox.secret)
                except ChildsafeError as exc:
                    inbox.refused.append(exc.code)
                    self.send_response(401)
                    self.end_headers()
                    return
                if event.delivery_id not in inbox.seen:  # at least once: act once
                    inbox.seen.add(event.delivery_id)
                    inbox.events.append(event)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/childsafe-webhook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def of_type(self, kind: str) -> list[WebhookEvent]:
        return [e for e in self.events if e.type == kind]


# ---- a flaky front for retry tests -------------------------------------------------------

class FlakyFront:
    """A loopback HTTP front of the platform: answers the next scripted responses itself
    (e.g. 503 with Retry-After), then forwards every request to the platform unchanged."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.requests: list[tuple[str, str]] = []
        front = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(length) if length else b""
                front.requests.append((self.command, self.path))
                if front.script:
                    status, headers, payload = front.script.pop(0)
                else:
                    got = httpx.request(self.command, front.upstream + self.path, content=body,
                                        headers={k: v for k, v in self.headers.items()
                                                 if k.lower() not in ("host", "content-length")},
                                        timeout=30)
                    status, payload = got.status_code, got.content
                    headers = {k: v for k, v in got.headers.items()
                               if k.lower() in ("content-type", "retry-after", "etag")}
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _any  # noqa: N815

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, status: int, *, retry_after: str | None = None, times: int = 1,
                  problem: dict[str, Any] | None = None) -> None:
        body = json.dumps(problem or {"type": f"/problems/{status}", "title": "Unavailable",
                                      "status": status, "detail": "Try again shortly.",
                                      "code": "unavailable" if status == 503
                                      else "rate_limited"}).encode()
        headers = {"content-type": "application/problem+json"}
        if retry_after is not None:
            headers["retry-after"] = retry_after
        self.script += [(status, headers, body)] * times

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def rooms_of(db: Database, provider_id: int) -> list[RoomRow]:
    with db.transaction() as s:
        return list(s.scalars(select(RoomRow).where(RoomRow.provider_id == provider_id)))
