"""What an officer reads on an alert page: the excerpt around the crossing with its cues
marked, who took part (and their ages), the grooming stages reached, and the risk over time.

Text is decrypted here and handed on as plain segments (text, cue): templates escape every
segment, so markup in a chat message is shown as the characters it is, never run. Callers
audit the view (`alerts.get_alert`) before asking for this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe.core.crypto import Keyring, open_sealed
from childsafe.store.encrypted import message_aad
from childsafe.store.watch_models import AlertRow, ConversationRow, WatchMessageRow
from childsafe.watch.catalog import load_all_cues
from childsafe.watch.core.cues import STAGES, CueMatcher, normalise
from childsafe.watch.core.state import ConversationState

STAGE_LABELS = {
    "friendship_forming": "Friendship forming",
    "relationship_forming": "Relationship forming",
    "risk_assessment": "Risk assessment",
    "exclusivity": "Exclusivity",
    "sexual_stage": "Sexual stage",
}


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    cue: str | None = None  # the cue id this span matched, if any

    @property
    def label(self) -> str:
        return cue_label(self.cue) if self.cue else ""


@dataclass(frozen=True, slots=True)
class ExcerptMessage:
    seq: int
    message_id: str
    author_id: str
    declared_age: int | None
    recipient_id: str | None
    sent_at: datetime
    sha256: str
    score: float | None
    cues: tuple[str, ...]
    segments: tuple[Segment, ...]
    crossing: bool  # the message after which the score crossed the threshold
    flagged_author: bool


@dataclass(frozen=True, slots=True)
class Participant:
    author_id: str
    declared_age: int | None
    stated_ages: tuple[int, ...]
    messages: int
    role: str  # flagged | child | ""


@dataclass(frozen=True, slots=True)
class StageMark:
    stage: str
    label: str
    seq: int | None  # first message of the flagged author in this stage; None: not reached


@dataclass(frozen=True, slots=True)
class AlertDetail:
    excerpt: tuple[ExcerptMessage, ...]
    omitted_before: int
    omitted_after: int
    participants: tuple[Participant, ...]
    stages: tuple[StageMark, ...]
    trajectory: tuple[tuple[int, float], ...]  # (seq, conversation score after it)
    messages: int


def cue_label(cue: str) -> str:
    return cue.replace("_", " ")


@cache
def matcher() -> CueMatcher:
    return CueMatcher(load_all_cues())


def highlight(text: str) -> tuple[Segment, ...]:
    """Split text into plain and cue-matching spans, on the same normalised text the
    detector reads. Normalising character by character keeps a map back to the original,
    since folding can lengthen a character (œ → oe)."""
    folded: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        n = normalise(ch)
        folded.append(n)
        origin.extend([i] * len(n))
    segments: list[Segment] = []
    at = 0
    for m in matcher().regex.finditer("".join(folded)):
        if m.lastgroup is None or m.end() == m.start():
            continue
        start, end = origin[m.start()], origin[m.end() - 1] + 1
        if start < at:
            continue
        if start > at:
            segments.append(Segment(text[at:start]))
        segments.append(Segment(text[start:end], m.lastgroup))
        at = end
    if at < len(text):
        segments.append(Segment(text[at:]))
    return tuple(segments)


def read_text(keyring: Keyring, row: WatchMessageRow) -> str:
    return open_sealed(keyring, row.text_enc, message_aad(row.room_id, row.message_id)).decode()


def messages_of(session: Session, conversation_id: int, first: int = 1,
                last: int | None = None) -> list[WatchMessageRow]:
    query = select(WatchMessageRow).where(WatchMessageRow.conversation_id == conversation_id,
                                          WatchMessageRow.seq >= first)
    if last is not None:
        query = query.where(WatchMessageRow.seq <= last)
    return list(session.scalars(query.order_by(WatchMessageRow.seq)))


def _state(conversation: ConversationRow | None) -> ConversationState | None:
    if conversation is None or not conversation.state:
        return None
    try:
        return ConversationState.from_dict(conversation.state)
    except ValueError:
        return None


def _participants(session: Session, alert: AlertRow,
                  state: ConversationState | None) -> tuple[Participant, ...]:
    seen: dict[str, list[int | None]] = {}
    for author, age in session.execute(
            select(WatchMessageRow.author_id, WatchMessageRow.declared_age)
            .where(WatchMessageRow.conversation_id == alert.conversation_id)
            .order_by(WatchMessageRow.seq)):
        seen.setdefault(author, []).append(age)
    people = []
    for author, ages in seen.items():
        declared = next((a for a in reversed(ages) if a is not None), None)
        stated = tuple(state.authors[author].stated_ages) if state and author in state.authors \
            else ()
        role = "flagged" if author == alert.author_id else \
            "child" if author == alert.target_id else ""
        people.append(Participant(author, declared, stated, len(ages), role))
    return tuple(sorted(people, key=lambda p: (p.role != "flagged", p.role != "child",
                                               p.author_id)))


def _stages(session: Session, alert: AlertRow,
            state: ConversationState | None) -> tuple[StageMark, ...]:
    first: dict[str, int] = {}
    meta = matcher().meta
    for seq, cues in session.execute(
            select(WatchMessageRow.seq, WatchMessageRow.cues)
            .where(WatchMessageRow.conversation_id == alert.conversation_id,
                   WatchMessageRow.author_id == alert.author_id,
                   WatchMessageRow.cues.is_not(None))
            .order_by(WatchMessageRow.seq)):
        for cue in cues or []:
            stage = meta.get(cue, (None, 0.0))[0]
            if stage is not None and stage not in first:
                first[stage] = seq
    if not first and state is not None and alert.author_id in state.authors:
        # Messages not marked with their cues: the detector's own memory (0-based index).
        first = {s: i + 1 for s, i in state.authors[alert.author_id].stage_first.items()}
    return tuple(StageMark(s, STAGE_LABELS.get(s, s), first.get(s)) for s in STAGES)


def detail(session: Session, keyring: Keyring, alert: AlertRow, *, before: int = 10,
           after: int = 5) -> AlertDetail:
    """Everything the alert page shows (decrypts the excerpt: audit the view first)."""
    conversation = session.get(ConversationRow, alert.conversation_id)
    state = _state(conversation)
    total = int(session.scalar(select(WatchMessageRow.seq)
                               .where(WatchMessageRow.conversation_id == alert.conversation_id)
                               .order_by(WatchMessageRow.seq.desc()).limit(1)) or 0)
    first, last = max(1, alert.message_seq - before), alert.message_seq + after
    excerpt = tuple(
        ExcerptMessage(row.seq, row.message_id, row.author_id, row.declared_age,
                       row.recipient_id, row.sent_at, row.sha256, row.score,
                       tuple(row.cues or ()), highlight(read_text(keyring, row)),
                       row.seq == alert.message_seq, row.author_id == alert.author_id)
        for row in messages_of(session, alert.conversation_id, first, last))
    trajectory = tuple((int(seq), float(score or 0.0)) for seq, score in session.execute(
        select(WatchMessageRow.seq, WatchMessageRow.score)
        .where(WatchMessageRow.conversation_id == alert.conversation_id,
               WatchMessageRow.score.is_not(None))
        .order_by(WatchMessageRow.seq)))
    return AlertDetail(excerpt, first - 1, max(0, total - last), _participants(session, alert, state),
                       _stages(session, alert, state), trajectory, total)
