"""Report hand-offs: a chat app's server files the captured conversation and the reporter's
prefill; the reporter's browser opens a single-use link to the web form, which runs as usual
(the qualifying questions, the reporter's details prefilled and editable, their own evidence)
and, on "send", attaches the conversation as evidence of a report carrying the provider's id.

Decisions, in the reporter's interest:
- the link is unguessable (256 bits), only its digest is stored, and it must be opened within
  `OPEN_TTL` (30 minutes);
- the first browser to open it keeps it (bound to that browser's pre-session value): the same
  browser may reload it, any other gets a friendly "already opened" page;
- the reporter then has `FINISH_TTL` to send the report; the conversation is attached once
  (single use), after which the sealed capture is wiped;
- the capture is validated at hand-off exactly like the provider API's conversation
  capture (`parse_conversation`) and validated again when attached, so what officers get
  hashes to the `conversation_sha256` the provider was given;
- the prefill is checked field by field when given, and fully (`parse_reporter`) by the form.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from childsafe.core.accounts import new_token, token_digest
from childsafe.core.audit import AuditEvent, Outcome
from childsafe.core.crypto import Keyring, open_sealed, seal
from childsafe.core.errors import DomainError
from childsafe.core.principal import ProviderPrincipal
from childsafe.ratelimit import RateLimiter
from childsafe.reports.core.answers import has_unsafe_chars
from childsafe.reports.core.countries import normalize_country_code
from childsafe.reports.core.errors import FieldProblem, IdentityInvalid
from childsafe.reports.core.evidence.conversation import Conversation, parse_conversation
from childsafe.reports.core.identity import (
    NAME_MAX,
    AgeBand,
    Relationship,
    normalize_email,
    normalize_phone,
)
from childsafe.store import audit
from childsafe.store.handoff_models import ReportHandoffRow, payload_aad
from childsafe.store.models import ProviderRow

OPEN_TTL = timedelta(minutes=30)
FINISH_TTL = timedelta(hours=6)
PURGE_AFTER = timedelta(days=7)
PER_PROVIDER_PER_HOUR = 600
PREFILL_FIELDS = ("name", "email", "phone", "country", "age_band", "relationship")
AUDIENCES = ("young_person", "parent_carer", "other_adult", "professional")
ROOM_TITLE_MAX = 200


class HandoffRateLimited(DomainError):
    code = "rate_limited"
    status = 429
    title = "Too many hand-offs"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Gone(StrEnum):
    """Why a hand-off link cannot be used (each has its own friendly page)."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    ELSEWHERE = "elsewhere"  # opened in another browser


class HandoffGone(DomainError):
    code = "handoff_gone"
    status = 410
    title = "This link cannot be used"

    def __init__(self, reason: Gone) -> None:
        super().__init__(f"The report link is {reason.value}.")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Issued:
    id: str
    token: str  # shown once, in the URL
    expires_at: datetime
    messages: int
    conversation_sha256: str


@dataclass(frozen=True, slots=True)
class Loaded:
    """An opened hand-off, as the wizard needs it."""

    id: str
    provider_id: int
    provider_name: str
    key_id: str
    language: str
    audience: str | None
    reporter: dict[str, str]
    room_title: str | None
    messages: int
    conversation_sha256: str
    raw_conversation: dict[str, Any]

    def principal(self) -> ProviderPrincipal:
        """The provider as the report records it (`provider_id`); no scopes: a hand-off
        grants nothing beyond the report it carries."""
        return ProviderPrincipal(self.provider_id, self.provider_name, self.key_id, frozenset())

    def conversation(self, now: datetime) -> Conversation:
        return parse_conversation(self.raw_conversation, now=now)


