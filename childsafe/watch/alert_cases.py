"""Open a case from an alert, with the conversation as evidence, through the report machinery.

The case gets one report (channel `watch`, category grooming, the officer as the one who
filed it, the room's provider as its source so a preservation request can reach it) and one
evidence item: the conversation transcript as a structured capture in the format chat
clients post (`platform`, `room_id`, `participants`, `messages`), each message carrying the
SHA-256 taken when it was ingested. Like all evidence it is hashed (SHA-256, MD5) when
stored, encrypted, and never modified; each message's text is re-hashed against its ingest
hash first, so a transcript that does not match what was received is refused.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe.core.accounts import new_token, token_digest
from childsafe.core.audit import AuditEvent
from childsafe.core.cases import CaseSource
from childsafe.core.crypto import Keyring, seal, split_envelope
from childsafe.core.errors import Conflict, CryptoError
from childsafe.core.principal import Principal
from childsafe.reports import deliveries, triage_store
from childsafe.reports.core.evidence.dedup import SuspectRef
from childsafe.store import audit, cases
from childsafe.store.models import AgencyRow, CaseRow, JurisdictionRow, ProviderRow
from childsafe.store.report_models import EvidenceRow, ReportRow
from childsafe.store.watch_models import AlertRow, RoomRow, WatchMessageRow
from childsafe.watch import alerts
from childsafe.watch.alert_view import read_text

MAX_MESSAGES = 5000  # the capture limit of report evidence; the latest are kept
_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _ages(rows: list[WatchMessageRow]) -> dict[str, int | None]:
    ages: dict[str, int | None] = {}
    for row in rows:  # the latest declared age of each participant, in order of appearance
        if row.declared_age is not None:
            ages[row.author_id] = row.declared_age
        else:
            ages.setdefault(row.author_id, None)
    return ages


def transcript(session: Session, keyring: Keyring, alert: AlertRow, room: RoomRow,
               provider: ProviderRow) -> tuple[bytes, dict[str, Any]]:
    """The capture's bytes (canonical JSON) and the evidence metadata that goes with it."""
    rows = list(session.scalars(select(WatchMessageRow)
                                .where(WatchMessageRow.conversation_id == alert.conversation_id)
                                .order_by(WatchMessageRow.seq.desc()).limit(MAX_MESSAGES)))
    rows.reverse()
    messages = []
    for row in rows:
        text = read_text(keyring, row)
        if hashlib.sha256(text.encode()).hexdigest() != row.sha256:
            raise CryptoError(f"message {row.seq} of alert {alert.reference} does not match "
                              "the hash taken when it was received")
        messages.append([row.message_id, row.author_id, row.sent_at.isoformat(), text,
                         row.sha256, row.seq])
    ages = _ages(rows)
    roles = {alert.author_id: "reported"}
    participants = [[who, None, age, roles.get(who, "other")] for who, age in ages.items()]
    body = {"platform": provider.name, "room_id": room.external_id,
            "participants": participants, "messages": messages, "source": "watch",
            "alert": alert.reference, "room_title": room.title}
    child_age = ages.get(alert.target_id) if alert.target_id else None
    meta = {"platform": provider.name, "room_id": room.external_id,
            "participants": len(participants), "messages": len(messages),
            # Triage reads the child's age under this key (in a report, the child reporting).
            "reporter_declared_age": child_age, "child_declared_age": child_age,
            "source": "watch", "alert": alert.reference, "watch_room": room.id,
            "conversation": alert.conversation_id,
            "first_seq": rows[0].seq if rows else None, "last_seq": rows[-1].seq if rows else None}
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return data, meta


def _country(session: Session, room: RoomRow, agency: AgencyRow) -> str:
    if len(room.region) == 2 and room.region != "*":
        return room.region.upper()
    own = session.scalar(select(JurisdictionRow.country)
                         .where(JurisdictionRow.agency_id == agency.id, JurisdictionRow.country != "*")
                         .order_by(JurisdictionRow.country).limit(1))
    return own or "*"


