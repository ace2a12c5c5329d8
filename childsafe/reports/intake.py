"""Report intake on the store: file a report, verify the reporter, add evidence, purge.

The pure decisions (questionnaire, identity, evidence checks, dedup keys, verification codes)
live in `childsafe.reports.core`; this module persists their results in one transaction and
queues the side effects (the verification mail) through the outbox.

Filing is two steps, so that the transaction only writes: `prepare_report` does everything
that needs no store (limits, routing from the per-process table, encryption, hashes, keys,
the sealed mail) and `write_reports` stores one or many prepared reports with one statement
per table. `submit_report` is both in the caller's transaction; the provider API hands
prepared reports to a group-commit writer (`childsafe.store.group_commit`), which writes the
reports that arrive together in one transaction.

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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached

from childsafe.core.accounts import new_token, token_digest
from childsafe.core.agencies import Jurisdiction
from childsafe.core.audit import AuditEvent
from childsafe.core.cases import CaseSource
from childsafe.core.crypto import Keyring, open_sealed, seal, split_envelope
from childsafe.core.errors import DomainError, InvalidInput, NotFound
from childsafe.core.principal import ProviderPrincipal
from childsafe.ratelimit import RateLimiter, first_refused
from childsafe.reports import deliveries, triage_store
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


def _limits(ctx: IntakeContext, ip: str | None, contact: str
            ) -> list[tuple[str, int, int, str]]:
    """The abuse limits a new report counts against: (key, limit, window, refusal), in order."""
    limits = []
    if ip:
        limits.append((
            "report-ip:" + _hmac(ctx.verification_key, "ip", ip), ctx.per_ip_per_hour, 3600,
            "Too many reports from this connection. Please try again in an hour, or call the "
            "emergency number if someone is in danger now."))
    limits.append((
        "report-contact:" + contact, ctx.per_contact_per_day, 86400,
        "Too many reports with these contact details today. If you need to add something, "
        "use the status link of your earlier report."))
    return limits


def _check_limits(ctx: IntakeContext, ip: str | None, contact: str) -> None:
    for key, limit, window, refusal in _limits(ctx, ip, contact):
        if not ctx.limiter.hit(key, limit=limit, window_seconds=window):
            raise RateLimited(refusal)


async def check_limits(ctx: IntakeContext, ip: str | None, reporter: Reporter) -> None:
    """The abuse limits of `prepare_report`, for a coroutine (the event loop is not blocked
    on a shared limiter); then call `prepare_report(..., limits_checked=True)`."""
    limits = _limits(ctx, ip, contact_key(ctx, reporter))
    refused = await first_refused(ctx.limiter, [(key, n, window) for key, n, window, _ in limits])
    if refused is not None:
        raise RateLimited(limits[refused][3])


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
    rows = [EvidenceRow(**values)
            for values in _evidence_values(ctx, report.id, items, source=source, now=now)]
    session.add_all(rows)
    session.flush()
    return rows


def _evidence_values(ctx: IntakeContext, report_id: str, items: list[EvidenceItem], *,
                     source: str, now: datetime) -> list[dict[str, Any]]:
    """Hash and encrypt each item into the values of a new evidence row."""
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
            ages = [p.declared_age for p in item.participants
                    if p.role.value == "reporter" and p.declared_age is not None]
            meta = {"platform": item.platform, "room_id": item.room_id,
                    "participants": len(item.participants), "messages": len(item.messages),
                    "reporter_declared_age": min(ages) if ages else None}
        else:
            got = item.received
            data, kind, mime, name = item.data, "file", got.mime, got.server_name
            sha, md5, client = got.digests.sha256, got.digests.md5, got.client_name
            meta = {"file_kind": got.kind, "declared_type": got.declared_type,
                    "name_matches_type": got.name_matches_type}
        key_part, payload = split_envelope(seal(ctx.keyring, data, f"evidence:{eid}"))
        rows.append({"id": eid, "report_id": report_id, "kind": kind, "mime": mime,
                     "size": len(data), "sha256": sha, "md5": md5, "server_name": name,
                     "client_name": client, "source": source, "meta": meta,
                     "key_enc": key_part, "blob_enc": payload, "received_at": now})
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


def _deliver(session: Session, keyring: Keyring, report: ReportRow, agency: AgencyRow,
             title: str, now: datetime) -> None:
    """Hand the report to officers: a new case, or the case of the report it duplicates;
    then triage it (priority, reasons, SLA clock)."""
    report.state = ReportState.WITH_OFFICERS.value
    report.updated_at = now
    if report.duplicate_of:
        original = session.get(ReportRow, report.duplicate_of)
        if original is not None and original.case_id is not None:
            report.case_id = original.case_id
            case = session.get(CaseRow, original.case_id)
            audit.append(session, AuditEvent("report.linked", actor="intake",
                                             agency=agency.code, object_type="report",
                                             object_id=report.id,
                                             detail={"case": original.case_id}))
            if case is not None:
                case.updated_at = now
                triage_store.triage_case(session, keyring, report, case, now)
            return
    case = cases.create_case(session, agency=agency, title=title, source=CaseSource.REPORT,
                             country=report.country,
                             priority="P1" if report.immediate else None, actor="intake",
                             now=now)
    report.case_id = case.id
    session.add(ReportUpdateRow(report_id=report.id, kind="status", body="with_officers",
                                created_at=now))
    triage_store.triage_case(session, keyring, report, case, now)
    deliveries.schedule_for_case(session, case, now)


CATEGORY_LABELS = {
    "grooming": "Online enticement / grooming",
    "image_request": "Request for sexual images",
    "sextortion": "Threats over an image (sextortion)",
    "meeting_pressure": "Pressure to meet",
    "sexual_talk": "Sexual talk to a child",
    "unsolicited_material": "Unsolicited sexual material sent to a child",
    "indecent_images_seen": "Indecent images of a child seen",
}

_MAIL = {
    "en": ("Confirm your report {reference}",
           "Thank you for your report {reference}.\n\nTo send it to a child-protection officer, "
           "confirm your email address: open\n{link}\nor type this code on the report page: "
           "{code}\n\nThe code works for 24 hours. If you do not confirm within 72 hours, the "
           "report is deleted. We ask for your details so officers can reach you and to stop "
           "false reports.\nIf you did not make this report, ignore this message.\n"
           "If someone is in danger now, call {emergency}."),
    "fr": ("Confirmez votre signalement {reference}",
           "Merci pour votre signalement {reference}.\n\nPour l'envoyer à un officier de "
           "protection de l'enfance, confirmez votre adresse e-mail : ouvrez\n{link}\nou tapez "
           "ce code sur la page du signalement : {code}\n\nLe code est valable 24 heures. Sans "
           "confirmation sous 72 heures, le signalement est supprimé.\nSi vous n'avez pas fait "
           "ce signalement, ignorez ce message.\nSi quelqu'un est en danger maintenant, appelez "
           "le {emergency}."),
}


def send_verification(session: Session, ctx: IntakeContext, report: ReportRow,
                      reporter: Reporter, emergency: str, now: datetime) -> None:
    """Issue a fresh code and link (resetting attempts; the 72 h deadline stays) and mail
    them sealed through the outbox."""
    secrets_, record = verification.issue(now, ctx.verification_key,
                                          report_created_at=report.created_at)
    report.ver_salt, report.ver_code_hash = record.salt, record.code_hash
    report.ver_link_hash, report.ver_code_expires_at = record.link_hash, record.code_expires_at
    report.ver_attempts = 0
    if report.state == ReportState.AWAITING_VERIFICATION.value:
        report.expires_at = record.report_expires_at
    # The payload holds a live code: sealed at rest, opened only by the worker that sends it.
    outbox.enqueue(session, "mail.send",
                   _mail_payload(ctx, report.id, report.reference, report.language,
                                 reporter.email or "", secrets_, emergency),
                   f"report:{report.id}:verify:{record.salt[:16]}", keyring=ctx.keyring)


@dataclass(slots=True)
class PreparedReport:
    """A report made ready outside any transaction: checked, rate-limited, routed, encrypted
    and hashed. Only what depends on other reports (duplicate links) is left to the write."""

    report: dict[str, Any]  # the reports row; `duplicate_of` is filled in by the write
    evidence: list[dict[str, Any]]
    dedup_keys: frozenset[str]
    suspect_keys: list[str]
    mail: tuple[dict[str, Any], str] | None  # sealed outbox payload and its idempotency key
    event: AuditEvent  # `report.receive`; its `duplicate_of` detail is filled in by the write
    status_token: str
    agency_code: str
    awaiting: bool
    keyring: Keyring  # triage of a report handed to officers reads the reporter's age band

    @property
    def id(self) -> str:
        return str(self.report["id"])


def prepare_report(ctx: IntakeContext, routes: Mapping[str, tuple[Jurisdiction, int]], *,
                   result: FlowResult, reporter: Reporter, evidence: list[EvidenceItem],
                   channel: Channel, now: datetime, provider: ProviderPrincipal | None = None,
                   ip: str | None = None, suspects: list[SuspectRef] | None = None,
                   limits_checked: bool = False) -> PreparedReport:
    """Everything `submit_report` decides before it touches the store (no I/O but the rate
    limiter, unless the caller ran `check_limits`): `routes` is the routing table
    (`agencies.routes`).

    Raises InvalidInput for an out-of-scope result or too much evidence, RateLimited when the
    button is being abused."""
    if not result.classification.in_scope:
        raise InvalidInput("This questionnaire result is out of scope: show the signposts "
                           "instead of filing a report.", field="answers")
    if len(evidence) > MAX_EVIDENCE_ITEMS:
        raise InvalidInput(f"At most {MAX_EVIDENCE_ITEMS} evidence items per report.",
                           field="evidence")
    contact = contact_key(ctx, reporter)
    if not limits_checked:
        _check_limits(ctx, ip, contact)
    immediate = result.classification.immediate
    report_id = str(uuid.uuid4())
    token = new_token()
    awaiting = bool(reporter.email) and not immediate
    jurisdiction, agency_id = agencies.route_in(routes, result.country or reporter.country)
    rows = _evidence_values(ctx, report_id, evidence,
                            source="provider" if provider else "reporter", now=now)
    found = _suspects(evidence, suspects or [])
    reference = _reference()
    values: dict[str, Any] = {
        "id": report_id, "reference": reference,
        "state": (ReportState.AWAITING_VERIFICATION if awaiting
                  else ReportState.WITH_OFFICERS).value,
        "agency_id": agency_id, "case_id": None, "duplicate_of": None, "immediate": immediate,
        "category": result.classification.category.value, "country": jurisdiction.country,
        "language": result.language,
        "audience": result.audience.value if result.audience else None,
        "flow_id": result.flow_id, "flow_version": result.flow_version,
        "flow_result": result.to_dict(), "channel": channel.value,
        "provider_id": provider.provider_id if provider else None,
        "reporter_enc": seal(ctx.keyring, _reporter_json(reporter),
                             f"report:{report_id}:reporter"),
        "contact_key": contact, "has_email": bool(reporter.email),
        "status_token_digest": token_digest(token), "ver_salt": None, "ver_code_hash": None,
        "ver_link_hash": None, "ver_code_expires_at": None, "ver_attempts": 0,
        "verified_at": None, "expires_at": None, "created_at": now, "updated_at": now}
    mail = None
    if reporter.email:
        mail = _verification_mail(ctx, values, reporter, jurisdiction.emergency_number, now)
    return PreparedReport(
        values, rows, dedup_keys([r["sha256"] for r in rows], found),
        sorted(triage_store.suspect_keys(
            ctx.verification_key, found + triage_store.suspects_from_answers(result.answers))),
        mail,
        AuditEvent("report.receive", actor=provider.name if provider else "reporter",
                   agency=jurisdiction.agency_code, object_type="report", object_id=report_id,
                   detail={"channel": channel.value, "evidence": len(rows),
                           "immediate": immediate, "category": values["category"],
                           "duplicate_of": None}),
        token, jurisdiction.agency_code, awaiting, ctx.keyring)


def _verification_mail(ctx: IntakeContext, report: dict[str, Any], reporter: Reporter,
                       emergency: str, now: datetime) -> tuple[dict[str, Any], str]:
    """Issue the first code and link into the new row's values; the sealed mail to queue."""
    secrets_, record = verification.issue(now, ctx.verification_key,
                                          report_created_at=report["created_at"])
    report.update(ver_salt=record.salt, ver_code_hash=record.code_hash,
                  ver_link_hash=record.link_hash, ver_code_expires_at=record.code_expires_at,
                  ver_attempts=0)
    if report["state"] == ReportState.AWAITING_VERIFICATION.value:
        report["expires_at"] = record.report_expires_at
    key = f"report:{report['id']}:verify:{record.salt[:16]}"
    return outbox.seal_payload(ctx.keyring, "mail.send", _mail_payload(
        ctx, report["id"], report["reference"], report["language"], reporter.email or "",
        secrets_, emergency), key), key


