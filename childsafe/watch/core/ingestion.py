"""A provider's batch of chat messages: parse, validate, key by conversation (pure).

Everything that can be decided without the store is decided here, so the endpoint stores a
batch that is already known to be well formed: every problem is reported at once with the
index of the offending message (`messages[3].sent_at`), and nothing of a bad batch is kept.

Conversation keys (what the detector keeps state for):

* `conversation` given by the provider → `thread:<conversation>` (a provider's own thread);
* else `recipient_id` given (a direct message) → `direct:<a> <b>`, the two participants sorted,
  so both directions of a private chat are one conversation;
* else → `room`, the room's public thread.

Ids are 1-128 characters without spaces or control characters, so the space in a direct key
can never be part of an id.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from childsafe.core.errors import Conflict, InvalidInput

MAX_MESSAGES = 500
MAX_TEXT_CHARS = 4_000
MAX_BATCH_BYTES = 4 * 1024 * 1024  # the request body; 500 texts of 4,000 chars fit in 2 MB
MAX_ID_CHARS = 128
MAX_CONVERSATION_CHARS = 200
MAX_AGE = 120
FUTURE_SKEW = timedelta(minutes=5)  # clocks differ; a message from further ahead is refused
MAX_PROBLEMS = 50

ROOM_KEY = "room"
_FIELDS = frozenset({"message_id", "author_id", "author_age", "sent_at", "text", "recipient_id",
                     "reply_to", "conversation"})
_ID = re.compile(r"^[^\s\x00-\x1f\x7f]{1,128}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True, slots=True)
class Problem:
    field: str
    reason: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason, "detail": self.detail}


class _Listed:
    problems: tuple[Problem, ...]

    def as_list(self) -> list[dict[str, str]]:
        return [p.as_dict() for p in self.problems]


class BatchInvalid(_Listed, InvalidInput):
    """Malformed messages; every problem (up to MAX_PROBLEMS) is listed with its field."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems[:MAX_PROBLEMS])
        first = self.problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{first.field}: {first.detail}{more}", field=first.field)


class BatchOutOfOrder(BatchInvalid):
    """A conversation's messages must arrive in the order they were sent."""

    code = "out_of_order"
    title = "Messages out of order"


class BatchTooLarge(InvalidInput):
    code = "too_large"
    status = 413
    title = "Batch too large"


class MessageConflict(_Listed, Conflict):
    """A message id already received with other content: ids must name one message."""

    code = "message_conflict"
    title = "Message id reused"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems[:MAX_PROBLEMS])
        super().__init__(f"{self.problems[0].field}: {self.problems[0].detail}",
                         field=self.problems[0].field)


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """One valid message of a batch, with its conversation key and text hash."""

    index: int
    message_id: str
    author_id: str
    author_age: int | None
    sent_at: datetime  # UTC
    text: str
    recipient_id: str | None
    reply_to: str | None
    key: str
    kind: str  # room | direct
    sha256: str

    @property
    def ts(self) -> float:
        return self.sent_at.timestamp()


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """What the store kept of a message, enough to tell a repeat from a reused id."""

    author_id: str
    declared_age: int | None
    recipient_id: str | None
    reply_to: str | None
    sent_at: datetime
    sha256: str
    key: str


def conversation_key(author_id: str, recipient_id: str | None,
                     conversation: str | None) -> tuple[str, str]:
    """(key, kind) by the rule in the module docstring."""
    if conversation is not None:
        return f"thread:{conversation}", "direct" if recipient_id is not None else "room"
    if recipient_id is not None:
        a, b = sorted((author_id, recipient_id))
        return f"direct:{a} {b}", "direct"
    return ROOM_KEY, "room"


