"""Report intake on the store: file a report, verify the reporter, add evidence, purge.

The pure decisions (questionnaire, identity, evidence checks, dedup keys, verification codes)
live in `childsafe.reports.core`; this module persists their results in one transaction and
queues the side effects (the verification mail) through the outbox.

Decisions taken here, in the reporter's interest:
- a report whose reporter gives an email waits for the email to be verified before it reaches
  officers, and is deleted after 72 hours if never verified;
- a report marked *immediate* (someone is in danger now) reaches officers at once, verified or
  not; the verification still runs so the officer knows whether the contact is confirmed;
- a phone-only report reaches officers flagged "contact not verified" (officers can call).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from childsafe.core.accounts import new_token, token_digest
from childsafe.core.audit import AuditEvent
from childsafe.core.cases import CaseSource
from childsafe.core.crypto import Keyring, open_sealed, seal, split_envelope
from childsafe.core.errors import DomainError, InvalidInput, NotFound
from childsafe.core.principal import ProviderPrincipal
from childsafe.ratelimit import RateLimiter
from childsafe.reports.core import verification
from childsafe.reports.core.engine import FlowResult
from childsafe.reports.core.evidence.conversation import Conversation
from childsafe.reports.core.evidence.dedup import DEDUP_WINDOW, SuspectRef, dedup_keys
from childsafe.reports.core.evidence.files import ReceivedFile
from childsafe.reports.core.evidence.text import PastedText
from childsafe.reports.core.identity import Reporter
from childsafe.store import agencies, audit, cases, outbox
from childsafe.store.models import AgencyRow, CaseRow
from childsafe.store.report_models import DedupKeyRow, EvidenceRow, ReportRow, ReportUpdateRow

MAX_EVIDENCE_ITEMS = 20


class ReportState(StrEnum):
    AWAITING_VERIFICATION = "awaiting_verification"
    WITH_OFFICERS = "with_officers"
    CLOSED = "closed"


class Channel(StrEnum):
    WEB = "web"
    API = "api"
    EMBED = "embed"


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
    title = "Too many reports"


@dataclass(frozen=True, slots=True)
class FileUpload:
    received: ReceivedFile
    data: bytes


EvidenceItem = PastedText | Conversation | FileUpload


@dataclass(frozen=True, slots=True)
class IntakeContext:
    """What intake needs besides the session; built once from settings."""

    keyring: Keyring
    verification_key: bytes
    base_url: str
    limiter: RateLimiter
    per_ip_per_hour: int = 20
    per_contact_per_day: int = 10
    evidence_per_report_per_day: int = 50


@dataclass(frozen=True, slots=True)
class Receipt:
    report_id: str
    reference: str
    status_token: str  # shown once; only its digest is stored
    state: ReportState
    immediate: bool
    agency_code: str
    needs_verification: bool
    duplicate_of: str | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status_path(self) -> str:
        return f"/report/status/{self.status_token}"


def _hmac(key: bytes, purpose: str, value: str) -> str:
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def contact_key(ctx: IntakeContext, reporter: Reporter) -> str:
    """A stable, keyed digest of the contact: rate limits and links without the address."""
    contact = (reporter.email or "").lower() or (reporter.phone or "")
    return _hmac(ctx.verification_key, "contact", contact)


def _check_limits(ctx: IntakeContext, ip: str | None, contact: str) -> None:
    if ip and not ctx.limiter.hit("report-ip:" + _hmac(ctx.verification_key, "ip", ip),
                                  limit=ctx.per_ip_per_hour, window_seconds=3600):
        raise RateLimited("Too many reports from this connection. Please try again in an "
                          "hour, or call the emergency number if someone is in danger now.")
    if not ctx.limiter.hit("report-contact:" + contact, limit=ctx.per_contact_per_day,
                           window_seconds=86400):
        raise RateLimited("Too many reports with these contact details today. If you need "
                          "to add something, use the status link of your earlier report.")


def _reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    body = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"R-{body[:4]}-{body[4:]}"


def _reporter_json(reporter: Reporter) -> bytes:
    return json.dumps({"name": reporter.name, "email": reporter.email, "phone": reporter.phone,
                       "country": reporter.country, "age_band": reporter.age_band.value,
                       "relationship": reporter.relationship.value}).encode()


def read_reporter(keyring: Keyring, report: ReportRow) -> dict[str, Any]:
    """Decrypt the reporter's identity (callers audit the access)."""
    return dict(json.loads(open_sealed(keyring, report.reporter_enc, f"report:{report.id}:reporter")))