def _mail_payload(ctx: IntakeContext, report_id: str, reference: str, language: str,
                  to: str, secrets_: verification.VerificationSecrets,
                  emergency: str) -> dict[str, Any]:
    subject, body = _MAIL.get(language, _MAIL["en"])
    link = f"{ctx.base_url.rstrip('/')}/report/verify/{report_id}/{secrets_.link_token}"
    values = {"reference": reference, "link": link, "code": secrets_.code,
              "emergency": emergency or "112"}
    return {"to": to, "subject": subject.format(**values), "body": body.format(**values)}


_DUPLICATES = (select(DedupKeyRow.key, DedupKeyRow.report_id, DedupKeyRow.created_at,
                      ReportRow.agency_id)
               .join(ReportRow, ReportRow.id == DedupKeyRow.report_id)
               .where(DedupKeyRow.key.in_(bindparam("keys", expanding=True)),
                      DedupKeyRow.created_at >= bindparam("since"),
                      ReportRow.duplicate_of.is_(None)))
_REPORTS = cast(Table, ReportRow.__table__)
_EVIDENCE = cast(Table, EvidenceRow.__table__)
_DEDUP = cast(Table, DedupKeyRow.__table__)


def _link_duplicates(session: Session, plans: list[PreparedReport]) -> None:
    """Set `duplicate_of`: the earliest original report within the window sharing a key,
    stored before or earlier in the same batch. One query for the whole batch.

    Only a report routed to the same agency is an original: a duplicate joins the original's
    case, so linking across agencies would hand one agency's reporter (and report) to another
    agency's case. Across agencies the suspect match is what pooling shows, by count only."""
    keyed = [p for p in plans if p.dedup_keys]
    if not keyed:
        return
    since = min(p.report["created_at"] for p in keyed) - DEDUP_WINDOW
    seen: dict[str, list[tuple[datetime, str, int]]] = {}
    for key, report_id, created_at, agency_id in session.execute(
            _DUPLICATES, {"keys": sorted(set().union(*(p.dedup_keys for p in keyed))),
                          "since": since}):
        seen.setdefault(key, []).append((created_at, report_id, agency_id))
    for plan in keyed:
        start = plan.report["created_at"] - DEDUP_WINDOW
        agency = plan.report["agency_id"]
        found = [hit for key in plan.dedup_keys for hit in seen.get(key, ())
                 if hit[0] >= start and hit[2] == agency]
        if found:
            original = min(found)[1]
            plan.report["duplicate_of"] = original
            plan.event = replace(plan.event, detail={**plan.event.detail,
                                                     "duplicate_of": original})
        else:  # an original: later reports of the batch may link to it
            for key in plan.dedup_keys:
                seen.setdefault(key, []).append((plan.report["created_at"], plan.id, agency))


