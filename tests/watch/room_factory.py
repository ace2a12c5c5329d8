"""Rooms, providers, shifts and officers' principals for Watch tests (not collected)."""

from __future__ import annotations

from datetime import UTC, datetime

from childsafe.core.principal import Principal
from childsafe.store import accounts, providers
from childsafe.store.db import Database
from childsafe.store.models import ProviderRow
from childsafe.watch import rooms, roster

MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # London is on UTC in November


def provider(db: Database, name: str = "ExampleChat",
             scopes: str = "provider:room:write") -> tuple[int, str]:
    """A provider and a key: (provider id, plaintext key)."""
    with db.transaction() as s:
        row = providers.create_provider(s, name)
        return row.id, providers.issue_key(s, row, scopes).plaintext


def room(db: Database, provider_id: int, external_id: str = "teen-lounge-3", *,
         title: str = "Teen lounge", audience: str = "teen", region: str = "GB",
         now: datetime = MONDAY_9) -> str:
    with db.transaction() as s:
        spec = rooms.validate_room(external_id, title, audience, "en", region)
        return rooms.register_room(s, provider_id, spec, now=now)[0].id


def principal(db: Database, username: str) -> Principal:
    with db.transaction() as s:
        return accounts.principal_for(s, accounts.get_user(s, username))


def monitor(db: Database, who: Principal, room_id: str, keyring=None, *,
            now: datetime = MONDAY_9, on: bool = True) -> bool:
    with db.transaction() as s:
        return rooms.set_monitoring(s, keyring, who, room_id, on, now=now)


def shift(db: Database, who: Principal, timezone: str, days: str, start: str, end: str,
          keyring=None, *, now: datetime = MONDAY_9) -> int:
    with db.transaction() as s:
        return roster.add_shift(s, keyring, who, timezone=timezone, days=days, start=start,
                                end=end, now=now).id


def provider_row(db: Database, provider_id: int) -> ProviderRow:
    with db.transaction() as s:
        row = s.get(ProviderRow, provider_id)
        assert row is not None
        return row
