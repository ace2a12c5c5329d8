"""Triage on the store: gather a report's facts, decide, and set the case's priority and clock.

Suspect identifiers are kept only as keyed hashes (`suspect_keys`), so the history of an
identifier can be counted (and, later, pooled between agencies) without storing or revealing
the identifier itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, distinct, func, insert, select
from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent
from childsafe.core.crypto import Keyring
from childsafe.reports import catalog
from childsafe.reports.core.evidence.dedup import SuspectRef, normalize_identifier
from childsafe.reports.core.triage import SLA, TriageDecision, TriageFacts, decide
from childsafe.store import audit
from childsafe.store.models import AgencyRow, CaseRow
from childsafe.store.report_models import EvidenceRow, ReportRow, SuspectKeyRow


def suspect_key(key: bytes, ref: SuspectRef) -> str:
    """HMAC of the normalised platform and identifier under a platform key not in the DB."""
    text = f"{normalize_identifier(ref.platform)}\x00{normalize_identifier(ref.identifier)}"
    return hmac.new(key, b"suspect\x00" + text.encode(), hashlib.sha256).hexdigest()


_SUSPECTS = cast(Table, SuspectKeyRow.__table__)


def suspect_keys(key: bytes, suspects: Iterable[SuspectRef]) -> set[str]:
    return {suspect_key(key, s) for s in suspects if normalize_identifier(s.identifier)}


def insert_suspects(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert suspect key rows (key, report_id, agency_id, created_at) in one statement."""
    if rows:
        session.execute(insert(_SUSPECTS), rows)


def record_suspects(session: Session, key: bytes, report: ReportRow,
                    suspects: Iterable[SuspectRef], now: datetime) -> set[str]:
    keys = suspect_keys(key, suspects)
    insert_suspects(session, [{"key": k, "report_id": report.id, "agency_id": report.agency_id,
                               "created_at": now} for k in sorted(keys)])
    return keys


def suspects_from_answers(answers: dict[str, object]) -> list[SuspectRef]:
    """The username the reporter typed, on the platform they named."""
    who = answers.get("suspect")
    if not isinstance(who, str) or not who.strip():
        return []
    platform = answers.get("platform")
    return [SuspectRef(platform if isinstance(platform, str) else "", who)]


def _meeting_at(answers: dict[str, object]) -> datetime | None:
    raw = answers.get("meeting_when")
    if not isinstance(raw, str) or not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if len(raw) == 10:  # a date only: assume the evening, when such meetings happen
        moment = moment.replace(hour=18)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _prior_cases(session: Session, report: ReportRow) -> int:
    keys = select(SuspectKeyRow.key).where(SuspectKeyRow.report_id == report.id)
    query = (select(func.count(distinct(ReportRow.case_id)))
             .join(SuspectKeyRow, SuspectKeyRow.report_id == ReportRow.id)
             .where(SuspectKeyRow.key.in_(keys), ReportRow.id != report.id,
                    ReportRow.case_id.is_not(None)))
    if report.case_id:
        query = query.where(ReportRow.case_id != report.case_id)
    return int(session.scalar(query) or 0)


def facts_for(session: Session, keyring: Keyring, report: ReportRow,
              now: datetime) -> TriageFacts:
    answers = dict((report.flow_result or {}).get("answers") or {})
    cues = answers.get("cues")
    evidence = list(session.execute(select(EvidenceRow.kind, EvidenceRow.meta)
                                    .where(EvidenceRow.report_id == report.id)))
    ages = [int(m["reporter_declared_age"]) for _, m in evidence
            if isinstance(m, dict) and isinstance(m.get("reporter_declared_age"), int)]
    age_band = None
    from childsafe.reports.intake import read_reporter  # the one place identities are read

    reporter = read_reporter(keyring, report)
    if reporter.get("relationship") == "self":
        age_band = reporter.get("age_band")
    return TriageFacts(
        category=report.category, immediate=report.immediate,
        cues=frozenset(c for c in cues if isinstance(c, str)) if isinstance(cues, list)
        else frozenset(),
        meeting_at=_meeting_at(answers), victim_age=min(ages) if ages else None,
        victim_age_band=age_band, evidence_count=len(evidence),
        has_conversation=any(kind == "conversation" for kind, _ in evidence),
        suspect_prior_cases=_prior_cases(session, report), now=now)


def triage_case(session: Session, keyring: Keyring, report: ReportRow, case: CaseRow,
                now: datetime) -> TriageDecision:
    """Decide, then keep the decision (and its reasons) on the case and in the audit log.

    A case only ever moves up in priority through triage: a later, milder report linked to
    it does not lower an urgent case."""
    decision = decide(catalog.load_triage_rules(), facts_for(session, keyring, report, now))
    current = case.priority
    if current is None or decision.priority.rank <= int(current[1]):
        case.priority = decision.priority.value
        case.triage = decision.to_dict()
        case.sla_due_at = case.created_at + SLA[decision.priority]
    agency = session.get(AgencyRow, case.agency_id)
    audit.append(session, AuditEvent("case.triage", actor="triage",
                                     agency=agency.code if agency else None, object_type="case",
                                     object_id=case.id,
                                     detail={"report": report.id, **decision.to_dict()}))
    return decision


def explain(case: CaseRow) -> str | None:
    if not case.triage:
        return None
    return f"{case.triage['priority']} because: " + "; ".join(case.triage.get("reasons", []))