def parse_sent_at(value: str) -> datetime:
    """An RFC 3339 timestamp with an offset, as UTC; ValueError otherwise."""
    if not _RFC3339.match(value):
        raise ValueError("not an RFC 3339 timestamp with a time zone, e.g. 2026-11-20T10:15:00Z")
    text = value[:10] + "T" + value[11:]
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    head, dot, rest = text.partition(".")
    if dot:  # Python keeps microseconds: cut longer fractions instead of failing
        digits = re.match(r"\d+", rest)
        assert digits is not None
        text = f"{head}.{digits.group()[:6].ljust(6, '0')}{rest[digits.end():]}"
    return datetime.fromisoformat(text).astimezone(UTC)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, field: str, reason: str, detail: str) -> None:
        self.problems.append(Problem(field, reason, detail))

    def ident(self, item: Mapping[str, Any], name: str, where: str, *, required: bool) -> str | None:
        value = item.get(name)
        if value is None:
            if required:
                self.add(f"{where}.{name}", "missing", "is required")
            return None
        if not isinstance(value, str):
            self.add(f"{where}.{name}", "type", "must be a string")
        elif not _ID.match(value):
            self.add(f"{where}.{name}", "format", f"must be 1-{MAX_ID_CHARS} characters without "
                                                  "spaces or control characters")
        else:
            return value
        return None


def parse_batch(doc: Any, *, now: datetime) -> list[IncomingMessage]:
    """Validate a decoded JSON body `{"messages": [...]}`; raises BatchInvalid or
    BatchOutOfOrder listing every problem, or BatchTooLarge."""
    if not isinstance(doc, Mapping):
        raise BatchInvalid([Problem("body", "type", 'must be an object {"messages": [...]}')])
    check = _Checker()
    for extra in sorted(set(doc) - {"messages"}):
        check.add(str(extra), "unknown", "is not a field of a message batch")
    items = doc.get("messages")
    if not isinstance(items, list):
        check.add("messages", "missing" if items is None else "type", "must be a list of messages")
        raise BatchInvalid(check.problems)
    if not items:
        check.add("messages", "empty", "send at least one message")
    if len(items) > MAX_MESSAGES:
        raise BatchTooLarge(f"A batch holds at most {MAX_MESSAGES} messages; this one has "
                            f"{len(items)}. Split it.", field="messages")
    out: list[IncomingMessage] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        parsed = _parse_message(check, index, item, now, seen)
        if parsed is not None:
            out.append(parsed)
    if check.problems:
        raise BatchInvalid(check.problems)
    order = out_of_order_in_batch(out)
    if order:
        raise BatchOutOfOrder(order)
    return out


def _parse_message(check: _Checker, index: int, item: Any, now: datetime,
                   seen: dict[str, int]) -> IncomingMessage | None:
    where = f"messages[{index}]"
    if not isinstance(item, Mapping):
        check.add(where, "type", "must be an object")
        return None
    before = len(check.problems)
    for extra in sorted(set(item) - _FIELDS, key=str):
        check.add(f"{where}.{extra}", "unknown", "is not a field of a message")
    message_id = check.ident(item, "message_id", where, required=True)
    author_id = check.ident(item, "author_id", where, required=True)
    recipient_id = check.ident(item, "recipient_id", where, required=False)
    reply_to = check.ident(item, "reply_to", where, required=False)
    if message_id is not None:
        if message_id in seen:
            check.add(f"{where}.message_id", "repeated",
                      f"repeats messages[{seen[message_id]}].message_id in the same batch")
        else:
            seen[message_id] = index
    if recipient_id is not None and recipient_id == author_id:
        check.add(f"{where}.recipient_id", "format", "must differ from author_id")
    age = item.get("author_age")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int)
                            or not 0 <= age <= MAX_AGE):
        check.add(f"{where}.author_age", "range", f"must be a whole number of years, 0-{MAX_AGE}")
    conversation = item.get("conversation")
    if conversation is not None and (not isinstance(conversation, str) or not conversation.strip()
                                     or len(conversation) > MAX_CONVERSATION_CHARS
                                     or _CONTROL.search(conversation)):
        check.add(f"{where}.conversation", "format",
                  f"must be 1-{MAX_CONVERSATION_CHARS} characters without control characters")
    sent_at = _sent_at(check, item.get("sent_at"), f"{where}.sent_at", now)
    text = item.get("text")
    digest = ""
    if not isinstance(text, str):
        check.add(f"{where}.text", "missing" if text is None else "type", "must be a string")
    elif len(text) > MAX_TEXT_CHARS:
        check.add(f"{where}.text", "too_long",
                  f"is {len(text)} characters; at most {MAX_TEXT_CHARS}")
    else:
        try:
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        except UnicodeEncodeError:
            check.add(f"{where}.text", "encoding", "is not valid Unicode (a lone surrogate)")
    if len(check.problems) > before:
        return None
    assert message_id and author_id and sent_at and isinstance(text, str)
    key, kind = conversation_key(author_id, recipient_id, conversation)
    return IncomingMessage(index, message_id, author_id, age, sent_at, text, recipient_id,
                           reply_to, key, kind, digest)


