"""Store a validated batch of a room's messages: sealed, hashed, numbered per conversation.

The batch is stored whole or not at all (the caller's transaction). Each conversation row is
locked while its messages get their `seq` (PostgreSQL: `SELECT … FOR UPDATE`; SQLite: the
store's single writer), so concurrent batches never share a number and a scorer never sees a
gap. The caller publishes `Receipt.to_wake` to the watch transport *after* commit.

Data minimisation: messages of a room that no agency monitors (or that its provider switched
off) are not stored at all; the receipt counts them as `ignored` and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, exists, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from childsafe.core.crypto import Keyring, seal
from childsafe.core.errors import Conflict, NotFound
from childsafe.store.db import is_postgres
from childsafe.store.encrypted import message_aad
from childsafe.store.watch_models import (
    ConversationRow,
    RoomAssignmentRow,
    RoomRow,
    WatchMessageRow,
)
from childsafe.watch.core.ingestion import (
    BatchOutOfOrder,
    IncomingMessage,
    MessageConflict,
    StoredMessage,
    conflict_problem,
    differences,
    out_of_order_after_stored,
)

NOT_MONITORED = "not_monitored"
ROOM_INACTIVE = "room_inactive"
_CONVERSATIONS = cast(Table, ConversationRow.__table__)
_MESSAGES = cast(Table, WatchMessageRow.__table__)
_NEW_CONVERSATION = {name: ins(_CONVERSATIONS).on_conflict_do_nothing(
    index_elements=["room_id", "key"]) for name, ins in (("postgresql", pg_insert),
                                                         ("sqlite", sqlite_insert))}


@dataclass(frozen=True, slots=True)
class ConversationReceipt:
    id: int
    key: str
    kind: str
    accepted: int
    duplicates: int
    last_seq: int


@dataclass(frozen=True, slots=True)
class Receipt:
    room_id: str
    accepted: int = 0
    duplicates: int = 0
    ignored: int = 0
    ignored_reason: str | None = None
    conversations: list[ConversationReceipt] = field(default_factory=list)

    @property
    def to_wake(self) -> list[int]:
        """Conversations with new messages: what the transport must announce after commit."""
        return [c.id for c in self.conversations if c.accepted]


def own_room(session: Session, provider_id: int, room_id: str) -> RoomRow:
    """The room if this provider registered it; another provider's room does not exist."""
    room = session.get(RoomRow, room_id)
    if room is None or room.provider_id != provider_id:
        raise NotFound(f"No room {room_id!r} is registered by this API key's provider.")
    return room


def is_monitored(session: Session, room_id: str) -> bool:
    return bool(session.scalar(select(exists().where(RoomAssignmentRow.room_id == room_id))))


def ingest(session: Session, keyring: Keyring, *, provider_id: int, room_id: str,
           messages: Sequence[IncomingMessage], now: datetime) -> Receipt:
    """Store the new messages of a batch; repeats are counted, conflicts and order refused."""
    # Sealed before the first query: on SQLite that query takes the store's write lock.
    sealed = {m.index: seal(keyring, m.text.encode("utf-8"), message_aad(room_id, m.message_id))
              for m in messages}
    room = own_room(session, provider_id, room_id)
    if not room.active or not is_monitored(session, room.id):
        reason = ROOM_INACTIVE if not room.active else NOT_MONITORED
        return Receipt(room.id, ignored=len(messages), ignored_reason=reason)
    conversations = _lock_conversations(session, room.id, messages, now)
    duplicates = _repeats(session, room.id, messages)
    new = [m for m in messages if m.index not in duplicates]
    late = out_of_order_after_stored(new, {k: c.last_ts for k, c in conversations.items()})
    if late:
        raise BatchOutOfOrder(late)
    rows: list[dict[str, Any]] = []
    accepted: dict[str, int] = {}
    for m in new:
        conv = conversations[m.key]
        conv.ingested_seq += 1
        conv.last_ts = m.ts
        accepted[m.key] = accepted.get(m.key, 0) + 1
        rows.append({"room_id": room.id, "conversation_id": conv.id, "seq": conv.ingested_seq,
                     "message_id": m.message_id, "author_id": m.author_id,
                     "declared_age": m.author_age, "recipient_id": m.recipient_id,
                     "reply_to": m.reply_to, "sent_at": m.sent_at,
                     "text_enc": sealed[m.index],
                     "sha256": m.sha256, "received_at": now, "score": None, "cues": None})
    for key in accepted:
        conversations[key].updated_at = now
    if rows:
        try:
            session.execute(insert(_MESSAGES), rows)
            session.flush()
        except IntegrityError:
            raise Conflict("Another request stored some of these message ids at the same time; "
                           "send the batch again to see which are duplicates.") from None
    repeated: dict[str, int] = {}
    for m in messages:
        if m.index in duplicates:
            repeated[m.key] = repeated.get(m.key, 0) + 1
    return Receipt(room.id, accepted=len(rows), duplicates=len(duplicates), conversations=[
        ConversationReceipt(c.id, key, c.kind, accepted.get(key, 0), repeated.get(key, 0),
                            c.ingested_seq) for key, c in sorted(conversations.items())])