def check_prefill(raw: Mapping[str, Any]) -> dict[str, str]:
    """The given prefill fields, each checked as the form would; every problem at once
    (fields named `reporter.<field>`). Nothing is required: the reporter completes the form."""
    problems: list[FieldProblem] = []
    clean: dict[str, str] = {}

    def bad(name: str, reason: str, detail: str) -> None:
        problems.append(FieldProblem(f"reporter.{name}", reason, detail))

    for key, value in raw.items():
        if key not in PREFILL_FIELDS:
            bad(str(key)[:40], "unknown_field", f"Unknown field; use {', '.join(PREFILL_FIELDS)}.")
            continue
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            bad(key, "malformed", "Expected a string.")
            continue
        value = value.strip()
        if len(value) > 254 or has_unsafe_chars(value):
            bad(key, "malformed", "Too long, or contains control characters.")
        elif key == "name" and len(value) > NAME_MAX:
            bad(key, "too_long", f"At most {NAME_MAX} characters.")
        elif key == "email" and normalize_email(value) is None:
            bad(key, "email", "Not a valid email address.")
        elif key == "country" and normalize_country_code(value) is None:
            bad(key, "country", "Not an ISO 3166-1 alpha-2 country code.")
        elif key == "age_band" and value not in {a.value for a in AgeBand}:
            bad(key, "age_band", f"One of {', '.join(a.value for a in AgeBand)}.")
        elif key == "relationship" and value not in {r.value for r in Relationship}:
            bad(key, "relationship", f"One of {', '.join(r.value for r in Relationship)}.")
        else:
            clean[key] = (normalize_country_code(value) or value) if key == "country" else value
    if "phone" in clean and normalize_phone(clean["phone"], clean.get("country")) is None:
        bad("phone", "phone", "Not a valid phone number (use +44…, or give the country).")
    if problems:
        raise IdentityInvalid(problems)
    return clean


def conversation_json(conversation: Conversation) -> dict[str, Any]:
    """The validated capture as JSON that `parse_conversation` reads back to the same value."""
    return {"platform": conversation.platform, "room_id": conversation.room_id,
            "participants": [{"user_id": p.user_id, "display_name": p.display_name,
                              "declared_age": p.declared_age, "role": p.role.value}
                             for p in conversation.participants],
            "messages": [{"id": m.id, "sender": m.sender, "sent_at": m.sent_at.isoformat(),
                          "text": m.text} for m in conversation.messages]}


def _retry_after(now: datetime, window: int) -> int:
    return window - int(now.timestamp()) % window or 1


def create(session: Session, keyring: Keyring, limiter: RateLimiter,
           provider: ProviderPrincipal, *, conversation: Conversation,
           reporter: Mapping[str, str], language: str, audience: str | None,
           room_title: str | None, now: datetime, limit: int = PER_PROVIDER_PER_HOUR
           ) -> Issued:
    """Store a hand-off (sealed) and return its one-time token; audited.

    Raises HandoffRateLimited past `limit` hand-offs per provider and hour."""
    if not limiter.hit(f"handoff-provider:{provider.provider_id}", limit=limit,
                       window_seconds=3600):
        raise HandoffRateLimited(f"More than {limit} report hand-offs this hour from this "
                                 "provider.", _retry_after(now, 3600))
    purge(session, now, provider_id=provider.provider_id)
    handoff_id, token = str(uuid.uuid4()), new_token()
    payload = json.dumps({"conversation": conversation_json(conversation),
                          "reporter": dict(reporter), "room_title": room_title},
                         ensure_ascii=False, separators=(",", ":")).encode()
    row = ReportHandoffRow(
        id=handoff_id, token_digest=token_digest(token), provider_id=provider.provider_id,
        key_id=provider.key_id, language=language, audience=audience,
        messages=len(conversation.messages), conversation_sha256=conversation.sha256,
        payload_enc=seal(keyring, payload, payload_aad(handoff_id)), created_at=now,
        expires_at=now + OPEN_TTL)
    session.add(row)
    session.flush()
    audit.append(session, AuditEvent(
        "report_handoff.create", actor=provider.name, object_type="report_handoff",
        object_id=handoff_id, detail={"provider": provider.provider_id, "key": provider.key_id,
                                      "messages": row.messages,
                                      "conversation_sha256": row.conversation_sha256,
                                      "prefilled": sorted(reporter)}))
    return Issued(handoff_id, token, row.expires_at, row.messages, row.conversation_sha256)


def _refuse(session: Session, row: ReportHandoffRow, reason: Gone, ip: str | None) -> HandoffGone:
    audit.append(session, AuditEvent("report_handoff.open", outcome=Outcome.DENIED,
                                     actor="reporter", object_type="report_handoff",
                                     object_id=row.id, ip=ip, detail={"reason": reason.value}))
    return HandoffGone(reason)


