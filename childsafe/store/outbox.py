"""Transactional outbox: side effects are rows written with their cause, sent after commit.

`childsafe worker` drains it at least once; handlers receive an idempotency key so a retried
delivery can be recognised by the receiver.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from childsafe.core.crypto import Keyring, open_sealed, seal
from childsafe.store.db import is_postgres
from childsafe.store.models import OutboxRow, utcnow

MAX_ATTEMPTS = 8
_OUTBOX = cast(Table, OutboxRow.__table__)
_ENQUEUE = {name: insert(_OUTBOX).on_conflict_do_nothing(index_elements=["topic",
                                                                        "idempotency_key"])
            .returning(_OUTBOX.c.id)
            for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}
_ENQUEUE_MANY = {name: insert(_OUTBOX).on_conflict_do_nothing(
                     index_elements=["topic", "idempotency_key"])
                 for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    topic: str
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int


def _aad(topic: str, idempotency_key: str) -> str:
    return f"outbox:{topic}:{idempotency_key}"


def seal_payload(keyring: Keyring, topic: str, payload: dict[str, Any],
                 idempotency_key: str) -> dict[str, Any]:
    """The payload as stored when sealed at rest (for secrets such as verification codes);
    bound to its topic and key. Pure: callers may seal before their transaction opens."""
    blob = seal(keyring, json.dumps(payload).encode(), _aad(topic, idempotency_key))
    return {"sealed": base64.b64encode(blob).decode()}


def enqueue(session: Session, topic: str, payload: dict[str, Any], idempotency_key: str, *,
            keyring: Keyring | None = None) -> bool:
    """Queue a message in the caller's transaction; False if that key was queued before.

    With a keyring the payload is sealed at rest (for secrets such as verification codes).
    """
    if keyring is not None:
        payload = seal_payload(keyring, topic, payload, idempotency_key)
    # One statement whether or not the key exists: no lookup round trip, no savepoint.
    new_id = session.scalar(_ENQUEUE["postgresql" if is_postgres(session) else "sqlite"],
                            {"topic": topic, "payload": payload,
                             "idempotency_key": idempotency_key, "attempts": 0,
                             "last_error": ""})
    return new_id is not None


def enqueue_sealed(session: Session, topic: str,
                   messages: list[tuple[dict[str, Any], str]]) -> None:
    """Queue already sealed payloads (`seal_payload`), as (payload, idempotency key) pairs,
    in one statement; a key queued before is skipped."""
    if not messages:
        return
    session.execute(_ENQUEUE_MANY["postgresql" if is_postgres(session) else "sqlite"],
                    [{"topic": topic, "payload": payload, "idempotency_key": key,
                      "attempts": 0, "last_error": ""} for payload, key in messages])


def open_payload(message: Message, keyring: Keyring | None) -> dict[str, Any]:
    if "sealed" not in message.payload:
        return message.payload
    if keyring is None:
        raise RuntimeError("a sealed outbox message needs the keyring to be opened")
    blob = base64.b64decode(message.payload["sealed"])
    return dict(json.loads(open_sealed(keyring, blob, _aad(message.topic, message.idempotency_key))))


def claim(session: Session, *, limit: int = 50, now: datetime | None = None) -> list[Message]:
    """Messages due now. PostgreSQL workers skip rows another worker holds."""
    now = now or utcnow()
    query = (select(OutboxRow)
             .where(OutboxRow.done_at.is_(None), OutboxRow.failed_at.is_(None),
                    OutboxRow.available_at <= now)
             .order_by(OutboxRow.id).limit(limit))
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return [Message(r.id, r.topic, dict(r.payload), r.idempotency_key, r.attempts)
            for r in session.scalars(query)]


def mark_done(session: Session, message_id: int) -> None:
    row = session.get(OutboxRow, message_id)
    if row is not None:
        row.done_at, row.attempts = utcnow(), row.attempts + 1


def mark_retry(session: Session, message_id: int, error: str) -> None:
    """Back off exponentially (30 s, 1 min, 2 min ...); give up after MAX_ATTEMPTS."""
    row = session.get(OutboxRow, message_id)
    if row is None:
        return
    row.attempts += 1
    row.last_error = error[:2000]
    now = utcnow()
    if row.attempts >= MAX_ATTEMPTS:
        row.failed_at = now
    else:
        row.available_at = now + timedelta(seconds=30 * 2 ** (row.attempts - 1))


def pending_count(session: Session) -> int:
    from sqlalchemy import func
    return int(session.scalar(select(func.count()).select_from(OutboxRow).where(
        OutboxRow.done_at.is_(None), OutboxRow.failed_at.is_(None))) or 0)