def write_reports(session: Session, plans: list[PreparedReport]) -> list[Receipt]:
    """Store prepared reports in the caller's transaction, a statement per table for all of
    them (SQLAlchemy Core, executemany); hand those not waiting for verification to officers;
    append their audit entries last, together, so the chain is held as briefly as possible.
    """
    if not plans:
        return []
    _link_duplicates(session, plans)
    with audit.deferred(session):
        session.execute(insert(_REPORTS), [p.report for p in plans])
        evidence = [e for p in plans for e in p.evidence]
        if evidence:
            session.execute(insert(_EVIDENCE), evidence)
        dedup = [{"key": k, "report_id": p.id, "created_at": p.report["created_at"]}
                 for p in plans for k in sorted(p.dedup_keys)]
        if dedup:
            session.execute(insert(_DEDUP), dedup)
        triage_store.insert_suspects(session, [
            {"key": k, "report_id": p.id, "agency_id": p.report["agency_id"],
             "created_at": p.report["created_at"]} for p in plans for k in p.suspect_keys])
        outbox.enqueue_sealed(session, "mail.send", [p.mail for p in plans if p.mail])
        for plan in plans:
            audit.append(session, plan.event)
            if not plan.awaiting:
                report = ReportRow(**plan.report)
                make_transient_to_detached(report)
                session.add(report)
                agency = session.get(AgencyRow, report.agency_id)
                assert agency is not None
                _deliver(session, plan.keyring, report, agency, _case_title(report),
                         report.created_at)
        session.flush()
    return [Receipt(p.id, p.report["reference"], p.status_token, ReportState(p.report["state"]),
                    bool(p.report["immediate"]), p.agency_code, p.awaiting,
                    p.report["duplicate_of"],
                    [{"id": e["id"], "kind": e["kind"], "sha256": e["sha256"], "md5": e["md5"],
                      "size": e["size"]} for e in p.evidence]) for p in plans]


