"""Demo data for `childsafe demo`: officers of two agencies, a list editor, an admin, cases.

Passwords are random per installation and kept in data_dir/demo-logins.json (mode 0600) so
repeated runs print the same logins. Case titles describe grooming cues, never abuse.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from childsafe.core.cases import CaseSource
from childsafe.reports.intake import IntakeContext
from childsafe.store import accounts, agencies, cases
from childsafe.store.demo_reports import file_demo_reports
from childsafe.store.demo_watch import seed_watch_demo
from childsafe.store.models import AgencyRow, CaseRow, UserRow, utcnow
from childsafe.store.police import seed_police_stations


@dataclass(frozen=True, slots=True)
class DemoLogin:
    username: str
    password: str
    role: str
    agency: str


DEMO_USERS = [
    ("ceop.officer", "Alex Officer", "officer", "UK-NCA-CEOP"),
    ("ceop.supervisor", "Sam Supervisor", "supervisor", "UK-NCA-CEOP"),
    ("ceop.admin", "Robin Admin", "agency-admin", "UK-NCA-CEOP"),
    ("hsi.officer", "Jordan Officer", "officer", "US-DHS-HSI"),
    ("list.editor", "Casey Editor", "list-editor", "LIST-AUTHORITY"),
    ("platform.admin", "Morgan Operator", "platform-admin", "PLATFORM-OPS"),
]
EXTRA_AGENCIES = [("LIST-AUTHORITY", "URL list authority (demo)"),
                  ("PLATFORM-OPS", "childsafe platform operations (demo)")]
DEMO_CASES = [
    ("UK-NCA-CEOP", "Adult asked a 13-year-old to keep their chats secret", "P2", "GB"),
    ("UK-NCA-CEOP", "User asked a child to move to a private app and offered gift cards", "P2",
     "GB"),
    ("UK-NCA-CEOP", "Meeting suggested for this weekend after age questions", "P1", "GB"),
    ("UK-NCA-CEOP", "Parent reports repeated 'are you alone?' messages", "P3", "GB"),
    ("US-DHS-HSI", "Teen reports an adult asking for photos", "P2", "US"),
    ("US-DHS-HSI", "Spam account reported from a teen room", "P4", "US"),
]


def _load_passwords(path: Path) -> dict[str, str]:
    if path.exists():
        return {str(k): str(v) for k, v in json.loads(path.read_text()).items()}
    return {}


def _save_passwords(path: Path, passwords: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(passwords, fh, indent=2)


def seed_demo(session: Session, logins_file: Path,
              intake_ctx: IntakeContext | None = None) -> list[DemoLogin]:
    """Idempotent: creates what is missing and returns every demo login.

    With an intake context the demo cases come from real reports (answers, evidence,
    triage); otherwise bare cases are created."""
    agencies.seed_agencies(session)
    for code, name in EXTRA_AGENCIES:
        if session.scalar(select(AgencyRow.id).where(AgencyRow.code == code)) is None:
            agencies.create_agency(session, code, name)
    passwords = _load_passwords(logins_file)
    logins = []
    for username, display, role, agency_code in DEMO_USERS:
        agency = agencies.get_by_code(session, agency_code)
        exists = session.scalar(select(UserRow.id).where(UserRow.username == username))
        if exists is None:
            passwords[username] = "demo-" + secrets.token_urlsafe(12)
            accounts.create_user(session, agency=agency, username=username, display_name=display,
                                 password=passwords[username], roles=role,
                                 email=f"{username}@example.com", actor="demo")
        logins.append(DemoLogin(username, passwords.get(username, "(set before; see admin)"),
                                role, agency_code))
    _save_passwords(logins_file, passwords)
    seed_police_stations(session)
    seed_watch_demo(session, utcnow())
    if not session.scalar(select(func.count()).select_from(CaseRow)) and intake_ctx is not None:
        file_demo_reports(session, intake_ctx, utcnow())
    if not session.scalar(select(func.count()).select_from(CaseRow)):
        for agency_code, title, priority, country in DEMO_CASES:
            cases.create_case(session, agency=agencies.get_by_code(session, agency_code),
                              title=title, source=CaseSource.REPORT, country=country,
                              priority=priority, actor="demo")
    return logins
