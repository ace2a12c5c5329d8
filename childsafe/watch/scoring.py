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

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import exists, select, update
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

MAX_PER_CALL = 2_000  # bounds one transaction (and the lock) after a long outage
_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # as case references: read aloud safely


@dataclass(frozen=True, slots=True)
class ScoreResult:
    conversation_id: int
    scored: int
    scored_seq: int
    remaining: int  # messages left for another call (more than MAX_PER_CALL were waiting)
    alerts: tuple[str, ...] = ()  # ids of AlertRows created


def new_alert_reference() -> str:
    body = "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))
    return f"W-{body[:4]}-{body[4:]}"


def lock_conversation(session: Session, conversation_id: int) -> ConversationRow | None:
    return session.scalar(select(ConversationRow).where(ConversationRow.id == conversation_id)
                          .with_for_update().execution_options(populate_existing=True))


def load_state(row: ConversationRow) -> ConversationState:
    return ConversationState.from_dict(row.state) if row.state else ConversationState(str(row.id))


def score_conversation(session: Session, keyring: Keyring, conversation_id: int,
                       detector: Detector | None = None, now: datetime | None = None, *,
                       limit: int = MAX_PER_CALL) -> ScoreResult:
    """Score what is new in one conversation (see the module docstring). `detector` None:
    the routed agency's detector; `now` decides who is on duty."""
    from childsafe.store.models import utcnow

    now = now or utcnow()
    conv = lock_conversation(session, conversation_id)
    if conv is None or conv.scored_seq >= conv.ingested_seq:
        done = conv.scored_seq if conv is not None else 0
        return ScoreResult(conversation_id, 0, done, 0)
    room = session.get(RoomRow, conv.room_id)
    assert room is not None
    routed = route_alert(session, room, now)
    agency_id = cast(int, routed.agency) if routed is not None else None
    name, threshold = agency_settings(session, agency_id)
    detector = detector or detector_named(name)
    gate = AlertGate(threshold, detector.name)
    state = load_state(conv)
    rows = session.execute(
        select(WatchMessageRow.id, WatchMessageRow.seq, WatchMessageRow.message_id,
               WatchMessageRow.author_id, WatchMessageRow.declared_age, WatchMessageRow.sent_at,
               WatchMessageRow.text_enc)
        .where(WatchMessageRow.conversation_id == conv.id, WatchMessageRow.seq > conv.scored_seq)
        .order_by(WatchMessageRow.seq).limit(limit)).all()
    expected = conv.scored_seq + 1
    if not rows or rows[0].seq != expected:
        raise RuntimeError(f"conversation {conv.id}: message seq {expected} is missing")
    updates: list[dict[str, Any]] = []
    alerts: list[str] = []
    for row in rows:
        text = open_sealed(keyring, row.text_enc, message_aad(room.id, row.message_id))
        message = Message(row.message_id, row.author_id, row.sent_at.timestamp(),
                          text.decode("utf-8"), row.declared_age)
        author = state.authors.get(row.author_id)
        before = dict(author.cue_counts) if author is not None else {}
        assessment = detector.update(state, message)
        after = state.authors[row.author_id].cue_counts if row.author_id in state.authors else {}
        updates.append({"id": row.id, "score": assessment.score,
                        "cues": sorted(c for c, n in after.items() if n > before.get(c, 0))})
        if assessment.author_id is not None and assessment.score >= conv.top_score:
            conv.top_score, conv.top_author = assessment.score, assessment.author_id
        if routed is None or agency_id is None:
            continue  # nobody monitors the room any more: no one to alert (yet)
        alert = gate.check(state, assessment, message)
        if alert is not None:
            made = _raise_alert(session, conv, room, alert, row.seq, threshold,
                                agency_id, routed.out_of_hours, state, now)
            if made is not None:
                alerts.append(made)
    session.execute(update(WatchMessageRow), updates)
    conv.state = state.to_dict()
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
