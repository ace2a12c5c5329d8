"""Typed values the SDK sends and returns: plain frozen dataclasses.

What you send (`Conversation`, `Participant`, `CapturedMessage`, `Reporter`, `ChatMessage`,
`EvidenceFile`) serialise with `to_json()`; what comes back is parsed with `from_json()`,
which ignores fields it does not know, so a newer platform does not break an older SDK.
Timestamps are timezone-aware `datetime`s (a naive one is refused: the platform cannot know
which zone you meant).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "AgencyRef", "Badge", "CapturedMessage", "ChatMessage", "Classification", "Conversation",
    "Evidence", "EvidenceFile", "Handoff", "IngestResult", "IngestedConversation",
    "Monitoring", "Participant", "ProviderIdentity", "Report", "ReportStatus", "Reporter",
    "Room",
]

Role = Literal["reporter", "reported", "other"]
Audience = Literal["young_person", "parent_carer", "other_adult", "professional"]
RoomAudience = Literal["child", "teen", "general", "adult"]
BadgeState = Literal["monitored", "monitored_off_duty", "not_monitored"]


def timestamp(value: datetime | str, what: str = "timestamp") -> str:
    """RFC 3339 text for a timestamp; naive datetimes are refused."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (e.g. datetime.now(timezone.utc))")
    return value.isoformat()


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _str(doc: Mapping[str, Any], key: str, default: str = "") -> str:
    value = doc.get(key)
    return default if value is None else str(value)


def _opt(doc: Mapping[str, Any], key: str) -> str | None:
    value = doc.get(key)
    return None if value is None else str(value)


# ---- what a provider sends ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Participant:
    """Someone in a captured conversation. `role`: `reporter` (the user pressing Report),
    `reported` (the account reported) or `other`. `declared_age` is the age your service
    holds for the user, if any."""

    user_id: str
    display_name: str | None = None
    declared_age: int | None = None
    role: Role = "other"

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"user_id": self.user_id, "role": self.role}
        if self.display_name is not None:
            doc["display_name"] = self.display_name
        if self.declared_age is not None:
            doc["declared_age"] = self.declared_age
        return doc


@dataclass(frozen=True, slots=True)
class CapturedMessage:
    """One message of a captured conversation, exactly as your service delivered it;
    `sender` is a participant's `user_id`."""

    id: str
    sender: str
    sent_at: datetime | str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "sender": self.sender,
                "sent_at": timestamp(self.sent_at, f"message {self.id} sent_at"), "text": self.text}


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation captured by your client when a user presses Report: hashed (SHA-256,
    MD5) by the platform at receipt, encrypted, never modified."""

    platform: str
    room_id: str
    participants: Sequence[Participant]
    messages: Sequence[CapturedMessage]

    def to_json(self) -> dict[str, Any]:
        return {"platform": self.platform, "room_id": self.room_id,
                "participants": [p.to_json() for p in self.participants],
                "messages": [m.to_json() for m in self.messages]}


@dataclass(frozen=True, slots=True)
class Reporter:
    """The person reporting (reports are not anonymous). With `reports.create` every field
    the questionnaire needs must be valid; with `reports.handoff` they only prefill the form
    and the reporter can change them. `age_band`: under_13, 13_15, 16_17, 18_plus;
    `relationship`: self, parent_carer, relative, friend, teacher_professional, other;
    `country`: ISO 3166-1 alpha-2."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    age_band: str | None = None
    relationship: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in (("name", self.name), ("email", self.email),
                                  ("phone", self.phone), ("country", self.country),
                                  ("age_band", self.age_band),
                                  ("relationship", self.relationship)) if v is not None}


