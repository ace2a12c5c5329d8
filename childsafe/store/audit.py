"""Audit log adapter: appends chained entries inside the caller's transaction.

An entry commits or rolls back with the action it records: a change that rolled back leaves
no audit entry claiming it happened, and no committed change lacks its entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select, text
from sqlalchemy.orm import Session

from childsafe.core.audit import (
    GENESIS_HASH,
    AuditEvent,
    ChainedEntry,
    ChainReport,
    Outcome,
    chain,
    verify_chain,
)
from childsafe.store.db import is_postgres
from childsafe.store.models import AuditRow, utcnow

_PG_LOCK_KEY = 0x63686C64  # "chld": one advisory lock serialises appends to the chain
_LAST = select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
_PG_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_INSERT = insert(cast(Table, AuditRow.__table__))  # Core: built once, compiled once


def append(session: Session, event: AuditEvent, *, at: datetime | None = None) -> ChainedEntry:
    session.flush()  # pending rows go out before the chain is locked, not while it is
    if is_postgres(session):
        session.execute(_PG_LOCK, {"k": _PG_LOCK_KEY})
    last = session.execute(_LAST).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    # Microsecond precision is what both stores keep; hash exactly what will be read back.
    entry = chain(seq, at or utcnow(), event, prev)
    session.execute(_INSERT, {
        "seq": entry.seq, "at": entry.at, "actor": event.actor[:120], "agency": event.agency,
        "action": event.action, "outcome": str(event.outcome),
        "object_type": event.object_type, "object_id": event.object_id,
        "detail": dict(event.detail), "ip": event.ip, "prev_hash": entry.prev_hash,
        "hash": entry.hash})
    return entry


def row_to_entry(row: AuditRow) -> ChainedEntry:
    event = AuditEvent(action=row.action, outcome=Outcome(row.outcome), actor=row.actor,
                       agency=row.agency, object_type=row.object_type, object_id=row.object_id,
                       detail=row.detail or {}, ip=row.ip)
    return ChainedEntry(row.seq, row.at, event, row.prev_hash, row.hash)


def iter_entries(session: Session, batch: int = 2000) -> Iterator[ChainedEntry]:
    after = 0
    while True:
        rows = session.scalars(select(AuditRow).where(AuditRow.seq > after)
                               .order_by(AuditRow.seq).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield row_to_entry(row)
        after = rows[-1].seq


def count(session: Session) -> int:
    last = session.scalar(select(AuditRow.seq).order_by(AuditRow.seq.desc()).limit(1))
    return int(last or 0)


def verify(session: Session, *, anchor: tuple[int, str] | None = None,
           progress: object | None = None) -> ChainReport:
    entries: Iterator[ChainedEntry] = iter_entries(session)
    if progress is not None and callable(progress):
        entries = _tap(entries, progress)
    return verify_chain(entries, anchor=anchor)


def _tap(entries: Iterator[ChainedEntry], callback: object) -> Iterator[ChainedEntry]:
    for entry in entries:
        callback(entry)  # type: ignore[operator]
        yield entry


def recent(session: Session, *, agency: str | None = None, limit: int = 50) -> list[AuditRow]:
    query = select(AuditRow).order_by(AuditRow.seq.desc()).limit(limit)
    if agency is not None:
        query = query.where(AuditRow.agency == agency)
    return list(session.scalars(query))
