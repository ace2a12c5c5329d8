"""International pooling: which other agencies hold cases about the same suspect.

Suspect identifiers are stored only as keyed hashes (`suspect_keys`, one key for the whole
platform), so two agencies' reports about the same account share a key without either
agency's case being readable by the other. Pooling reveals *that* and *where* — the agency
code and a number of cases — never a case id, title, reference or identifier.

To learn more, a supervisor asks the other agency (`request_sharing`, with a reason). That
agency's supervisor sees the request next to their own matching cases and decides:
approving shares those cases with the requesting agency (`cases.share_case`, audited
per case); refusing shares nothing. Every lookup and decision is audited.

Requests and decisions are addressed by agency: a request is visible only to the agency it
was sent to (and, as outgoing, to the sender); anyone else gets 404, like a missing object.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, not_, select
from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent
from childsafe.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal
from childsafe.store import agencies, audit, cases
from childsafe.store.case_models import SharingRequestRow
from childsafe.store.models import AgencyRow, CaseRow, UserRow
from childsafe.store.report_models import ReportRow, SuspectKeyRow

MAX_REASON = 2000


@dataclass(frozen=True, slots=True)
class PoolMatch:
    """All a pooling lookup reveals about another agency's cases."""

    agency_code: str
    cases: int


@dataclass(frozen=True, slots=True)
class MatchingCase:
    """One of *my* agency's cases that a request concerns (shown to the receiving agency)."""

    id: str
    reference: str
    title: str


@dataclass(frozen=True, slots=True)
class SharingRequest:
    id: int
    direction: str  # incoming | outgoing
    from_agency: str
    to_agency: str
    reason: str
    state: str
    created_at: datetime
    decided_at: datetime | None
    requested_by: str | None = None  # incoming: whom to contact at the requesting agency
    case_id: str | None = None  # outgoing only: the requester's own case
    matching_cases: tuple[MatchingCase, ...] = ()  # incoming only: the receiver's own cases


def _matching_ids(case_id: str) -> Select[str | None]:
    """Ids of the cases (other than `case_id`) whose reports share a suspect key with it."""
    keys = (select(SuspectKeyRow.key).join(ReportRow, ReportRow.id == SuspectKeyRow.report_id)
            .where(ReportRow.case_id == case_id))
    return (select(ReportRow.case_id)
            .join(SuspectKeyRow, SuspectKeyRow.report_id == ReportRow.id)
            .where(SuspectKeyRow.key.in_(keys), ReportRow.case_id.is_not(None),
                   ReportRow.case_id != case_id))


def _matching_cases(case_id: str) -> Select[CaseRow]:
    return select(CaseRow).where(CaseRow.id.in_(_matching_ids(case_id)))


def _visible_case(session: Session, principal: Principal, case_id: str) -> CaseRow:
    row = session.scalar(select(CaseRow).where(CaseRow.id == case_id[:36],
                                               cases.visible_to(principal)))
    if row is None:
        raise NotFound("No such case.")
    return row


def matches(session: Session, principal: Principal, case_id: str, *,
            ip: str | None = None) -> list[PoolMatch]:
    """Other agencies with cases about a suspect of this case, and how many — nothing else.

    Cases the caller can already see (their own, or shared with them) are not counted."""
    case = _visible_case(session, principal, case_id)
    rows = session.execute(
        select(AgencyRow.code, func.count(CaseRow.id))
        .join(CaseRow, CaseRow.agency_id == AgencyRow.id)
        .where(CaseRow.id.in_(_matching_ids(case.id)), not_(cases.visible_to(principal)))
        .group_by(AgencyRow.code).order_by(AgencyRow.code)).all()
    found = [PoolMatch(code, int(n)) for code, n in rows]
    audit.append(session, AuditEvent("case.pooling", actor=principal.username,
                                     agency=principal.agency_code, object_type="case",
                                     object_id=case.id, ip=ip,
                                     detail={"matches": {m.agency_code: m.cases for m in found}}))
    return found


def _require_share(principal: Principal) -> None:
    if not principal.can(Permission.CASE_SHARE):
        raise PermissionDenied("Your role does not allow sharing requests.")


