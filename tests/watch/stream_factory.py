"""Rooms, keys, shifts and chats for the ingestion/scoring/transport tests (not collected).

Rows are made directly (not through the rooms API) so these tests depend only on the schema.
Chats are non-explicit: an adult works through grooming cues (age question, compliment,
"are you alone", secrecy, another app, meeting) with a 13-year-old.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from childsafe.store import agencies, providers
from childsafe.store.db import Database
from childsafe.store.watch_models import (
    AgencyWatchSettingsRow,
    RoomAssignmentRow,
    RoomRow,
    ShiftRow,
)
from childsafe.watch.core.detector import AlertGate, ConversationOutcome, scan
from childsafe.watch.core.state import Message
from childsafe.watch.settings import default_detector_settings, detector_named

MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the test Clock's start
ALL_DAYS = 0b1111111

# (author, declared age, text); the adult crosses the default threshold (see `reference`).
GROOMING = [
    ("u-adult", 35, "hi there"), ("u-kid", 13, "hi"), ("u-adult", 35, "how old are you?"),
    ("u-kid", 13, "13"), ("u-adult", 35, "you seem really mature for your age"),
    ("u-kid", 13, "thanks"), ("u-adult", 35, "are you home alone right now?"),
    ("u-kid", 13, "yeah"), ("u-adult", 35, "don't tell anyone we talk"),
    ("u-adult", 35, "add me on snapchat"), ("u-adult", 35, "we should meet up"),
    ("u-kid", 13, "ok"),
]
BENIGN = [("u-a", None, "did you watch the match"), ("u-b", None, "yeah what a goal"),
          ("u-a", None, "lol"), ("u-b", None, "see you at practice")]


def reference(lines: list[tuple[str, int | None, str]]) -> ConversationOutcome:
    """The whole chat through the default detector and threshold in one scan."""
    name, threshold = default_detector_settings()
    detector = detector_named(name)
    return scan(detector, AlertGate(threshold, detector.name), "reference",
                [Message(str(i), a, float(i), t, age) for i, (a, age, t) in enumerate(lines)])


def alert_seq(lines: list[tuple[str, int | None, str]] = GROOMING) -> int:
    """The seq (1-based) of the message that raises the chat's first alert."""
    return reference(lines).alerts[0].message_index + 1


def agency_id(db: Database, code: str) -> int:
    with db.transaction() as s:
        return agencies.get_by_code(s, code).id


def provider(db: Database, name: str = "ExampleChat",
             scopes: str = "provider:message:write") -> tuple[int, str]:
    """(provider id, plaintext API key)."""
    with db.transaction() as s:
        row = providers.create_provider(s, name)
        return row.id, providers.issue_key(s, row, scopes).plaintext


def room(db: Database, provider_id: int, *, monitors: tuple[str, ...] = ("UK-NCA-CEOP",),
         active: bool = True, region: str = "GB") -> str:
    """A room monitored by these agencies (codes), in that order."""
    room_id = "rm_" + secrets.token_hex(12)
    with db.transaction() as s:
        s.add(RoomRow(id=room_id, provider_id=provider_id, external_id=room_id[3:15],
                      title="Teen lounge", audience="teen", language="en", region=region,
                      active=active))
        s.flush()
        for code in monitors:
            s.add(RoomAssignmentRow(room_id=room_id, agency_id=agencies.get_by_code(s, code).id))
    return room_id


def shift(db: Database, code: str, start: int, end: int, *, tz: str = "UTC",
          days: int = ALL_DAYS) -> None:
    """A shift of the agency, minutes after local midnight."""
    with db.transaction() as s:
        s.add(ShiftRow(agency_id=agencies.get_by_code(s, code).id, timezone=tz, days=days,
                       start_minute=start, end_minute=end))


def set_threshold(db: Database, code: str, threshold: float, detector: str = "rules") -> None:
    with db.transaction() as s:
        s.add(AgencyWatchSettingsRow(agency_id=agencies.get_by_code(s, code).id,
                                     threshold=threshold, detector=detector))


def message(i: int, author: str, text: str, *, age: int | None = None,
            at: datetime = MONDAY_9 - timedelta(hours=1), prefix: str = "m",
            **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"message_id": f"{prefix}-{i}", "author_id": author,
                           "sent_at": (at + timedelta(seconds=i)).isoformat(), "text": text}
    if age is not None:
        doc["author_age"] = age
    return doc | extra


def chat(lines: list[tuple[str, int | None, str]], *, prefix: str = "m", start: int = 0,
         at: datetime = MONDAY_9 - timedelta(hours=1), **extra: Any) -> list[dict[str, Any]]:
    return [message(start + i, author, text, age=age, at=at, prefix=prefix, **extra)
            for i, (author, age, text) in enumerate(lines)]


def direct(lines: list[tuple[str, int | None, str]], a: str, b: str, **kw: Any) -> list[dict[str, Any]]:
    """The lines as direct messages between a and b (each to the other)."""
    out = chat(lines, **kw)
    for doc in out:
        doc["recipient_id"] = b if doc["author_id"] == a else a
    return out


def rows(db: Database, model: Any, *where: Any) -> list[Any]:
    with db.transaction() as s:
        return list(s.scalars(select(model).where(*where)))
