"""Deliveries of cases to an agency's own systems: a signed webhook or a CyberTipline export.

An agency may configure channels (`agency_channels`) besides its console queue. When intake
creates a case, `schedule_for_case` queues one outbox message per enabled channel, keyed
`case:<case id>:channel:<channel id>`, and records a `DeliveryRow` — in the intake
transaction, so nothing leaves for a report that rolled back. `childsafe worker` then runs
the channel's handler (one per kind, registered by topic `delivery.<kind>`), which:

1. reads the case *as it is at delivery time* (we queue ids, not documents), decrypting the
   reporter's identity and the conversation capture it needs — the reporter only for the
   agency that owns the case, which is always true of its own channels;
2. sends it (HTTP POST / atomic file write) — evidence as names, sizes and hashes, never bytes;
3. records the attempt on the `DeliveryRow` and in the audit log (`case.deliver`), in the
   transaction that claimed the outbox message.

Delivery is at least once: a worker killed between sending and committing sends again, with
the same delivery key, and receivers deduplicate on it. A failed attempt is retried with the
outbox's exponential backoff; after the last attempt the delivery is `failed`. Statuses:
`pending`, `delivered`, `failed`, `cancelled` (the channel was disabled before delivery).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe import __version__
from childsafe.core.audit import AuditEvent, Outcome
from childsafe.core.crypto import Keyring, open_sealed, seal
from childsafe.core.errors import InvalidInput, NotFound
from childsafe.reports.core import cybertip, webhooks
from childsafe.reports.core.casefile import (
    CaseFile,
    ConversationFacts,
    EvidenceFacts,
    ReportedUser,
    ReporterFacts,
    ReportFacts,
)
from childsafe.reports.core.evidence.dedup import normalize_identifier
from childsafe.store import agencies, audit, outbox
from childsafe.store.case_models import AgencyChannelRow, DeliveryRow
from childsafe.store.models import AgencyRow, CaseRow, utcnow
from childsafe.store.report_models import EvidenceRow, ReportRow

HttpClientFactory = Callable[[], httpx.Client]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class DeliveryFailed(Exception):
    """A delivery attempt that did not succeed; retried by the outbox."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def default_http_client() -> httpx.Client:
    """Bounded in every phase; no redirects (a 3xx is a failure to look at), no proxies
    from the environment (the agency's endpoint is configured, not discovered)."""
    return httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0), follow_redirects=False,
                        trust_env=False, headers={"User-Agent": f"childsafe/{__version__}"})


def delivery_key(case_id: str, channel_id: int) -> str:
    return f"case:{case_id}:channel:{channel_id}"


def _secret_aad(channel_id: int) -> str:
    return f"agency_channel:{channel_id}:secret"


# ---- channels (operator side) ---------------------------------------------------------------