def reporter_json(reporter: Reporter | Mapping[str, Any] | None) -> dict[str, Any]:
    if reporter is None:
        return {}
    if isinstance(reporter, Reporter):
        return reporter.to_json()
    return {str(k): v for k, v in reporter.items() if v is not None}


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """A file to add to a report: PNG, JPEG, GIF, PDF or TXT (checked by content)."""

    filename: str
    data: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a monitored room, streamed to Watch (`messages.send`).

    `recipient_id` marks a direct message; `conversation` names your own thread key.
    Sending the same `message_id` again is harmless (counted as a duplicate)."""

    message_id: str
    author_id: str
    text: str
    sent_at: datetime | str
    author_age: int | None = None
    recipient_id: str | None = None
    reply_to: str | None = None
    conversation: str | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"message_id": self.message_id, "author_id": self.author_id,
                               "sent_at": timestamp(self.sent_at,
                                                    f"message {self.message_id} sent_at"),
                               "text": self.text}
        for key in ("author_age", "recipient_id", "reply_to", "conversation"):
            value = getattr(self, key)
            if value is not None:
                doc[key] = value
        return doc


# ---- what comes back ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Evidence:
    """An evidence item as stored: hashes taken at receipt."""

    id: str
    kind: str
    sha256: str
    md5: str
    size: int

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Evidence:
        return cls(_str(doc, "id"), _str(doc, "kind"), _str(doc, "sha256"), _str(doc, "md5"),
                   int(doc.get("size") or 0))


@dataclass(frozen=True, slots=True)
class Classification:
    """What the questionnaire concluded. Out of scope (`in_scope` False): nothing is filed;
    show the reporter `message` and the `signposts`."""

    category: str
    in_scope: bool
    immediate: bool
    title: str
    message: str
    emergency: str | None
    reasons: list[str] = field(default_factory=list)
    signposts: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Classification:
        return cls(_str(doc, "category"), bool(doc.get("in_scope")), bool(doc.get("immediate")),
                   _str(doc, "title"), _str(doc, "message"), _opt(doc, "emergency"),
                   [str(r) for r in doc.get("reasons") or []],
                   [str(s) for s in doc.get("signposts") or []])


@dataclass(frozen=True, slots=True)
class Report:
    """The answer to `reports.create`. `status_url` is private to the reporter: give it only
    to them."""

    filed: bool
    classification: Classification
    reference: str | None = None
    state: str | None = None
    status_url: str | None = None
    agency: str | None = None
    needs_verification: bool = False
    duplicate_of_earlier_report: bool = False
    evidence: list[Evidence] = field(default_factory=list)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Report:
        return cls(bool(doc.get("filed")), Classification.from_json(doc.get("classification") or {}),
                   _opt(doc, "reference"), _opt(doc, "state"), _opt(doc, "status_url"),
                   _opt(doc, "agency"), bool(doc.get("needs_verification")),
                   bool(doc.get("duplicate_of_earlier_report")),
                   [Evidence.from_json(e) for e in doc.get("evidence") or []])


@dataclass(frozen=True, slots=True)
class ReportStatus:
    """Where a report you filed stands (never officers' names or notes)."""

    reference: str
    state: str
    immediate: bool
    evidence_items: int

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ReportStatus:
        return cls(_str(doc, "reference"), _str(doc, "state"), bool(doc.get("immediate")),
                   int(doc.get("evidence_items") or 0))


@dataclass(frozen=True, slots=True)
class Handoff:
    """A report hand-off: open `url` in the user's browser (a new tab) before `expires_at`.
    The link works once; `conversation_sha256` is the hash the evidence will carry."""

    id: str
    url: str
    expires_at: datetime
    messages: int
    conversation_sha256: str

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Handoff:
        expires = parse_time(doc.get("expires_at"))
        if expires is None:
            raise ValueError("hand-off answer without expires_at")
        return cls(_str(doc, "id"), _str(doc, "url"), expires, int(doc.get("messages") or 0),
                   _str(doc, "conversation_sha256"))


@dataclass(frozen=True, slots=True)
class AgencyRef:
    code: str
    name: str

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> AgencyRef:
        return cls(_str(doc, "code"), _str(doc, "name"))


def _agencies(raw: Any) -> list[AgencyRef]:
    return [AgencyRef.from_json(a) for a in raw or [] if isinstance(a, Mapping)]


@dataclass(frozen=True, slots=True)
class Monitoring:
    """Whether, and by whom, a room is monitored now."""

    state: str
    monitored: bool
    monitoring: list[AgencyRef]
    on_duty: list[AgencyRef]
    next_review_at: datetime | None = None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Monitoring:
        return cls(_str(doc, "state"), bool(doc.get("monitored")), _agencies(doc.get("monitoring")),
                   _agencies(doc.get("on_duty")), parse_time(doc.get("next_review_at")))


@dataclass(frozen=True, slots=True)
class Room:
    """A room you registered. `id` (rm_…) is what badge URLs and message batches use;
    `monitoring` is filled by `rooms.get` only."""

    id: str
    external_id: str
    title: str
    audience: str
    language: str
    region: str
    active: bool
    created_at: datetime | None
    updated_at: datetime | None
    badge_url: str
    badge_svg_url: str
    monitoring: Monitoring | None = None

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Room:
        monitoring = doc.get("monitoring")
        return cls(_str(doc, "id"), _str(doc, "external_id"), _str(doc, "title"),
                   _str(doc, "audience"), _str(doc, "language"), _str(doc, "region"),
                   bool(doc.get("active")), parse_time(doc.get("created_at")),
                   parse_time(doc.get("updated_at")), _str(doc, "badge_url"),
                   _str(doc, "badge_svg_url"),
                   Monitoring.from_json(monitoring) if isinstance(monitoring, Mapping) else None)


@dataclass(frozen=True, slots=True)
class Badge:
    """The public monitored badge of a room, in one language. Show `text` (short label) and
    `message`; link `help_url`. `agencies` are the agencies on duty now, or, off duty, the
    ones monitoring the room."""

    room: str
    state: BadgeState | str
    monitored: bool
    lang: str
    label: str
    message: str
    on_duty: list[AgencyRef]
    monitoring: list[AgencyRef]
    next_review_at: datetime | None
    help_text: str
    help_url: str
    report_url: str
    svg_url: str
    digest: str

    @property
    def text(self) -> str:
        return self.label

    @property
    def agencies(self) -> list[AgencyRef]:
        return self.on_duty or self.monitoring

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Badge:
        help_ = doc.get("help") if isinstance(doc.get("help"), Mapping) else {}
        assert isinstance(help_, Mapping)
        return cls(_str(doc, "room"), _str(doc, "state"), bool(doc.get("monitored")),
                   _str(doc, "lang"), _str(doc, "label"), _str(doc, "message"),
                   _agencies(doc.get("on_duty")), _agencies(doc.get("monitoring")),
                   parse_time(doc.get("next_review_at")), _str(help_, "text"),
                   _str(help_, "url"), _str(help_, "report_url"), _str(doc, "svg_url"),
                   _str(doc, "digest"))


@dataclass(frozen=True, slots=True)
class IngestedConversation:
    """One conversation touched by a message batch (`room`, `direct:<a> <b>`, `thread:<key>`)."""

    id: int
    key: str
    kind: str
    accepted: int
    duplicates: int
    last_seq: int

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> IngestedConversation:
        return cls(int(doc.get("id") or 0), _str(doc, "key"), _str(doc, "kind"),
                   int(doc.get("accepted") or 0), int(doc.get("duplicates") or 0),
                   int(doc.get("last_seq") or 0))


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What Watch did with your messages: `accepted` new, `duplicates` already received,
    `ignored` not stored because nobody monitors the room (`ignored_reason`). When a call
    sent several batches, the counts are summed."""

    room_id: str
    accepted: int
    duplicates: int
    ignored: int
    ignored_reason: str | None
    conversations: list[IngestedConversation]
    batches: int = 1

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> IngestResult:
        return cls(_str(doc, "room_id"), int(doc.get("accepted") or 0),
                   int(doc.get("duplicates") or 0), int(doc.get("ignored") or 0),
                   _opt(doc, "ignored_reason"),
                   [IngestedConversation.from_json(c) for c in doc.get("conversations") or []])

    @classmethod
    def combine(cls, room_id: str, parts: Sequence[IngestResult]) -> IngestResult:
        if len(parts) == 1:
            return parts[0]
        reason = next((p.ignored_reason for p in parts if p.ignored_reason), None)
        return cls(room_id, sum(p.accepted for p in parts), sum(p.duplicates for p in parts),
                   sum(p.ignored for p in parts), reason,
                   [c for p in parts for c in p.conversations], len(parts))


@dataclass(frozen=True, slots=True)
class ProviderIdentity:
    """Which provider an API key belongs to, and its scopes."""

    provider: str
    key_id: str
    scopes: list[str]

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ProviderIdentity:
        return cls(_str(doc, "provider"), _str(doc, "key_id"),
                   [str(s) for s in doc.get("scopes") or []])