def open_link(session: Session, keyring: Keyring, token: str, browser: str, *,
              now: datetime, ip: str | None = None) -> Loaded:
    """The reporter's browser opens the link: the first opening binds the hand-off to this
    browser; the same browser may open it again until the report is sent. Refusals raise
    `HandoffGone` (refusals of a known hand-off are audited; the caller commits them)."""
    if not token or len(token) > 100:
        raise HandoffGone(Gone.UNKNOWN)
    row = session.scalar(select(ReportHandoffRow).where(
        ReportHandoffRow.token_digest == token_digest(token)))
    if row is None:
        raise HandoffGone(Gone.UNKNOWN)
    mine = token_digest(browser)
    if row.used_at is not None or row.payload_enc is None:
        raise _refuse(session, row, Gone.USED if row.used_at else Gone.EXPIRED, ip)
    if row.opened_at is None:
        if row.expires_at <= now:
            raise _refuse(session, row, Gone.EXPIRED, ip)
        claimed = session.execute(
            update(ReportHandoffRow)
            .where(ReportHandoffRow.id == row.id, ReportHandoffRow.opened_at.is_(None))
            .values(opened_at=now, browser_digest=mine, expires_at=now + FINISH_TTL)
            .execution_options(synchronize_session=False))
        session.refresh(row)
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            audit.append(session, AuditEvent("report_handoff.open", actor="reporter",
                                             object_type="report_handoff", object_id=row.id,
                                             ip=ip, detail={"provider": row.provider_id}))
    if row.browser_digest != mine:
        raise _refuse(session, row, Gone.ELSEWHERE, ip)
    if row.expires_at <= now:
        raise _refuse(session, row, Gone.EXPIRED, ip)
    return _loaded(session, keyring, row)


def _loaded(session: Session, keyring: Keyring, row: ReportHandoffRow) -> Loaded:
    provider = session.get(ProviderRow, row.provider_id)
    if provider is None or provider.disabled or row.payload_enc is None:
        raise HandoffGone(Gone.EXPIRED)
    doc = json.loads(open_sealed(keyring, row.payload_enc, payload_aad(row.id)))
    return Loaded(row.id, row.provider_id, provider.name, row.key_id, row.language,
                  row.audience, {str(k): str(v) for k, v in (doc.get("reporter") or {}).items()},
                  doc.get("room_title"), row.messages, row.conversation_sha256,
                  doc["conversation"])


def for_submit(session: Session, keyring: Keyring, handoff_id: str, browser: str | None, *,
               now: datetime) -> tuple[ReportHandoffRow, Loaded]:
    """The hand-off the wizard carries, checked again at "send": opened by this browser,
    not used, not expired."""
    row = session.get(ReportHandoffRow, handoff_id[:36])
    if row is None:
        raise HandoffGone(Gone.UNKNOWN)
    if row.used_at is not None:
        raise HandoffGone(Gone.USED)
    if not browser or row.browser_digest != token_digest(browser):
        raise HandoffGone(Gone.ELSEWHERE)
    if row.expires_at <= now or row.payload_enc is None:
        raise HandoffGone(Gone.EXPIRED)
    return row, _loaded(session, keyring, row)


def mark_used(session: Session, row: ReportHandoffRow, report_id: str, *, now: datetime,
              ip: str | None = None) -> None:
    """Single use: only one report gets the conversation (a concurrent second "send" finds
    it used and is refused); the sealed capture and prefill are wiped."""
    done = session.execute(
        update(ReportHandoffRow)
        .where(ReportHandoffRow.id == row.id, ReportHandoffRow.used_at.is_(None))
        .values(used_at=now, report_id=report_id, payload_enc=None)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise HandoffGone(Gone.USED)
    audit.append(session, AuditEvent("report_handoff.use", actor="reporter",
                                     object_type="report_handoff", object_id=row.id, ip=ip,
                                     detail={"report": report_id,
                                             "provider": row.provider_id}))


def purge(session: Session, now: datetime, *, provider_id: int | None = None) -> int:
    """Wipe the sealed payload of expired hand-offs and delete rows past `PURGE_AFTER`.
    Runs on each new hand-off of the provider (no separate job needed)."""
    scope = [] if provider_id is None else [ReportHandoffRow.provider_id == provider_id]
    session.execute(update(ReportHandoffRow)
                    .where(ReportHandoffRow.expires_at <= now,
                           ReportHandoffRow.payload_enc.is_not(None), *scope)
                    .values(payload_enc=None).execution_options(synchronize_session=False))
    gone = session.execute(delete(ReportHandoffRow)
                           .where(ReportHandoffRow.created_at <= now - PURGE_AFTER, *scope)
                           .execution_options(synchronize_session=False))
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]