def check_webhook_url(url: str) -> str:
    """https only, except plain http to this machine (labs and tests)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or len(url) > 500:
        raise InvalidInput("The webhook must be an absolute https:// URL (at most 500 "
                           "characters).", field="target")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise InvalidInput("Plain http is only allowed to this machine (127.0.0.1); use "
                           "https:// for anything else.", field="target")
    if parts.username or parts.password:
        raise InvalidInput("Put no credentials in the URL; deliveries are signed instead.",
                           field="target")
    return url


def check_export_dir(path: str) -> str:
    path = (path or "").strip()
    if not path or not os.path.isabs(path) or len(path) > 500:
        raise InvalidInput("The export directory must be an absolute path (at most 500 "
                           "characters).", field="target")
    return os.path.normpath(path)


def add_channel(session: Session, keyring: Keyring, agency_code: str, kind: str, target: str,
                *, actor: str = "cli") -> tuple[AgencyChannelRow, str | None]:
    """Add a channel; for a webhook also its signing secret, returned once (stored sealed)."""
    agency = agencies.get_by_code(session, agency_code)
    if kind == WebhookChannel.kind:
        target = check_webhook_url(target)
    elif kind == ExportChannel.kind:
        target = check_export_dir(target)
    else:
        raise InvalidInput(f"Unknown channel kind {kind!r}; choose from "
                           f"{', '.join(sorted(TOPICS))}.", field="kind")
    row = AgencyChannelRow(agency_id=agency.id, kind=kind, target=target, enabled=True,
                           created_at=utcnow())
    session.add(row)
    session.flush()
    secret = None
    if kind == WebhookChannel.kind:
        secret = webhooks.new_secret()
        row.secret_enc = seal(keyring, secret.encode(), _secret_aad(row.id))
    audit.append(session, AuditEvent("channel.create", actor=actor, agency=agency.code,
                                     object_type="agency_channel", object_id=str(row.id),
                                     detail={"kind": kind, "target": target}))
    return row, secret


def channel_secret(keyring: Keyring, row: AgencyChannelRow) -> str:
    if row.secret_enc is None:
        raise InvalidInput(f"channel {row.id} has no signing secret")
    return open_sealed(keyring, row.secret_enc, _secret_aad(row.id)).decode()


def list_channels(session: Session, agency_code: str | None = None
                  ) -> list[tuple[AgencyChannelRow, str]]:
    """(channel, agency code) pairs, by agency then id."""
    query = (select(AgencyChannelRow, AgencyRow.code)
             .join(AgencyRow, AgencyRow.id == AgencyChannelRow.agency_id)
             .order_by(AgencyRow.code, AgencyChannelRow.id))
    if agency_code:
        query = query.where(AgencyRow.code == agency_code)
    return [(row, code) for row, code in session.execute(query)]


def set_channel_enabled(session: Session, channel_id: int, enabled: bool, *,
                        actor: str = "cli") -> AgencyChannelRow:
    """Disabling stops new deliveries; queued ones are cancelled when their turn comes."""
    row = session.get(AgencyChannelRow, channel_id)
    if row is None:
        raise NotFound(f"No channel {channel_id}.")
    row.enabled = enabled
    agency = session.get(AgencyRow, row.agency_id)
    audit.append(session, AuditEvent("channel.enable" if enabled else "channel.disable",
                                     actor=actor, agency=agency.code if agency else None,
                                     object_type="agency_channel", object_id=str(row.id)))
    return row


# ---- scheduling (intake side) ---------------------------------------------------------------

def schedule_for_case(session: Session, case: CaseRow, now: datetime) -> list[DeliveryRow]:
    """Queue the case to every enabled channel of its agency, in the caller's transaction.

    Idempotent: a channel already scheduled for the case is skipped. Only ids travel in the
    outbox payload; the handler reads the case when it delivers."""
    rows = []
    channels = session.scalars(select(AgencyChannelRow).where(
        AgencyChannelRow.agency_id == case.agency_id, AgencyChannelRow.enabled.is_(True))
        .order_by(AgencyChannelRow.id))
    for channel in channels:
        topic = TOPICS.get(channel.kind)
        if topic is None:
            continue  # a kind this version does not know: left for a newer worker to add
        key = delivery_key(case.id, channel.id)
        if not outbox.enqueue(session, topic, {"case_id": case.id, "channel_id": channel.id},
                              key):
            continue
        row = DeliveryRow(case_id=case.id, channel_id=channel.id, kind=channel.kind,
                          idempotency_key=key, status="pending", attempts=0, created_at=now)
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def deliveries_for_case(session: Session, case_id: str) -> list[DeliveryRow]:
    """The delivery log of a case (callers check the case is visible first)."""
    return list(session.scalars(select(DeliveryRow).where(DeliveryRow.case_id == case_id)
                                .order_by(DeliveryRow.id)))


# ---- gathering the case ---------------------------------------------------------------------

def _answers(report: ReportRow) -> dict[str, Any]:
    return dict((report.flow_result or {}).get("answers") or {})


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _conversation(keyring: Keyring, row: EvidenceRow
                  ) -> tuple[ConversationFacts, list[ReportedUser]]:
    from childsafe.reports.intake import read_evidence  # intake imports this module

    doc = json.loads(read_evidence(keyring, row))
    platform, room = str(doc.get("platform", "")), str(doc.get("room_id", ""))
    people = [p for p in doc.get("participants", []) if isinstance(p, list) and len(p) == 4]
    times = sorted(datetime.fromisoformat(m[2]) for m in doc.get("messages", [])
                   if isinstance(m, list) and len(m) == 4)
    reported = [ReportedUser(platform, str(p[0]), p[1] if isinstance(p[1], str) else None,
                             p[2] if isinstance(p[2], int) else None, "conversation")
                for p in people if p[3] == "reported"]
    facts = ConversationFacts(row.id, platform, room, len(people),
                              len(doc.get("messages", [])), times[0] if times else None,
                              times[-1] if times else None)
    return facts, reported


def _report_facts(session: Session, keyring: Keyring, report: ReportRow) -> ReportFacts:
    from childsafe.reports.intake import read_reporter  # intake imports this module

    identity = read_reporter(keyring, report)
    reporter = ReporterFacts(str(identity.get("name", "")), identity.get("email"),
                             identity.get("phone"), str(identity.get("country", "")),
                             str(identity.get("age_band", "")),
                             str(identity.get("relationship", "")))
    evidence = list(session.scalars(select(EvidenceRow).where(EvidenceRow.report_id == report.id)
                                    .order_by(EvidenceRow.received_at, EvidenceRow.id)))
    conversations: list[ConversationFacts] = []
    reported: list[ReportedUser] = []
    for row in evidence:
        if row.kind == "conversation":
            facts, users = _conversation(keyring, row)
            conversations.append(facts)
            reported += users
    answers = _answers(report)
    named, platform = _text(answers.get("suspect")), _text(answers.get("platform"))
    if named and normalize_identifier(named) not in {normalize_identifier(u.identifier)
                                                     for u in reported}:
        reported.append(ReportedUser(platform or "", named, None, None, "reporter"))
    ages = [int(r.meta["reporter_declared_age"]) for r in evidence
            if isinstance(r.meta, dict) and isinstance(r.meta.get("reporter_declared_age"), int)]
    return ReportFacts(
        id=report.id, reference=report.reference, received_at=report.created_at,
        category=report.category, immediate=report.immediate, channel=report.channel,
        country=report.country, language=report.language, platform=platform,
        incident_when=_text(answers.get("when")), seen_where=_text(answers.get("seen_where")),
        reporter=reporter, victim_age=min(ages) if ages else None,
        victim_age_band=reporter.age_band if reporter.relationship == "self" else None,
        conversations=tuple(conversations), reported_users=tuple(reported),
        evidence=tuple(EvidenceFacts(r.id, r.kind, r.server_name, r.mime, r.size, r.sha256,
                                     r.md5, r.received_at, r.source) for r in evidence))


def case_file(session: Session, keyring: Keyring, case: CaseRow) -> CaseFile:
    """Everything a channel may send about a case. Decrypts the reporter and the captured
    conversations (re-checking evidence hashes); the caller audits what it sends."""
    agency = session.get(AgencyRow, case.agency_id)
    assert agency is not None
    reports = session.scalars(select(ReportRow).where(ReportRow.case_id == case.id)
                              .order_by(ReportRow.created_at, ReportRow.id))
    triage = case.triage or {}
    return CaseFile(case_id=case.id, reference=case.reference, agency_code=agency.code,
                    agency_name=agency.name, title=case.title, status=case.status,
                    priority=case.priority,
                    priority_reasons=tuple(str(r) for r in triage.get("reasons", [])),
                    country=case.country, created_at=case.created_at,
                    reports=tuple(_report_facts(session, keyring, r) for r in reports))


# ---- handlers (worker side) -----------------------------------------------------------------

class _ChannelHandler:
    """Shared by every channel kind: load, send, record. Subclasses implement `send`.

    Runs in the transaction that claimed the outbox message (the worker's store-handler
    capability); `send` is the only step with effects outside the store."""

    name = "delivery.base"
    kind = "base"

    def __init__(self, keyring: Keyring, now: Callable[[], datetime] = utcnow) -> None:
        self.keyring = keyring
        self.now = now

    def send(self, channel: AgencyChannelRow, file: CaseFile, *, owner: bool,
             key: str) -> int | None:
        raise NotImplementedError

    def handle(self, payload: dict[str, Any], idempotency_key: str) -> None:
        raise RuntimeError(f"{self.name} needs the store: run it through drain_once")

    def handle_in(self, session: Session, payload: dict[str, Any], idempotency_key: str) -> None:
        delivery = session.scalar(select(DeliveryRow).where(
            DeliveryRow.idempotency_key == idempotency_key))
        if delivery is None or delivery.channel_id is None:
            return  # the case was purged since: nothing left to deliver
        channel = session.get(AgencyChannelRow, delivery.channel_id)
        case = session.get(CaseRow, delivery.case_id)
        if channel is None or case is None:
            return
        if not channel.enabled:
            delivery.status = "cancelled"
            return
        owner = channel.agency_id == case.agency_id
        status = self.send(channel, case_file(session, self.keyring, case), owner=owner,
                           key=idempotency_key)
        delivery.status, delivery.delivered_at = "delivered", self.now()
        delivery.attempts += 1
        delivery.last_status_code = status
        self._audit(session, case, channel, Outcome.SUCCESS, {"status_code": status})

    def on_failure(self, session: Session, idempotency_key: str, error: Exception, *,
                   gave_up: bool) -> None:
        delivery = session.scalar(select(DeliveryRow).where(
            DeliveryRow.idempotency_key == idempotency_key))
        if delivery is None:
            return
        delivery.attempts += 1
        delivery.last_status_code = getattr(error, "status_code", None)
        if gave_up:
            delivery.status = "failed"
        case = session.get(CaseRow, delivery.case_id)
        channel = session.get(AgencyChannelRow, delivery.channel_id) \
            if delivery.channel_id is not None else None
        if case is not None and channel is not None:
            self._audit(session, case, channel, Outcome.FAILURE,
                        {"status_code": delivery.last_status_code, "gave_up": gave_up,
                         "error": f"{type(error).__name__}: {error}"[:300]})

    def _audit(self, session: Session, case: CaseRow, channel: AgencyChannelRow,
               outcome: Outcome, detail: dict[str, Any]) -> None:
        agency = session.get(AgencyRow, case.agency_id)
        audit.append(session, AuditEvent(
            "case.deliver", outcome=outcome, actor="worker",
            agency=agency.code if agency else None, object_type="case", object_id=case.id,
            detail={"channel": channel.id, "kind": channel.kind, **detail}))


class WebhookChannel(_ChannelHandler):
    """POST the case as signed JSON (see `childsafe.reports.core.webhooks`)."""

    name = "delivery.webhook"
    kind = "webhook"

    def __init__(self, keyring: Keyring, http: HttpClientFactory = default_http_client,
                 now: Callable[[], datetime] = utcnow) -> None:
        super().__init__(keyring, now)
        self.http = http

    def body(self, file: CaseFile, *, owner: bool, key: str) -> bytes:
        doc = {"type": "case.delivery", "delivery": key,
               **file.to_json(include_reporter=owner)}
        return json.dumps(doc, ensure_ascii=False, sort_keys=True,
                          separators=(",", ":")).encode()

    def send(self, channel: AgencyChannelRow, file: CaseFile, *, owner: bool,
             key: str) -> int | None:
        body = self.body(file, owner=owner, key=key)
        headers = {"Content-Type": "application/json",
                   **webhooks.signed_headers(channel_secret(self.keyring, channel), body, key,
                                             self.now())}
        try:
            with self.http() as client:
                response = client.post(channel.target, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__} posting to channel {channel.id}") \
                from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"channel {channel.id} answered HTTP {response.status_code}",
                                 response.status_code)
        return response.status_code


def export_file_name(file: CaseFile) -> str:
    return f"childsafe-{file.reference}.xml"


def write_atomically(directory: Path, name: str, data: bytes) -> Path:
    """Readers of the directory see the old file or the whole new one, never a part:
    written to a hidden temporary file, synced, then renamed over (mode 0600)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        final = directory / name
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return final


class ExportChannel(_ChannelHandler):
    """Write the case as CyberTipline-compatible XML into the channel's directory; a
    redelivery replaces the file with the same name."""

    name = "delivery.export"
    kind = "export"

    def send(self, channel: AgencyChannelRow, file: CaseFile, *, owner: bool,
             key: str) -> int | None:
        try:
            write_atomically(Path(channel.target), export_file_name(file),
                             cybertip.to_xml(file, include_reporter=owner))
        except OSError as exc:
            raise DeliveryFailed(f"cannot write the export for channel {channel.id}: "
                                 f"{exc.strerror}") from exc
        return None


# The one manifest of channel kinds: topics, CLI choices and handlers derive from it.
CHANNEL_TYPES: tuple[type[_ChannelHandler], ...] = (WebhookChannel, ExportChannel)
TOPICS: dict[str, str] = {t.kind: t.name for t in CHANNEL_TYPES}


def delivery_handlers(keyring: Keyring, *, http: HttpClientFactory = default_http_client,
                      now: Callable[[], datetime] = utcnow) -> list[_ChannelHandler]:
    return [WebhookChannel(keyring, http, now), ExportChannel(keyring, now)]