def submit_report(session: Session, ctx: IntakeContext, *, result: FlowResult,
                  reporter: Reporter, evidence: list[EvidenceItem], channel: Channel,
                  now: datetime, provider: ProviderPrincipal | None = None,
                  ip: str | None = None, suspects: list[SuspectRef] | None = None) -> Receipt:
    """Persist a finished, in-scope report with its evidence, in the caller's transaction.

    Raises InvalidInput for an out-of-scope result or too much evidence, RateLimited when the
    button is being abused. Nothing is written unless everything is accepted.
    """
    plan = prepare_report(ctx, agencies.routes(session), result=result, reporter=reporter,
                          evidence=evidence, channel=channel, now=now, provider=provider,
                          ip=ip, suspects=suspects)
    return write_reports(session, [plan])[0]


def _case_title(report: ReportRow) -> str:
    label = CATEGORY_LABELS.get(report.category, report.category.replace("_", " "))
    return f"{label} — reported from {report.country}"


def _record(report: ReportRow) -> verification.VerificationRecord:
    if report.ver_salt is None or report.ver_code_hash is None or report.ver_link_hash is None \
            or report.ver_code_expires_at is None:
        raise InvalidInput("This report has no email address to confirm.", field="code")
    return verification.VerificationRecord(
        salt=report.ver_salt, code_hash=report.ver_code_hash, link_hash=report.ver_link_hash,
        created_at=report.created_at, code_expires_at=report.ver_code_expires_at,
        report_expires_at=report.expires_at or report.created_at + verification.REPORT_TTL,
        attempts=report.ver_attempts, verified_at=report.verified_at)


