"""A conversation captured by a chat client (the Report button) and posted as structured data.

Limits protect the officers' console and the store; identifiers are strict (no control,
format or bidi characters: an id that renders differently from what it is misleads an
officer), while message text is kept exactly as sent. Timestamps must carry a zone and are
converted to UTC; a timestamp far in the future means a broken or forged capture.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from childsafe.reports.core.errors import EvidenceRejected
from childsafe.reports.core.evidence.dedup import SuspectRef


@dataclass(frozen=True, slots=True)
class CaptureLimits:
    max_participants: int = 100
    max_messages: int = 5000
    max_id_chars: int = 256
    max_name_chars: int = 200
    max_message_chars: int = 10_000
    max_total_chars: int = 2_000_000
    future_skew: timedelta = timedelta(minutes=5)


DEFAULT_LIMITS = CaptureLimits()


class Role(StrEnum):
    REPORTER = "reporter"
    REPORTED = "reported"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Participant:
    user_id: str
    display_name: str | None = None
    declared_age: int | None = None
    role: Role = Role.OTHER


@dataclass(frozen=True, slots=True)
class ChatMessage:
    id: str
    sender: str
    sent_at: datetime  # UTC
    text: str


@dataclass(frozen=True, slots=True)
class Conversation:
    platform: str
    room_id: str
    participants: tuple[Participant, ...]
    messages: tuple[ChatMessage, ...]

    def canonical_json(self) -> bytes:
        """A stable serialisation, so the same capture posted twice hashes the same."""
        body = {"platform": self.platform, "room_id": self.room_id,
                "participants": [[p.user_id, p.display_name, p.declared_age, p.role.value]
                                 for p in self.participants],
                "messages": [[m.id, m.sender, m.sent_at.isoformat(), m.text]
                             for m in self.messages]}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json()).hexdigest()

    def suspects(self) -> list[SuspectRef]:
        return [SuspectRef(self.platform, p.user_id) for p in self.participants
                if p.role is Role.REPORTED]


def _reject(code: str, field: str, detail: str) -> EvidenceRejected:
    return EvidenceRejected(code, detail, field=field)


def clean_identifier(value: Any, field: str, max_chars: int) -> str:
    """Ids are compared and displayed: no control/format (bidi, zero-width) characters."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _reject("empty", field, "Expected a non-empty string.")
    if not isinstance(value, str):
        raise _reject("malformed", field, "Expected a string.")
    if len(value) > max_chars:
        raise _reject("too_large", field, f"Longer than {max_chars} characters.")
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise _reject("bad_characters", field,
                          f"Contains a control or formatting character U+{ord(ch):04X}.")
    return value


def _timestamp(value: Any, field: str, now: datetime, skew: timedelta) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00")) \
            if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _reject("malformed", field, "Expected an ISO 8601 timestamp with a time zone.")
    parsed = parsed.astimezone(UTC)
    if parsed > now + skew:
        raise _reject("future_timestamp", field, "The timestamp is in the future.")
    return parsed


def _participant(raw: Any, field: str, limits: CaptureLimits) -> Participant:
    if not isinstance(raw, Mapping):
        raise _reject("malformed", field, "Expected an object.")
    name = raw.get("display_name")
    if name is not None:
        name = clean_identifier(name, f"{field}.display_name", limits.max_name_chars)
    age = raw.get("declared_age")
    if age is not None and (not isinstance(age, int) or isinstance(age, bool)
                            or not 0 <= age <= 120):
        raise _reject("malformed", f"{field}.declared_age", "Expected an age from 0 to 120.")
    try:
        role = Role(raw.get("role", Role.OTHER.value))
    except ValueError:
        raise _reject("malformed", f"{field}.role",
                      f"Expected one of {[r.value for r in Role]}.") from None
    return Participant(clean_identifier(raw.get("user_id"), f"{field}.user_id",
                                        limits.max_id_chars), name, age, role)


def parse_conversation(raw: Any, *, now: datetime,
                       limits: CaptureLimits = DEFAULT_LIMITS) -> Conversation:
    """Validate a capture (a JSON object); raise `EvidenceRejected` at the first problem,
    naming the field (e.g. `messages[3].id`)."""
    if not isinstance(raw, Mapping):
        raise _reject("malformed", "conversation", "Expected an object.")
    platform = clean_identifier(raw.get("platform"), "platform", limits.max_id_chars)
    room_id = clean_identifier(raw.get("room_id"), "room_id", limits.max_id_chars)
    people_raw, messages_raw = raw.get("participants"), raw.get("messages")
    if not isinstance(people_raw, list) or not isinstance(messages_raw, list):
        raise _reject("malformed", "conversation", "participants and messages must be lists.")
    if not messages_raw:
        raise _reject("empty", "messages", "The capture has no messages.")
    if len(people_raw) > limits.max_participants:
        raise _reject("too_large", "participants",
                      f"More than {limits.max_participants} participants.")
    if len(messages_raw) > limits.max_messages:
        raise _reject("too_large", "messages", f"More than {limits.max_messages} messages.")
    people: dict[str, Participant] = {}
    for i, p in enumerate(people_raw):
        person = _participant(p, f"participants[{i}]", limits)
        if person.user_id in people:
            raise _reject("duplicate_id", f"participants[{i}].user_id",
                          "Two participants have the same user id.")
        people[person.user_id] = person
    messages: list[ChatMessage] = []
    seen: set[str] = set()
    total = 0
    for i, m in enumerate(messages_raw):
        field = f"messages[{i}]"
        if not isinstance(m, Mapping):
            raise _reject("malformed", field, "Expected an object.")
        mid = clean_identifier(m.get("id"), f"{field}.id", limits.max_id_chars)
        if mid in seen:
            raise _reject("duplicate_id", f"{field}.id", "Two messages have the same id.")
        seen.add(mid)
        sender = clean_identifier(m.get("sender"), f"{field}.sender", limits.max_id_chars)
        if sender not in people:
            raise _reject("unknown_sender", f"{field}.sender",
                          "The sender is not one of the participants.")
        text = m.get("text")
        if not isinstance(text, str):
            raise _reject("malformed", f"{field}.text", "Expected a string.")
        if len(text) > limits.max_message_chars:
            raise _reject("too_large", f"{field}.text",
                          f"Longer than {limits.max_message_chars} characters.")
        if "\x00" in text or any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
            raise _reject("malformed", f"{field}.text", "Contains NUL or invalid characters.")
        total += len(text)
        if total > limits.max_total_chars:
            raise _reject("too_large", "messages",
                          f"More than {limits.max_total_chars} characters in all.")
        messages.append(ChatMessage(mid, sender, _timestamp(m.get("sent_at"),
                                                            f"{field}.sent_at", now,
                                                            limits.future_skew), text))
    return Conversation(platform, room_id, tuple(people.values()), tuple(messages))
