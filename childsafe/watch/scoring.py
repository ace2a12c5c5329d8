"""Score a conversation's new messages in order, exactly once, and raise its alerts.

The conversation row is the unit of work. Under its lock (PostgreSQL `SELECT … FOR UPDATE`;
SQLite: the store's single writer) the scorer reads the detector state, scores messages
`scored_seq + 1 …` in `seq` order, writes each message's score and cues, the new state, the
cursor and any alert, all in the caller's transaction. Whichever worker runs, retries or dies,
a message is scored once: a scorer that dies rolls back and the next one starts from the
same cursor. A transport's wake-up only says "look at this conversation"; it is never the
record of what was scored.

An alert (once per author per conversation: the detector state remembers it and
UNIQUE(conversation, author) enforces it) goes to the agency `duty.route_alert` picks at the
time of scoring, with that agency's detector and threshold.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, exists, select, update
from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent
from childsafe.core.crypto import Keyring, open_sealed
from childsafe.store import audit
from childsafe.store.encrypted import message_aad
from childsafe.store.models import AgencyRow
from childsafe.store.watch_models import AlertRow, ConversationRow, RoomRow, WatchMessageRow
from childsafe.watch.core.detector import AlertGate, Detector
from childsafe.watch.core.state import ADULT_AGE, Alert, ConversationState, Message
from childsafe.watch.duty import route_alert
from childsafe.watch.settings import agency_settings, detector_named

_MESSAGES = cast(Table, WatchMessageRow.__table__)
# Core executemany: the ORM's bulk update by primary key costs more than the scoring itself.
_SET_SCORE = (update(_MESSAGES).where(_MESSAGES.c.id == bindparam("row_id"))
              .values(score=bindparam("score"), cues=bindparam("cues")))
MAX_PER_CALL = 2_000  # bounds one transaction (and the lock) after a long outage
BATCH_BUDGET = 300  # messages a consumer scores per transaction before it commits
_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # as case references: read aloud safely


@dataclass(frozen=True, slots=True)
class ScoreResult:
    conversation_id: int
    scored: int
    scored_seq: int
    remaining: int  # messages left for another call (more than the limit were waiting)
    alerts: tuple[str, ...] = ()  # ids of AlertRows created
    skipped: bool = False  # another transaction held the row (it scores what we would have)


@dataclass(frozen=True, slots=True)
class _Operating:
    """Where a room's alerts go now, and with which detector and threshold."""

    agency_id: int | None
    out_of_hours: bool
    detector: Detector
    threshold: float


def new_alert_reference() -> str:
    body = "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))
    return f"W-{body[:4]}-{body[4:]}"


def lock_conversations(session: Session, ids: Sequence[int], *,
                       skip_locked: bool = False) -> list[ConversationRow]:
    """The rows, locked in (room, key) order: the order ingestion locks a batch's
    conversations in, so a scorer and an ingest never wait for each other in a cycle.
    `skip_locked` (PostgreSQL) leaves out rows another transaction holds instead of waiting:
    an ingest wakes the scorers again after its commit, and a scorer already sees every
    message committed before it took the lock."""
    query = select(ConversationRow).where(ConversationRow.id.in_(list(ids))).order_by(
        ConversationRow.room_id, ConversationRow.key).with_for_update(skip_locked=skip_locked)
    return list(session.scalars(query.execution_options(populate_existing=True)))


def lock_conversation(session: Session, conversation_id: int) -> ConversationRow | None:
    rows = lock_conversations(session, [conversation_id])
    return rows[0] if rows else None


def detector_identity(detector: Detector) -> str:
    """Which detector, and which trained model, a stored state belongs to.

    The learned layer keeps per-author sums of *its* weights in the state; a state built by
    another detector or model means nothing to it, so a change of either rebuilds the state.
    """
    artifact = getattr(detector, "artifact", None) or getattr(
        getattr(detector, "learned", None), "artifact", None)
    if artifact is None:
        return detector.name
    digest = hashlib.sha256(artifact.to_json().encode()).hexdigest()[:16]
    return f"{detector.name}:{artifact.name}:{digest}"


def load_state(row: ConversationRow) -> ConversationState:
    return ConversationState.from_dict(row.state) if row.state else ConversationState(str(row.id))