def report_by_status_token(session: Session, token: str) -> ReportRow:
    if not token or len(token) > 100:
        raise NotFound("No report with that link.")
    report = session.scalar(select(ReportRow).where(
        ReportRow.status_token_digest == token_digest(token)))
    if report is None:
        raise NotFound("No report with that link. It may have expired.")
    return report


def _apply_check(session: Session, keyring: Keyring, report: ReportRow,
                 outcome: tuple[verification.CheckResult, verification.VerificationRecord],
                 now: datetime) -> verification.CheckResult:
    result, record = outcome
    report.ver_attempts, report.verified_at = record.attempts, record.verified_at
    if result is verification.CheckResult.VERIFIED and report.state == \
            ReportState.AWAITING_VERIFICATION.value:
        report.expires_at = None
        agency = session.get(AgencyRow, report.agency_id)
        assert agency is not None
        audit.append(session, AuditEvent("report.verified", actor="reporter", agency=agency.code,
                                         object_type="report", object_id=report.id))
        _deliver(session, keyring, report, agency, _case_title(report), now)
    return result


def verify_with_code(session: Session, ctx: IntakeContext, status_token: str, code: str,
                     now: datetime) -> verification.CheckResult:
    """Check a typed code; always persists the attempt (the caller commits, then reports)."""
    report = report_by_status_token(session, status_token)
    return _apply_check(session, ctx.keyring, report,
                        verification.check_code(_record(report), code, now, ctx.verification_key),
                        now)


