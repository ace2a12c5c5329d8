"""JSON API for international pooling: suspect matches across agencies, sharing requests.

A match reveals an agency code and a number of cases, never the cases. Requests go to the
other agency's supervisors, who approve (their matching cases become visible to the
requester) or refuse. Cookie-authenticated writes need the `X-CSRF-Token` header.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal
from childsafe.reports import pooling
from childsafe.web.deps import DbSession, ip_of, now_of, requires
from childsafe.web.schemas import ERRORS, Problem, RowId

router = APIRouter(prefix="/api/v1", tags=["pooling"], responses=ERRORS)
CaseId = Annotated[str, Path(max_length=36)]
_DECIDED: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "The request was already approved or refused"}}


class PoolMatchOut(BaseModel):
    agency_code: str = Field(examples=["US-DHS-HSI"])
    cases: int = Field(description="How many of that agency's cases share a suspect")


class PoolingOut(BaseModel):
    case_id: str
    matches: list[PoolMatchOut]


class MatchingCaseOut(BaseModel):
    id: str
    reference: str
    title: str


class SharingRequestOut(BaseModel):
    id: int
    direction: Literal["incoming", "outgoing"]
    from_agency: str
    to_agency: str
    reason: str
    state: Literal["pending", "approved", "refused"]
    created_at: datetime
    decided_at: datetime | None
    requested_by: str | None = Field(None, description="Incoming: the requesting officer")
    case_id: str | None = Field(None, description="Outgoing: your case the request is about")
    matching_cases: list[MatchingCaseOut] = Field(
        default_factory=list, description="Incoming: your cases that match, which approving "
                                          "shares with the requesting agency")


class SharingRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_id: str = Field(max_length=36)
    to_agency: str = Field(max_length=48, examples=["US-DHS-HSI"])
    reason: str = Field(max_length=pooling.MAX_REASON)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field("", max_length=pooling.MAX_REASON)


def _out(item: pooling.SharingRequest) -> SharingRequestOut:
    return SharingRequestOut(
        id=item.id, direction=item.direction, from_agency=item.from_agency,
        to_agency=item.to_agency, reason=item.reason, state=item.state,
        created_at=item.created_at, decided_at=item.decided_at, requested_by=item.requested_by,
        case_id=item.case_id,
        matching_cases=[MatchingCaseOut(id=c.id, reference=c.reference, title=c.title)
                        for c in item.matching_cases])


@router.get("/cases/{case_id}/pooling", response_model=PoolingOut,
            summary="Other agencies holding cases about this case's suspects (audited)")
def case_pooling(request: Request, case_id: CaseId,
                 principal: Principal = requires(Permission.CASE_READ),
                 session: Session = DbSession) -> Any:
    """Only agency codes and counts; cases you can already see are not counted."""
    found = pooling.matches(session, principal, case_id, ip=ip_of(request))
    return PoolingOut(case_id=case_id, matches=[PoolMatchOut(agency_code=m.agency_code,
                                                             cases=m.cases) for m in found])


@router.get("/sharing-requests", response_model=list[SharingRequestOut],
            summary="Sharing requests to (or from) my agency")
def list_sharing_requests(direction: Literal["incoming", "outgoing"] = Query("incoming"),
                          principal: Principal = requires(Permission.CASE_SHARE),
                          session: Session = DbSession) -> Any:
    return [_out(r) for r in pooling.list_requests(session, principal, direction=direction)]


@router.post("/sharing-requests", response_model=SharingRequestOut, status_code=201,
             summary="Ask another agency to share its matching cases",
             responses={409: {"model": Problem, "description": "A request to that agency about "
                                                               "this case is already pending"}})
def create_sharing_request(request: Request, body: SharingRequestIn,
                           principal: Principal = requires(Permission.CASE_SHARE),
                           session: Session = DbSession) -> Any:
    """The case must be your agency's and the other agency must hold a matching case."""
    return _out(pooling.request_sharing(session, principal, body.case_id, body.to_agency,
                                        body.reason, now_of(request), ip=ip_of(request)))


@router.post("/sharing-requests/{request_id}/approve", response_model=SharingRequestOut,
             summary="Approve: share my matching cases with the requesting agency",
             responses=_DECIDED)
def approve_sharing_request(request: Request, request_id: RowId, body: DecisionIn | None = None,
                            principal: Principal = requires(Permission.CASE_SHARE),
                            session: Session = DbSession) -> Any:
    return _out(pooling.decide(session, principal, request_id, approve=True,
                               now=now_of(request), note=body.note if body else "",
                               ip=ip_of(request)))


@router.post("/sharing-requests/{request_id}/refuse", response_model=SharingRequestOut,
             summary="Refuse: share nothing", responses=_DECIDED)
def refuse_sharing_request(request: Request, request_id: RowId, body: DecisionIn | None = None,
                           principal: Principal = requires(Permission.CASE_SHARE),
                           session: Session = DbSession) -> Any:
    return _out(pooling.decide(session, principal, request_id, approve=False,
                               now=now_of(request), note=body.note if body else "",
                               ip=ip_of(request)))