def _state_for(session: Session, keyring: Keyring, conv: ConversationRow, room: RoomRow,
               detector: Detector, identity: str) -> ConversationState:
    """The conversation's state for this detector: as stored, or rebuilt by replaying the
    messages already scored (their scores and the alerts raised stay as they were; authors
    already alerted stay alerted)."""
    stored = conv.state or {}
    if not stored or stored.get("detector", identity) == identity or conv.scored_seq == 0:
        return load_state(conv)
    previous = load_state(conv)
    state = ConversationState(str(conv.id))
    rows = session.scalars(select(WatchMessageRow).where(
        WatchMessageRow.conversation_id == conv.id, WatchMessageRow.seq <= conv.scored_seq)
        .order_by(WatchMessageRow.seq))
    for row in rows:
        text = open_sealed(keyring, row.text_enc, message_aad(room.id, row.message_id))
        detector.update(state, Message(row.message_id, row.author_id, row.sent_at.timestamp(),
                                       text.decode("utf-8"), row.declared_age))
    state.alerted |= previous.alerted
    return state


def score_conversation(session: Session, keyring: Keyring, conversation_id: int,
                       detector: Detector | None = None, now: datetime | None = None, *,
                       limit: int = MAX_PER_CALL) -> ScoreResult:
    """Score what is new in one conversation (see the module docstring). `detector` None:
    the routed agency's detector; `now` decides who is on duty."""
    return score_conversations(session, keyring, [conversation_id], now, detector=detector,
                               limit=limit)[0]


def score_conversations(session: Session, keyring: Keyring, conversation_ids: Sequence[int],
                        now: datetime | None = None, *, detector: Detector | None = None,
                        limit: int = MAX_PER_CALL, budget: int | None = None,
                        skip_locked: bool = False) -> list[ScoreResult]:
    """`score_conversation` for several conversations in one transaction (what a consumer
    does with a batch of wake-ups: one commit, one routing look-up per room). At most
    `limit` messages per conversation and, with `budget`, about that many in all (the
    conversations past it are left for another call: on SQLite, ingestion waits for the
    transaction). Results in id order, unknown ids left out."""
    from childsafe.store.models import utcnow

    now = now or utcnow()
    wanted = sorted(set(conversation_ids))
    convs = lock_conversations(session, wanted, skip_locked=skip_locked)
    held = {c.id for c in convs}
    results = {cid: ScoreResult(cid, 0, 0, 0, skipped=True) for cid in wanted
               if cid not in held and skip_locked}
    lagging: list[ConversationRow] = []
    planned = 0
    for conv in convs:
        lag = conv.ingested_seq - conv.scored_seq
        if lag <= 0 or (budget is not None and lagging and planned >= budget):
            results[conv.id] = ScoreResult(conv.id, 0, conv.scored_seq, max(lag, 0))
        else:
            lagging.append(conv)
            planned += min(lag, limit)
    if lagging:
        rows = session.execute(
            select(WatchMessageRow.id, WatchMessageRow.conversation_id, WatchMessageRow.seq,
                   WatchMessageRow.message_id, WatchMessageRow.author_id,
                   WatchMessageRow.declared_age, WatchMessageRow.sent_at,
                   WatchMessageRow.text_enc)
            .join(ConversationRow, ConversationRow.id == WatchMessageRow.conversation_id)
            .where(WatchMessageRow.conversation_id.in_([c.id for c in lagging]),
                   WatchMessageRow.seq > ConversationRow.scored_seq,
                   WatchMessageRow.seq <= ConversationRow.scored_seq + limit)
            .order_by(WatchMessageRow.conversation_id, WatchMessageRow.seq)).all()
        by_conversation: dict[int, list[Any]] = {}
        for row in rows:
            by_conversation.setdefault(row.conversation_id, []).append(row)
        rooms = {r.id: r for r in session.scalars(
            select(RoomRow).where(RoomRow.id.in_({c.room_id for c in lagging})))}
        operating: dict[str, _Operating] = {}
        updates: list[dict[str, Any]] = []
        for conv in lagging:
            room = rooms[conv.room_id]
            if room.id not in operating:
                operating[room.id] = _operating(session, room, now, detector)
            results[conv.id] = _score(session, keyring, conv, room, operating[room.id],
                                      by_conversation.get(conv.id, []), updates, now)
        session.execute(_SET_SCORE, updates)
    return [results[cid] for cid in wanted if cid in results]


