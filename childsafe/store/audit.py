"""Audit log adapter: appends chained entries inside the caller's transaction.

An entry commits or rolls back with the action it records: a change that rolled back leaves
no audit entry claiming it happened, and no committed change lacks its entry.

Appending reads the head of the chain (seq, hash) and inserts the next entry, so appends must
not interleave: on PostgreSQL a transaction-scoped advisory lock serialises them (held until
commit, WAL flush included); on SQLite the store's single write lock already does. That lock
is what limits how many audited writes commit per second, so it is taken as few times and
held as briefly as possible:
- `append_many` chains a list of events under one lock, with one read of the head and one
  INSERT for all of them;
- `deferred(session)` queues every `append` of a block and chains the queue at its end, after
  the block's other writes (the lock is taken last, just before the commit);
- report intake goes further with group commit (`childsafe.store.group_commit`): concurrent
  reports are written by one writer per process in one transaction, so their entries are
  chained by one `append_many`, under one lock, flushed by one commit.
None of this changes what is stored: every entry is still hash-chained to the one before
(`childsafe.core.audit`), seq numbers stay contiguous, each entry still commits in the same
transaction as the change it records, and the database still refuses UPDATE and DELETE.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
_DEFERRED = "childsafe_audit_deferred"  # Session.info key: events waiting for the block end


def append(session: Session, event: AuditEvent, *, at: datetime | None = None
           ) -> ChainedEntry | None:
    """Chain `event` into the log in the caller's transaction.

    Inside `deferred(session)` the entry is only queued (its time taken now) and None is
    returned: it is chained when the block ends, still in the same transaction."""
    pending = session.info.get(_DEFERRED)
    if pending is not None:
        pending.append((event, at or utcnow()))
        return None
    return append_many(session, [(event, at or utcnow())])[0]


def append_many(session: Session, events: list[tuple[AuditEvent, datetime]]
                ) -> list[ChainedEntry]:
    """Chain events in order under one lock: one read of the head, one INSERT for all."""
    if not events:
        return []
    session.flush()  # pending rows go out before the chain is locked, not while it is
    if is_postgres(session):
        session.execute(_PG_LOCK, {"k": _PG_LOCK_KEY})
    last = session.execute(_LAST).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    entries = []
    for event, at in events:
        # Microsecond precision is what both stores keep; hash exactly what will be read back.
        entry = chain(seq, at, event, prev)
        entries.append(entry)
        seq, prev = seq + 1, entry.hash
    session.execute(_INSERT, [{
        "seq": entry.seq, "at": entry.at, "actor": entry.event.actor[:120],
        "agency": entry.event.agency, "action": entry.event.action,
        "outcome": str(entry.event.outcome), "object_type": entry.event.object_type,
        "object_id": entry.event.object_id, "detail": dict(entry.event.detail),
        "ip": entry.event.ip, "prev_hash": entry.prev_hash, "hash": entry.hash}
        for entry in entries])
    return entries


@contextmanager
def deferred(session: Session) -> Iterator[None]:
    """Queue every `append` of the block and chain them all at its end, in order, in one
    go: the chain (an advisory lock on PostgreSQL, the write lock on SQLite) is then taken
    once, after the block's other writes. On an exception nothing is appended (the caller's
    transaction is rolling back anyway). Blocks nest; the outermost one writes."""
    if _DEFERRED in session.info:
        yield
        return
    pending: list[tuple[AuditEvent, datetime]] = []
    session.info[_DEFERRED] = pending
    try:
        yield
    finally:
        del session.info[_DEFERRED]
    append_many(session, pending)


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
