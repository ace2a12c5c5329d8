"""Test helpers importable from any test module (`from tests.helpers import ...`)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp

from childsafe.core.crypto import Keyring
from childsafe.store import accounts, agencies
from childsafe.store.db import Database
from childsafe.store.models import UserRow

STRONG_PASSWORD = "correct-horse-battery-staple"


@dataclass
class Officer:
    id: int
    username: str
    password: str
    totp_secret: str
    agency: str


class OfficerFactory:
    """Creates officers with TOTP already enrolled, so tests can log straight in."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self.db, self.keyring = db, keyring

    def __call__(self, username: str | None = None, *, agency: str = "UK-NCA-CEOP",
                 roles: str = "officer", enrolled: bool = True) -> Officer:
        username = username or f"officer{secrets.token_hex(3)}"
        with self.db.transaction() as session:
            user = accounts.create_user(session, agency=agencies.get_by_code(session, agency),
                                        username=username, display_name=username.title(),
                                        password=STRONG_PASSWORD, roles=roles,
                                        email=f"{username}@example.com")
            secret = ""
            if enrolled:
                secret = accounts.begin_totp_enrolment(session, self.keyring, user)
                user.totp_enrolled = True
            return Officer(user.id, user.username, STRONG_PASSWORD, secret, agency)


class Clock:
    """A controllable UTC clock; each TOTP use should be on a fresh 30 s step."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)

    def code(self, secret: str) -> str:
        return pyotp.TOTP(secret).at(self.now)


CSRF_FIELD = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def csrf_from(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def user_row(db: Database, username: str) -> UserRow:
    with db.transaction() as session:
        return accounts.get_user(session, username)
