"""The platform under fuzzing: one app on its own SQLite store, with real credentials.

An officer (supervisor of UK-NCA-CEOP, MFA done) and a provider key holding every provider
scope, so Schemathesis reaches the code behind authentication rather than only the 401s.
Seed data (a case, a report filed by the provider, a monitored room) gives the stateful
runs and the fixed examples something real to find.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from childsafe.config import Settings
from childsafe.core.crypto import new_keyring
from childsafe.core.permissions import PROVIDER_SCOPES
from childsafe.reports import pooling
from childsafe.store import accounts, agencies, providers
from childsafe.store.db import Database
from childsafe.store.models import utcnow
from childsafe.web.app import create_app
from tests.fuzz import figures
from tests.helpers import Clock, OfficerFactory, csrf_from
from tests.reports import case_factory
from tests.watch import room_factory


@pytest.fixture(scope="session", autouse=True)
def fuzz_figures() -> Iterator[None]:
    """With CHILDSAFE_FUZZ_REPORT=path, write what the suites measured there (JSON)."""
    yield
    target = os.environ.get("CHILDSAFE_FUZZ_REPORT")
    if target:
        Path(target).write_text(json.dumps(figures.as_json(), indent=2) + "\n")


@dataclass
class FuzzEnv:
    app: Any
    db: Database
    settings: Settings
    clock: Clock
    provider_key: str
    provider_id: int
    session_cookie: str
    csrf: str
    case_id: str
    report_reference: str
    room_id: str
    officer_id: int
    request_id: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path_values(self) -> dict[str, Any]:
        """A real object for each path parameter of the API."""
        return {"case_id": self.case_id, "reference": self.report_reference,
                "room_id": self.room_id, "user_id": self.officer_id,
                "request_id": self.request_id}

    @property
    def headers(self) -> dict[str, str]:
        """Both credentials on every call: each route checks the one its rule asks for."""
        return {"authorization": f"Bearer {self.provider_key}",
                "cookie": f"__Host-cs_session={self.session_cookie}",
                "x-csrf-token": self.csrf}


def _login(client: TestClient, clock: Clock, officer: Any) -> None:
    page = client.get("/login")
    r = client.post("/login", data={"username": officer.username, "password": officer.password,
                                    "csrf": csrf_from(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    mfa = client.get(r.headers["location"])
    clock.advance(seconds=31)
    r = client.post("/login/mfa", data={"code": clock.code(officer.totp_secret),
                                        "csrf": csrf_from(mfa.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/", r.text


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[FuzzEnv]:
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / "childsafe.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    keyring = new_keyring()
    # Limits high enough that examples reach the intake code instead of the rate limiter.
    settings = Settings(data_dir=tmp, database_url=url, keys=keyring.to_json(),
                        mail_sender="memory", cookie_secure=True,
                        reports_per_ip_per_hour=100_000, reports_per_contact_per_day=100_000,
                        evidence_per_report_per_day=100_000)
    db = Database(url)
    with db.transaction() as s:
        agencies.seed_agencies(s)
    officers = OfficerFactory(db, keyring)
    officer = officers("fuzz.super", roles="officer,supervisor")
    with db.transaction() as s:
        row = providers.create_provider(s, "FuzzChat")
        provider_id = row.id
        key = providers.issue_key(s, row, sorted(p.value for p in PROVIDER_SCOPES)).plaintext
    ctx = case_factory.context(settings)
    # CEOP's case is about suspect u2, and so are two of HSI's: pooling finds a match, and HSI
    # has asked CEOP (our officer's agency) to share, so there is a request to decide.
    _, case = case_factory.file_report(db, ctx, suspect="u2", room="gb-1")
    _, hsi_case = case_factory.file_report(db, ctx, agency="US-DHS-HSI", suspect="u2", room="us-1")
    case_factory.file_report(db, ctx, agency="US-DHS-HSI", suspect="u2", room="us-2")
    officers("fuzz.hsi", agency="US-DHS-HSI", roles="officer,supervisor")
    with db.transaction() as s:
        hsi = accounts.principal_for(s, accounts.get_user(s, "fuzz.hsi"))
        request_id = pooling.request_sharing(s, hsi, hsi_case.id, "UK-NCA-CEOP",
                                             "Same suspect account in our case.", utcnow()).id
    room_id = room_factory.room(db, provider_id)
    who = room_factory.principal(db, officer.username)
    room_factory.monitor(db, who, room_id, keyring)
    clock = Clock()
    app = create_app(settings, db)
    app.state.clock = clock
    # No `with`: Schemathesis runs the app's lifespan itself (once per process).
    client = TestClient(app, base_url="https://testserver")
    _login(client, clock, officer)
    cookie = client.cookies.get("__Host-cs_session")
    assert cookie
    csrf = csrf_from(client.get("/").text)
    filed = client.post("/api/v1/reports", headers={"authorization": f"Bearer {key}"},
                        json=report_body())
    assert filed.status_code == 201, filed.text
    yield FuzzEnv(app, db, settings, clock, key, provider_id, cookie, csrf, case.id,
                  filed.json()["reference"], room_id, officer.id, request_id)
    from schemathesis.python import asgi

    asgi.shutdown_lifespans()
    db.dispose()


def report_body(**over: Any) -> dict[str, Any]:
    """A valid provider report (synthetic cues only, reserved names)."""
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    doc: dict[str, Any] = {
        "language": "en", "answers": case_factory.answers(when="2026-11-20", suspect="sam_99"),
        "reporter": {"name": "Kim Example", "phone": "020 7946 0018", "country": "GB",
                     "age_band": "13_15", "relationship": "self"},
        "conversation": case_factory.conversation(now), "pasted_text": "are you alone?"}
    doc.update(over)
    return doc