def request_sharing(session: Session, principal: Principal, case_id: str, to_agency: str,
                    reason: str, now: datetime, *, ip: str | None = None) -> SharingRequest:
    """Ask `to_agency` to share its cases matching one of the caller's agency's cases.

    NotFound for a case the caller's agency does not own; InvalidInput without a reason or
    when that agency holds no matching case; Conflict when a request is already pending."""
    _require_share(principal)
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"Give a reason (1-{MAX_REASON} characters): the other agency "
                           "decides on it.", field="reason")
    case = session.scalar(select(CaseRow).where(CaseRow.id == case_id[:36],
                                                CaseRow.agency_id == principal.agency_id))
    if case is None:
        raise NotFound("No such case.")
    target = agencies.get_by_code(session, to_agency)
    if target.id == principal.agency_id:
        raise InvalidInput("That is your own agency.", field="to_agency")
    theirs = session.scalar(select(func.count(CaseRow.id)).where(
        CaseRow.id.in_(_matching_ids(case.id)), CaseRow.agency_id == target.id,
        not_(cases.visible_to(principal))))
    if not theirs:
        raise InvalidInput(f"{target.code} holds no case matching this one that you cannot "
                           "already see.", field="to_agency")
    pending = session.scalar(select(SharingRequestRow.id).where(
        SharingRequestRow.case_id == case.id, SharingRequestRow.to_agency_id == target.id,
        SharingRequestRow.state == "pending"))
    if pending is not None:
        raise Conflict(f"A request to {target.code} about this case is already pending.")
    row = SharingRequestRow(case_id=case.id, from_agency_id=principal.agency_id,
                            to_agency_id=target.id, requested_by=principal.user_id,
                            reason=reason, state="pending", created_at=now)
    session.add(row)
    session.flush()
    audit.append(session, AuditEvent("sharing.request", actor=principal.username,
                                     agency=principal.agency_code, object_type="sharing_request",
                                     object_id=str(row.id), ip=ip,
                                     detail={"case": case.id, "to": target.code}))
    return _outgoing(row, principal.agency_code, target.code)


def _outgoing(row: SharingRequestRow, mine: str, to: str) -> SharingRequest:
    return SharingRequest(row.id, "outgoing", mine, to, row.reason, row.state, row.created_at,
                          row.decided_at, case_id=row.case_id)


def _incoming(session: Session, row: SharingRequestRow, mine: str) -> SharingRequest:
    sender = session.get(AgencyRow, row.from_agency_id)
    user = session.get(UserRow, row.requested_by)
    own = session.scalars(_matching_cases(row.case_id).where(
        CaseRow.agency_id == row.to_agency_id).order_by(CaseRow.created_at)).all()
    return SharingRequest(row.id, "incoming", sender.code if sender else "?", mine, row.reason,
                          row.state, row.created_at, row.decided_at,
                          requested_by=user.display_name if user else None,
                          matching_cases=tuple(MatchingCase(c.id, c.reference, c.title)
                                               for c in own))


def list_requests(session: Session, principal: Principal, *,
                  direction: str = "incoming") -> list[SharingRequest]:
    """Requests sent to (incoming) or by (outgoing) the caller's agency, pending first."""
    _require_share(principal)
    mine = principal.agency_code
    order = (SharingRequestRow.state != "pending", SharingRequestRow.created_at.desc())
    if direction == "outgoing":
        rows = session.execute(
            select(SharingRequestRow, AgencyRow.code)
            .join(AgencyRow, AgencyRow.id == SharingRequestRow.to_agency_id)
            .where(SharingRequestRow.from_agency_id == principal.agency_id).order_by(*order))
        return [_outgoing(row, mine, code) for row, code in rows]
    if direction != "incoming":
        raise InvalidInput("direction is incoming or outgoing.", field="direction")
    return [_incoming(session, row, mine) for row in session.scalars(
        select(SharingRequestRow).where(SharingRequestRow.to_agency_id == principal.agency_id)
        .order_by(*order))]


def decide(session: Session, principal: Principal, request_id: int, *, approve: bool,
           now: datetime, note: str = "", ip: str | None = None) -> SharingRequest:
    """Approve (share the receiving agency's matching cases with the requester) or refuse.

    Only the agency the request was sent to can decide; for anyone else it does not exist."""
    _require_share(principal)
    row = session.scalar(select(SharingRequestRow).where(
        SharingRequestRow.id == request_id,
        SharingRequestRow.to_agency_id == principal.agency_id))
    if row is None:
        raise NotFound("No such sharing request.")
    if row.state != "pending":
        raise Conflict(f"This request was already {row.state}.")
    requester = session.get(AgencyRow, row.from_agency_id)
    assert requester is not None
    shared: list[str] = []
    if approve:
        own = session.scalars(_matching_cases(row.case_id).where(
            CaseRow.agency_id == principal.agency_id).order_by(CaseRow.created_at))
        for case in own:
            cases.share_case(session, principal, case, requester,
                             f"Pooling request #{row.id} from {requester.code}: {row.reason}")
            shared.append(case.id)
    row.state = "approved" if approve else "refused"
    row.decided_by, row.decided_at = principal.user_id, now
    audit.append(session, AuditEvent(
        f"sharing.{'approve' if approve else 'refuse'}", actor=principal.username,
        agency=principal.agency_code, object_type="sharing_request", object_id=str(row.id),
        ip=ip, detail={"from": requester.code, "shared_cases": shared,
                       "note": (note or "").strip()[:MAX_REASON]}))
    return _incoming(session, row, principal.agency_code)