def _operating(session: Session, room: RoomRow, now: datetime,
               detector: Detector | None) -> _Operating:
    routed = route_alert(session, room, now)
    agency_id = cast(int, routed.agency) if routed is not None else None
    name, threshold = agency_settings(session, agency_id)
    return _Operating(agency_id, bool(routed and routed.out_of_hours),
                      detector or detector_named(name), threshold)


def _score(session: Session, keyring: Keyring, conv: ConversationRow, room: RoomRow,
           op: _Operating, rows: Sequence[Any], updates: list[dict[str, Any]],
           now: datetime) -> ScoreResult:
    """Score one conversation's rows (its next messages, in seq order) into `updates`."""
    expected = conv.scored_seq + 1
    if not rows or rows[0].seq != expected:
        raise RuntimeError(f"conversation {conv.id}: message seq {expected} is missing")
    detector = op.detector
    gate = AlertGate(op.threshold, detector.name)
    identity = detector_identity(detector)
    state = _state_for(session, keyring, conv, room, detector, identity)
    alerts: list[str] = []
    for row in rows:
        text = open_sealed(keyring, row.text_enc, message_aad(room.id, row.message_id))
        message = Message(row.message_id, row.author_id, row.sent_at.timestamp(),
                          text.decode("utf-8"), row.declared_age)
        author = state.authors.get(row.author_id)
        before = dict(author.cue_counts) if author is not None else {}
        assessment = detector.update(state, message)
        after = state.authors[row.author_id].cue_counts if row.author_id in state.authors else {}
        updates.append({"row_id": row.id, "score": assessment.score,
                        "cues": sorted(c for c, n in after.items() if n > before.get(c, 0))})
        if assessment.author_id is not None and assessment.score >= conv.top_score:
            conv.top_score, conv.top_author = assessment.score, assessment.author_id
        if op.agency_id is None:
            continue  # nobody monitors the room any more: no one to alert (yet)
        alert = gate.check(state, assessment, message)
        if alert is not None:
            made = _raise_alert(session, conv, room, alert, row.seq, op.threshold,
                                op.agency_id, op.out_of_hours, state, now)
            if made is not None:
                alerts.append(made)
    conv.state = state.to_dict() | {"detector": identity}
    conv.scored_seq = rows[-1].seq
    conv.updated_at = now
    return ScoreResult(conv.id, len(rows), conv.scored_seq, conv.ingested_seq - conv.scored_seq,
                       tuple(alerts))


def _raise_alert(session: Session, conv: ConversationRow, room: RoomRow, alert: Alert, seq: int,
                 threshold: float, agency_id: int, out_of_hours: bool, state: ConversationState,
                 now: datetime) -> str | None:
    """Insert the AlertRow and its audit entry; None if this author was alerted before."""
    if session.scalar(select(exists().where(AlertRow.conversation_id == conv.id,
                                            AlertRow.author_id == alert.author_id))):
        return None
    youngest = state.youngest_other(alert.author_id)
    target = youngest[0] if youngest is not None and youngest[1] < ADULT_AGE else None
    row = AlertRow(id=str(uuid.uuid4()), reference=new_alert_reference(), room_id=room.id,
                   conversation_id=conv.id, agency_id=agency_id, out_of_hours=out_of_hours,
                   author_id=alert.author_id, target_id=target, message_seq=seq,
                   score=alert.score, threshold=threshold, stage=alert.stage,
                   reasons=list(alert.reasons), detector=alert.detector, state="open",
                   created_at=now)
    session.add(row)
    agency = session.get(AgencyRow, agency_id)
    audit.append(session, AuditEvent(
        "watch.alert_raise", actor="watch", agency=agency.code if agency else None,
        object_type="watch_alert", object_id=row.id,
        detail={"reference": row.reference, "room": room.id, "conversation": conv.id,
                "message_seq": seq, "score": alert.score, "threshold": threshold,
                "stage": alert.stage, "detector": alert.detector, "out_of_hours": out_of_hours}))
    return row.id


def pending_conversations(session: Session, *, older_than: datetime | None = None,
                          limit: int = 500) -> list[int]:
    """Conversations with unscored messages (optionally untouched since `older_than`): what
    a sweep scores when a wake-up was lost (a crash between commit and publish)."""
    query = select(ConversationRow.id).where(ConversationRow.scored_seq < ConversationRow.ingested_seq)
    if older_than is not None:
        query = query.where(ConversationRow.updated_at < older_than)
    return list(session.scalars(query.order_by(ConversationRow.updated_at).limit(limit)))