def verify_with_link(session: Session, ctx: IntakeContext, report_id: str, token: str,
                     now: datetime) -> verification.CheckResult:
    report = session.get(ReportRow, report_id[:36])
    if report is None:
        raise NotFound("This link is not valid or the report has expired.")
    return _apply_check(session, ctx.keyring, report,
                        verification.check_link(_record(report), token[:200], now,
                                                ctx.verification_key), now)


def add_evidence(session: Session, ctx: IntakeContext, report: ReportRow,
                 items: list[EvidenceItem], *, now: datetime, source: str) -> list[EvidenceRow]:
    """Append evidence to an existing report (never replacing any); audited."""
    if not items:
        raise InvalidInput("Add at least one item.", field="evidence")
    if report.state == ReportState.CLOSED.value:
        raise InvalidInput("This report is closed; please make a new report.")
    count = session.scalar(select(func.count()).select_from(EvidenceRow)
                           .where(EvidenceRow.report_id == report.id)) or 0
    if count + len(items) > MAX_EVIDENCE_ITEMS * 3:
        raise InvalidInput("This report already holds the most evidence it can.",
                           field="evidence")
    if not ctx.limiter.hit(f"evidence:{report.id}", limit=ctx.evidence_per_report_per_day,
                           window_seconds=86400):
        raise RateLimited("Too much evidence added to this report today; try again tomorrow.")
    rows = _store_evidence(session, ctx, report, items, source=source, now=now)
    agency = session.get(AgencyRow, report.agency_id)
    audit.append(session, AuditEvent("evidence.add", actor=source,
                                     agency=agency.code if agency else None,
                                     object_type="report", object_id=report.id,
                                     detail={"items": [r.id for r in rows]}))
    report.updated_at = now
    return rows


def add_reporter_note(session: Session, report: ReportRow, text: str, now: datetime) -> None:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Write something to add.", field="note")
    if len(text.encode()) > 10_000:
        raise InvalidInput("Notes may be at most 10,000 bytes.", field="note")
    session.add(ReportUpdateRow(report_id=report.id, kind="reporter_note", body=text,
                                created_at=now))
    report.updated_at = now


def purge_unverified(session: Session, now: datetime) -> int:
    """Delete reports whose reporter never confirmed within 72 hours (with their evidence)."""
    ids = list(session.scalars(select(ReportRow.id).where(
        ReportRow.state == ReportState.AWAITING_VERIFICATION.value, ReportRow.expires_at <= now)))
    if ids:
        session.execute(delete(DedupKeyRow).where(DedupKeyRow.report_id.in_(ids)))
        session.execute(delete(ReportUpdateRow).where(ReportUpdateRow.report_id.in_(ids)))
        session.execute(delete(EvidenceRow).where(EvidenceRow.report_id.in_(ids)))
        session.execute(delete(ReportRow).where(ReportRow.id.in_(ids)))
        audit.append(session, AuditEvent("report.purge_unverified", actor="worker",
                                         detail={"count": len(ids)}))
    return len(ids)
