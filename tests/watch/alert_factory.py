"""Alerts for tests, written to the store the way the scoring worker does (not collected).

A room of a provider, one conversation with sealed, hashed messages, scored message by
message with the real rule detector (score and cues on each message, state kept as JSON),
and an AlertRow at the first crossing, routed to the given agency. Chats are non-explicit:
age questions, "are you alone", secrecy, another app, gifts.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from childsafe.core.crypto import Keyring, seal
from childsafe.store import agencies, providers
from childsafe.store.db import Database
from childsafe.store.encrypted import message_aad
from childsafe.store.models import ProviderRow
from childsafe.store.watch_models import (
    AlertRow,
    ConversationRow,
    RoomAssignmentRow,
    RoomRow,
    WatchMessageRow,
)
from childsafe.watch.catalog import rule_detector
from childsafe.watch.core.cues import normalise
from childsafe.watch.core.detector import DEFAULT_THRESHOLD
from childsafe.watch.core.state import ConversationState, Message

ADULT, CHILD = "u_sam", "u_kim"
# (author, declared age, text)
GROOMING_CHAT: list[tuple[str, int | None, str]] = [
    (CHILD, 13, "hi anyone here like drawing?"),
    (ADULT, 31, "hey! i love drawing too. how old are you?"),
    (CHILD, 13, "13, you?"),
    (ADULT, 31, "you seem really mature for your age"),
    (ADULT, 31, "are you home alone right now?"),
    (CHILD, 13, "yes my mum is at work"),
    (ADULT, 31, "don't tell anyone we talk, it's our little secret"),
    (ADULT, 31, "add me on snapchat, it is more private"),
    (ADULT, 31, "i could buy you a gift card"),
    (CHILD, 13, "ok maybe"),
]


@dataclass
class MadeAlert:
    id: str
    reference: str
    room_id: str
    room_external_id: str
    conversation_id: int
    provider_id: int
    agency: str
    message_seq: int
    texts: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)


class WatchFactory:
    """Makes providers, rooms and scored conversations with an alert."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self.db, self.keyring = db, keyring

    def provider(self, name: str | None = None) -> int:
        with self.db.transaction() as s:
            return providers.create_provider(s, name or f"Chat{secrets.token_hex(3)}").id

    def alert(self, agency: str = "UK-NCA-CEOP", *, lines: list[tuple[str, int | None, str]]
              | None = None, provider_id: int | None = None, out_of_hours: bool = False,
              at: datetime | None = None, title: str = "Art club") -> MadeAlert:
        lines = lines or GROOMING_CHAT
        provider_id = provider_id or self.provider()
        raised = at or datetime.now(UTC)  # the alert is raised now; the chat led up to it
        start = raised - timedelta(minutes=len(lines) + 1)
        detector = rule_detector()
        with self.db.transaction() as s:
            agency_row = agencies.get_by_code(s, agency)
            assert s.get(ProviderRow, provider_id) is not None
            room = RoomRow(id="rm_" + secrets.token_hex(8), provider_id=provider_id,
                           external_id=f"room-{secrets.token_hex(4)}", title=title,
                           audience="teen", language="en", region="GB", active=True)
            s.add(room)
            s.flush()
            s.add(RoomAssignmentRow(room_id=room.id, agency_id=agency_row.id))
            conv = ConversationRow(room_id=room.id, key=f"thread:{secrets.token_hex(4)}",
                                   kind="room", state={})
            s.add(conv)
            s.flush()
            state = ConversationState(str(conv.id))
            crossing: tuple[int, str, float, str | None, tuple[str, ...]] | None = None
            texts, hashes = [], []
            for seq, (author, age, text) in enumerate(lines, start=1):
                sent = start + timedelta(minutes=seq)
                mid = f"m{seq}-{secrets.token_hex(3)}"
                found = detector.update(state, Message(mid, author, sent.timestamp(), text, age))
                cues = [m.lastgroup for m in detector.matcher.regex.finditer(normalise(text))
                        if m.lastgroup]
                digest = hashlib.sha256(text.encode()).hexdigest()
                s.add(WatchMessageRow(
                    room_id=room.id, conversation_id=conv.id, seq=seq, message_id=mid,
                    author_id=author, declared_age=age, recipient_id=None, reply_to=None,
                    sent_at=sent, text_enc=seal(self.keyring, text.encode(),
                                                message_aad(room.id, mid)),
                    sha256=digest, score=found.score, cues=cues))
                texts.append(text)
                hashes.append(digest)
                if crossing is None and found.author_id and found.score >= DEFAULT_THRESHOLD:
                    crossing = (seq, found.author_id, found.score, found.stage, found.reasons)
            if crossing is None:  # a chat the rules do not alert on: alert on its last line
                crossing = (len(lines), lines[-1][0], state.top.score if state.top else 0.1,
                            None, ("test alert",))
            seq, author, score, stage, reasons = crossing
            conv.state = state.to_dict()
            conv.ingested_seq = conv.scored_seq = len(lines)
            target = state.youngest_other(author)
            row = AlertRow(id=str(uuid.uuid4()), reference="WA-" + secrets.token_hex(4).upper(),
                           room_id=room.id, conversation_id=conv.id, agency_id=agency_row.id,
                           out_of_hours=out_of_hours, author_id=author,
                           target_id=target[0] if target else None, message_seq=seq,
                           score=score, threshold=DEFAULT_THRESHOLD, stage=stage,
                           reasons=list(reasons), detector="rules", state="open",
                           created_at=raised)
            s.add(row)
            s.flush()
            return MadeAlert(row.id, row.reference, room.id, room.external_id, conv.id,
                             provider_id, agency, seq, texts, hashes)