def _reference() -> str:
    body = "".join(secrets.choice(_REF_ALPHABET) for _ in range(8))
    return f"R-{body[:4]}-{body[4:]}"


def _answers(alert: AlertRow, room: RoomRow) -> dict[str, Any]:
    cue_names = sorted({r.split(" ")[1] for r in alert.reasons or [] if r.startswith("cue ")})
    return {"alert": alert.reference, "room": f"{room.title} ({room.id})",
            "detector": alert.detector, "score": round(alert.score, 4),
            "threshold": alert.threshold, "stage": alert.stage or "",
            "reasons": list(alert.reasons or []), "cues": cue_names,
            "out_of_hours": alert.out_of_hours}


def open_case(session: Session, keyring: Keyring, who: Principal, alert_id: str,
              now: datetime, *, suspect_key: bytes | None = None,
              ip: str | None = None) -> CaseRow:
    """A triaged case for the alert's agency with the conversation as evidence.

    `suspect_key` (the platform's keyed-hash key) records the author as a suspect, so
    other cases naming them count in triage and pooling."""
    alert = alerts.begin_action(session, who, alert_id, "open a case")
    if alert.case_id is not None:
        existing = session.get(CaseRow, alert.case_id)
        raise Conflict(f"A case was already opened for alert {alert.reference}"
                       + (f": {existing.reference}." if existing else "."))
    room = session.get(RoomRow, alert.room_id)
    agency = session.get(AgencyRow, alert.agency_id)
    assert room is not None and agency is not None
    provider = session.get(ProviderRow, room.provider_id)
    assert provider is not None
    data, meta = transcript(session, keyring, alert, room, provider)
    digest = hashlib.sha256(data).hexdigest()
    report_id, evidence_id = str(uuid.uuid4()), str(uuid.uuid4())
    filer = {"name": f"{who.display_name} ({who.agency_code}, Watch)", "email": None,
             "phone": None, "country": _country(session, room, agency), "age_band": "18_plus",
             "relationship": "teacher_professional"}
    report = ReportRow(
        id=report_id, reference=_reference(), state="with_officers", agency_id=agency.id,
        immediate=False, category="grooming", country=filer["country"],
        language=room.language[:8], audience=None, flow_id="watch", flow_version=1,
        flow_result={"answers": _answers(alert, room), "source": "watch"}, channel="watch",
        provider_id=provider.id,
        reporter_enc=seal(keyring, json.dumps(filer).encode(), f"report:{report_id}:reporter"),
        contact_key=hashlib.sha256(f"watch:{who.user_id}".encode()).hexdigest(),
        has_email=False, status_token_digest=token_digest(new_token()), ver_attempts=0,
        verified_at=now, created_at=now, updated_at=now)
    session.add(report)
    session.flush()
    key_part, payload = split_envelope(seal(keyring, data, f"evidence:{evidence_id}"))
    session.add(EvidenceRow(
        id=evidence_id, report_id=report.id, kind="conversation", mime="application/json",
        size=len(data), sha256=digest,
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        server_name=f"{evidence_id}.json", client_name=None, source="watch", meta=meta,
        key_enc=key_part, blob_enc=payload, received_at=now))
    if suspect_key is not None:
        triage_store.record_suspects(session, suspect_key, report,
                                     [SuspectRef(provider.name, alert.author_id)], now)
    case = cases.create_case(session, agency=agency,
                             title=f"Watch alert {alert.reference} — grooming in {room.title}",
                             source=CaseSource.WATCH_ALERT, country=report.country,
                             actor=who.username, now=now)
    report.case_id = case.id
    alert.case_id = case.id
    session.flush()
    triage_store.triage_case(session, keyring, report, case, now)
    deliveries.schedule_for_case(session, case, now)
    alerts.mark_actioned(session, who, alert, now, "case_opened")
    audit.append(session, AuditEvent("watch.alert.open_case", actor=who.username,
                                     agency=who.agency_code, object_type="watch_alert",
                                     object_id=alert.id, ip=ip,
                                     detail={"reference": alert.reference, "case": case.id,
                                             "case_reference": case.reference,
                                             "evidence_sha256": digest}))
    return case
