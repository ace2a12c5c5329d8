"""A case as it leaves the platform: plain facts gathered by the store, shaped by the channels.

`childsafe.reports.deliveries` fills these dataclasses (decrypting what it must); the signed
webhook sends `CaseFile.to_json()`, the CyberTipline export maps them to XML
(`childsafe.reports.core.cybertip`). Evidence travels as names, sizes and hashes only —
never its bytes — and the reporter's identity only to the agency that owns the case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = "childsafe.case/1"


def iso(moment: datetime | None) -> str | None:
    """UTC, second precision, `Z` suffix: what receivers parse without surprises."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class EvidenceFacts:
    id: str
    kind: str  # text | conversation | file
    server_name: str
    mime: str
    size: int
    sha256: str
    md5: str
    received_at: datetime
    source: str  # reporter | provider

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "server_name": self.server_name,
                "mime": self.mime, "size": self.size, "sha256": self.sha256, "md5": self.md5,
                "received_at": iso(self.received_at), "source": self.source}


@dataclass(frozen=True, slots=True)
class ReportedUser:
    """An account reported, as the provider's capture or the reporter names it."""

    platform: str
    identifier: str
    display_name: str | None = None
    declared_age: int | None = None
    source: str = "conversation"  # conversation | reporter

    def to_json(self) -> dict[str, Any]:
        return {"platform": self.platform, "identifier": self.identifier,
                "display_name": self.display_name, "declared_age": self.declared_age,
                "source": self.source}


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    """What a captured conversation is, without what it says."""

    evidence_id: str
    platform: str
    room_id: str
    participants: int
    messages: int
    first_at: datetime | None
    last_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {"evidence_id": self.evidence_id, "platform": self.platform,
                "room_id": self.room_id, "participants": self.participants,
                "messages": self.messages, "first_at": iso(self.first_at),
                "last_at": iso(self.last_at)}


@dataclass(frozen=True, slots=True)
class ReporterFacts:
    name: str
    email: str | None
    phone: str | None
    country: str
    age_band: str
    relationship: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "email": self.email, "phone": self.phone,
                "country": self.country, "age_band": self.age_band,
                "relationship": self.relationship}


@dataclass(frozen=True, slots=True)
class ReportFacts:
    id: str
    reference: str
    received_at: datetime
    category: str
    immediate: bool
    channel: str
    country: str
    language: str
    platform: str | None = None  # as the reporter named it
    incident_when: str | None = None  # as the reporter gave it (date or date-time)
    seen_where: str | None = None
    reporter: ReporterFacts | None = None
    victim_age: int | None = None  # declared in the capture
    victim_age_band: str | None = None  # the reporter's own band when they are the child
    conversations: tuple[ConversationFacts, ...] = ()
    reported_users: tuple[ReportedUser, ...] = ()
    evidence: tuple[EvidenceFacts, ...] = ()

    def to_json(self, *, include_reporter: bool) -> dict[str, Any]:
        return {"id": self.id, "reference": self.reference,
                "received_at": iso(self.received_at), "category": self.category,
                "immediate": self.immediate, "channel": self.channel, "country": self.country,
                "language": self.language, "platform": self.platform,
                "incident_when": self.incident_when, "seen_where": self.seen_where,
                "reporter": self.reporter.to_json() if include_reporter and self.reporter
                else None,
                "victim": {"declared_age": self.victim_age, "age_band": self.victim_age_band},
                "conversations": [c.to_json() for c in self.conversations],
                "reported_users": [u.to_json() for u in self.reported_users],
                "evidence": [e.to_json() for e in self.evidence]}


@dataclass(frozen=True, slots=True)
class CaseFile:
    case_id: str
    reference: str
    agency_code: str
    agency_name: str
    title: str
    status: str
    priority: str | None
    priority_reasons: tuple[str, ...]
    country: str | None
    created_at: datetime
    reports: tuple[ReportFacts, ...] = field(default=())

    @property
    def first_report(self) -> ReportFacts | None:
        return self.reports[0] if self.reports else None

    def to_json(self, *, include_reporter: bool) -> dict[str, Any]:
        """The webhook document. `include_reporter` only for the owning agency's channels."""
        return {"schema": SCHEMA_VERSION,
                "case": {"id": self.case_id, "reference": self.reference,
                         "agency": self.agency_code, "title": self.title,
                         "status": self.status, "priority": self.priority,
                         "priority_reasons": list(self.priority_reasons),
                         "country": self.country, "created_at": iso(self.created_at)},
                "reports": [r.to_json(include_reporter=include_reporter) for r in self.reports]}