def _sent_at(check: _Checker, value: Any, field: str, now: datetime) -> datetime | None:
    if not isinstance(value, str):
        check.add(field, "missing" if value is None else "type", "must be an RFC 3339 string")
        return None
    try:
        at = parse_sent_at(value)
    except ValueError as exc:
        check.add(field, "format", str(exc))
        return None
    if at > now + FUTURE_SKEW:
        check.add(field, "future", f"{value} is in the future (server time "
                                   f"{now.astimezone(UTC).isoformat()})")
        return None
    return at


def out_of_order_in_batch(messages: Sequence[IncomingMessage]) -> list[Problem]:
    """Within one conversation, `sent_at` never goes backwards in batch order."""
    last: dict[str, IncomingMessage] = {}
    problems: list[Problem] = []
    for m in messages:
        before = last.get(m.key)
        if before is not None and m.sent_at < before.sent_at:
            problems.append(Problem(
                f"messages[{m.index}].sent_at", "out_of_order",
                f"{m.sent_at.isoformat()} is earlier than messages[{before.index}] "
                f"({before.sent_at.isoformat()}) of the same conversation; send each "
                "conversation's messages in the order they were sent"))
        else:
            last[m.key] = m
    return problems


def out_of_order_after_stored(messages: Sequence[IncomingMessage],
                              last_ts: Mapping[str, float | None]) -> list[Problem]:
    """New messages may not be older than their conversation's last stored message."""
    problems: list[Problem] = []
    for m in messages:
        stored = last_ts.get(m.key)
        if stored is not None and m.ts < stored:
            problems.append(Problem(
                f"messages[{m.index}].sent_at", "out_of_order",
                f"{m.sent_at.isoformat()} is earlier than the last message already received "
                f"in its conversation ({datetime.fromtimestamp(stored, UTC).isoformat()})"))
    return problems


def differences(incoming: IncomingMessage, stored: StoredMessage) -> list[str]:
    """Fields in which a repeated message id differs from what was stored under it."""
    pairs = (("author_id", incoming.author_id, stored.author_id),
             ("author_age", incoming.author_age, stored.declared_age),
             ("recipient_id", incoming.recipient_id, stored.recipient_id),
             ("reply_to", incoming.reply_to, stored.reply_to),
             ("sent_at", incoming.sent_at, stored.sent_at),
             ("text", incoming.sha256, stored.sha256),
             ("conversation", incoming.key, stored.key))
    return [name for name, a, b in pairs if a != b]


def conflict_problem(incoming: IncomingMessage, fields: Sequence[str]) -> Problem:
    return Problem(f"messages[{incoming.index}].message_id", "conflict",
                   f"message {incoming.message_id!r} was already received with a different "
                   f"{', '.join(fields)}; a message id names one message and is never reused")