def _store_evidence(session: Session, ctx: IntakeContext, report: ReportRow,
                    items: list[EvidenceItem], *, source: str, now: datetime) -> list[EvidenceRow]:
    rows = []
    for item in items:
        eid = str(uuid.uuid4())
        meta: dict[str, Any] = {}
        if isinstance(item, PastedText):
            data, kind, mime, name = item.data, "text", "text/plain; charset=utf-8", f"{eid}.txt"
            sha, md5, client = item.digests.sha256, item.digests.md5, None
        elif isinstance(item, Conversation):
            data, kind, mime = item.canonical_json(), "conversation", "application/json"
            name, client = f"{eid}.json", None
            sha = hashlib.sha256(data).hexdigest()
            md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            meta = {"platform": item.platform, "room_id": item.room_id,
                    "participants": len(item.participants), "messages": len(item.messages)}
        else:
            got = item.received
            data, kind, mime, name = item.data, "file", got.mime, got.server_name
            sha, md5, client = got.digests.sha256, got.digests.md5, got.client_name
            meta = {"file_kind": got.kind, "declared_type": got.declared_type,
                    "name_matches_type": got.name_matches_type}
        key_part, payload = split_envelope(seal(ctx.keyring, data, f"evidence:{eid}"))
        row = EvidenceRow(id=eid, report_id=report.id, kind=kind, mime=mime, size=len(data),
                          sha256=sha, md5=md5, server_name=name, client_name=client,
                          source=source, meta=meta, key_enc=key_part, blob_enc=payload,
                          received_at=now)
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def read_evidence(keyring: Keyring, row: EvidenceRow) -> bytes:
    """Decrypt and re-check the hash taken at receipt; a mismatch is an integrity failure."""
    data = open_sealed(keyring, row.key_enc + row.blob_enc, f"evidence:{row.id}")
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise InvalidInput(f"evidence {row.id} does not match the hash taken at receipt")
    return data


def _suspects(items: list[EvidenceItem], extra: list[SuspectRef]) -> list[SuspectRef]:
    found = list(extra)
    for item in items:
        if isinstance(item, Conversation):
            found += item.suspects()
    return found


def _find_duplicate(session: Session, keys: frozenset[str], now: datetime) -> ReportRow | None:
    if not keys:
        return None
    row = session.scalar(
        select(ReportRow).join(DedupKeyRow, DedupKeyRow.report_id == ReportRow.id)
        .where(DedupKeyRow.key.in_(sorted(keys)), DedupKeyRow.created_at >= now - DEDUP_WINDOW,
               ReportRow.duplicate_of.is_(None))
        .order_by(DedupKeyRow.created_at).limit(1))
    return row


def _deliver(session: Session, report: ReportRow, agency: AgencyRow, title: str,
             now: datetime) -> None:
    """Hand the report to officers: a new case, or the case of the report it duplicates."""
    report.state = ReportState.WITH_OFFICERS.value
    report.updated_at = now
    if report.duplicate_of:
        original = session.get(ReportRow, report.duplicate_of)
        if original is not None and original.case_id is not None:
            report.case_id = original.case_id
            case = session.get(CaseRow, original.case_id)
            if case is not None:
                case.updated_at = now
                if report.immediate:
                    case.priority = "P1"
            audit.append(session, AuditEvent("report.linked", actor="intake",
                                             agency=agency.code, object_type="report",
                                             object_id=report.id,
                                             detail={"case": original.case_id}))
            return
    case = cases.create_case(session, agency=agency, title=title, source=CaseSource.REPORT,
                             country=report.country,
                             priority="P1" if report.immediate else None, actor="intake")
    report.case_id = case.id
    session.add(ReportUpdateRow(report_id=report.id, kind="status", body="with_officers",
                                created_at=now))
