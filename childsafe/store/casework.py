"""What officers do with a case: claim, assign, note, advise, escalate, close — all audited.

Every function takes the acting `Principal` and goes through `cases.get_case` visibility, so
nothing here can touch another agency's case. Claims expire, so a case never stays stuck with
an officer who went off shift.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent
from childsafe.core.cases import CaseStatus
from childsafe.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal
from childsafe.store import audit, outbox
from childsafe.store.models import CaseNoteRow, CaseRow, UserRow
from childsafe.store.report_models import ReportRow, ReportUpdateRow

CLAIM_TTL = timedelta(minutes=30)
OUTCOMES = {
    "advice_given": "Advice given to the reporter",
    "referred_police": "Referred to local police",
    "referred_other_agency": "Referred to another agency",
    "provider_action": "Provider acted on the account",
    "no_further_action": "No further action",
    "duplicate": "Duplicate of another case",
    "malicious": "Malicious or false report",
}


def _event(session: Session, who: Principal, action: str, case: CaseRow,
           **detail: object) -> None:
    audit.append(session, AuditEvent(action, actor=who.username, agency=who.agency_code,
                                     object_type="case", object_id=case.id, detail=detail))


def _own(case: CaseRow, who: Principal) -> None:
    """Actions that change a case belong to its owning agency (shared cases are read-only)."""
    if case.agency_id != who.agency_id:
        raise PermissionDenied("This case is shared with your agency for reading only.")


def _load(session: Session, who: Principal, case_id: str) -> CaseRow:
    from childsafe.store.cases import visible_to

    row = session.scalar(select(CaseRow).where(CaseRow.id == case_id[:36], visible_to(who)))
    if row is None:
        raise NotFound("No such case.")
    return row


def claim(session: Session, who: Principal, case_id: str, now: datetime) -> CaseRow:
    case = _load(session, who, case_id)
    _own(case, who)
    if case.assigned_to not in (None, who.user_id) and case.claimed_until and \
            case.claimed_until > now:
        raise Conflict("Another officer is working on this case.")
    case.assigned_to, case.claimed_until = who.user_id, now + CLAIM_TTL
    if case.status == CaseStatus.NEW.value:
        case.status = CaseStatus.IN_PROGRESS.value
    case.updated_at = now
    _event(session, who, "case.claim", case, until=case.claimed_until.isoformat())
    return case


def release(session: Session, who: Principal, case_id: str, now: datetime) -> CaseRow:
    case = _load(session, who, case_id)
    _own(case, who)
    if case.assigned_to not in (None, who.user_id) and not who.can(Permission.CASE_SHARE):
        raise PermissionDenied("Only the officer holding the case or a supervisor can release it.")
    case.assigned_to, case.claimed_until, case.updated_at = None, None, now
    _event(session, who, "case.release", case)
    return case


def assign(session: Session, who: Principal, case_ids: list[str], officer_id: int,
           now: datetime) -> int:
    """Supervisors assign (or bulk-assign) cases to an officer of their agency."""
    if not who.can(Permission.CASE_SHARE):
        raise PermissionDenied("Only supervisors assign cases.")
    officer = session.get(UserRow, officer_id)
    if officer is None or officer.agency_id != who.agency_id or officer.disabled:
        raise NotFound("No such officer in your agency.")
    done = 0
    for case_id in case_ids[:200]:
        case = _load(session, who, case_id)
        _own(case, who)
        case.assigned_to, case.claimed_until, case.updated_at = officer.id, now + CLAIM_TTL, now
        _event(session, who, "case.assign", case, to=officer.username)
        done += 1
    return done


def add_note(session: Session, who: Principal, case_id: str, body: str,
             now: datetime) -> CaseNoteRow:
    case = _load(session, who, case_id)
    text = (body or "").strip()
    if not text:
        raise InvalidInput("Write the note first.", field="note")
    if len(text) > 20_000:
        raise InvalidInput("Notes may be at most 20,000 characters.", field="note")
    note = CaseNoteRow(case_id=case.id, author_id=who.user_id, body=text, created_at=now)
    session.add(note)
    _event(session, who, "case.note", case)
    return note


def reports_of(session: Session, case: CaseRow) -> list[ReportRow]:
    return list(session.scalars(select(ReportRow).where(ReportRow.case_id == case.id)
                                .order_by(ReportRow.created_at)))


def advise(session: Session, who: Principal, case_id: str, text: str, now: datetime, *,
           keyring: object, base_url: str) -> int:
    """Send advice to every reporter of the case: on their status page, and by email."""
    from childsafe.reports.intake import read_reporter

    case = _load(session, who, case_id)
    _own(case, who)
    body = (text or "").strip()
    if not body:
        raise InvalidInput("Write the advice first.", field="advice")
    if len(body) > 5_000:
        raise InvalidInput("Advice may be at most 5,000 characters.", field="advice")
    sent = 0
    for report in reports_of(session, case):
        session.add(ReportUpdateRow(report_id=report.id, kind="advice", body=body,
                                    created_at=now))
        contact = read_reporter(keyring, report)  # type: ignore[arg-type]
        if contact.get("email"):
            outbox.enqueue(session, "mail.send", {
                "to": contact["email"],
                "subject": f"Advice about your report {report.reference}",
                "body": f"A child-protection officer has written to you about report "
                        f"{report.reference}:\n\n{body}\n\nYou can read it, and reply, on the "
                        f"private status page you received with your report.\n"
                        f"If someone is in danger now, call the emergency number.",
            }, f"advice:{report.id}:{now.isoformat()}", keyring=keyring)  # type: ignore[arg-type]
        sent += 1
    case.updated_at = now
    _event(session, who, "case.advise", case, reports=sent)
    return sent


def escalate(session: Session, who: Principal, case_id: str, station_id: int, reason: str,
             now: datetime) -> CaseRow:
    from childsafe.store.case_models import PoliceStationRow

    case = _load(session, who, case_id)
    _own(case, who)
    station = session.get(PoliceStationRow, station_id)
    if station is None:
        raise InvalidInput("Choose a police station from the directory.", field="station")
    if not (reason or "").strip():
        raise InvalidInput("Say why the police need to act.", field="reason")
    case.status, case.updated_at = CaseStatus.ESCALATED.value, now
    _event(session, who, "case.escalate", case, station=station.id, station_name=station.name,
           reason=reason.strip()[:2000])
    outbox.enqueue(session, "mail.send", {
        "to": station.email, "subject": f"Child protection referral {case.reference}",
        "body": f"Referral {case.reference} from {who.agency_code}: {reason.strip()[:2000]}\n"
                f"The printable referral with evidence hashes is attached to the case in "
                f"childsafe; contact the referring officer for access.",
    }, f"escalate:{case.id}:{station.id}")
    return case


def close(session: Session, who: Principal, case_id: str, outcome: str, now: datetime) -> CaseRow:
    case = _load(session, who, case_id)
    _own(case, who)
    if outcome not in OUTCOMES:
        raise InvalidInput("Choose an outcome.", field="outcome")
    case.status, case.outcome, case.updated_at = CaseStatus.CLOSED.value, outcome, now
    case.assigned_to = case.claimed_until = None
    _event(session, who, "case.close", case, outcome=outcome)
    return case


def notes(session: Session, case: CaseRow) -> list[tuple[CaseNoteRow, str]]:
    rows = session.execute(select(CaseNoteRow, UserRow.display_name)
                           .join(UserRow, UserRow.id == CaseNoteRow.author_id)
                           .where(CaseNoteRow.case_id == case.id)
                           .order_by(CaseNoteRow.created_at))
    return [(n, name) for n, name in rows]


def timeline(session: Session, case: CaseRow) -> list[object]:
    from childsafe.store.models import AuditRow

    report_ids = [r.id for r in reports_of(session, case)]
    query = select(AuditRow).where(
        ((AuditRow.object_type == "case") & (AuditRow.object_id == case.id))
        | ((AuditRow.object_type == "report") & AuditRow.object_id.in_(report_ids or ["-"])))
    return list(session.scalars(query.order_by(AuditRow.seq)))


def transfer(session: Session, who: Principal, case_id: str, agency_code: str, reason: str,
             now: datetime) -> CaseRow:
    """A supervisor hands the case to another agency (e.g. the child lives elsewhere)."""
    from childsafe.store.agencies import get_by_code

    if not who.can(Permission.CASE_SHARE):
        raise PermissionDenied("Only supervisors transfer cases.")
    case = _load(session, who, case_id)
    _own(case, who)
    if not (reason or "").strip():
        raise InvalidInput("Give the reason for the transfer.", field="reason")
    target = get_by_code(session, agency_code)
    if target.id == case.agency_id:
        raise InvalidInput("The case already belongs to that agency.", field="agency")
    _event(session, who, "case.transfer", case, to=target.code, reason=reason.strip()[:2000])
    case.agency_id, case.assigned_to, case.claimed_until = target.id, None, None
    case.updated_at = now
    for report in reports_of(session, case):
        report.agency_id = target.id
    return case


def share(session: Session, who: Principal, case_id: str, agency_code: str, reason: str,
          now: datetime) -> CaseRow:
    """A supervisor lets another agency read the case (it stays ours)."""
    from childsafe.store.agencies import get_by_code
    from childsafe.store.cases import share_case

    if not who.can(Permission.CASE_SHARE):
        raise PermissionDenied("Only supervisors share cases.")
    case = _load(session, who, case_id)
    _own(case, who)
    target = get_by_code(session, agency_code)
    if target.id == case.agency_id:
        raise InvalidInput("The case already belongs to that agency.", field="agency")
    share_case(session, who, case, target, reason)
    case.updated_at = now
    return case