def _lock_conversations(session: Session, room_id: str, messages: Sequence[IncomingMessage],
                        now: datetime) -> dict[str, ConversationRow]:
    """Create missing conversation rows, then lock all of the batch's, in key order (no
    deadlock between two batches of the same room)."""
    kinds: dict[str, str] = {}
    for m in messages:
        kinds.setdefault(m.key, m.kind)
    known = set(session.scalars(select(ConversationRow.key).where(
        ConversationRow.room_id == room_id, ConversationRow.key.in_(sorted(kinds)))))
    missing = [key for key in sorted(kinds) if key not in known]
    if missing:  # another batch may create one meanwhile: ON CONFLICT keeps the first
        statement = _NEW_CONVERSATION["postgresql" if is_postgres(session) else "sqlite"]
        session.execute(statement, [
            {"room_id": room_id, "key": key, "kind": kinds[key], "state": {},
             "ingested_seq": 0, "scored_seq": 0, "last_ts": None, "top_score": 0.0,
             "top_author": None, "created_at": now, "updated_at": now} for key in missing])
    rows = session.scalars(select(ConversationRow)
                           .where(ConversationRow.room_id == room_id,
                                  ConversationRow.key.in_(sorted(kinds)))
                           .order_by(ConversationRow.key)
                           .with_for_update()
                           .execution_options(populate_existing=True)).all()
    return {row.key: row for row in rows}


def _repeats(session: Session, room_id: str, messages: Sequence[IncomingMessage]) -> set[int]:
    """Indexes of messages already stored with the same content; MessageConflict for an id
    stored with other content."""
    by_id = {m.message_id: m for m in messages}
    found = session.execute(
        select(WatchMessageRow.message_id, WatchMessageRow.author_id,
               WatchMessageRow.declared_age, WatchMessageRow.recipient_id,
               WatchMessageRow.reply_to, WatchMessageRow.sent_at, WatchMessageRow.sha256,
               ConversationRow.key)
        .join(ConversationRow, ConversationRow.id == WatchMessageRow.conversation_id)
        .where(WatchMessageRow.room_id == room_id, WatchMessageRow.message_id.in_(list(by_id)))
    ).all()
    repeats: set[int] = set()
    conflicts = []
    for r in found:
        incoming = by_id[r.message_id]
        diff = differences(incoming, StoredMessage(r.author_id, r.declared_age, r.recipient_id,
                                                   r.reply_to, r.sent_at, r.sha256, r.key))
        if diff:
            conflicts.append((incoming.index, conflict_problem(incoming, diff)))
        else:
            repeats.add(incoming.index)
    if conflicts:
        raise MessageConflict([p for _, p in sorted(conflicts, key=lambda c: c[0])])
    return repeats
