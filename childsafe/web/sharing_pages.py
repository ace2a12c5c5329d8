"""Sharing requests between agencies (pooling), decided by the receiving agency's supervisors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal
from childsafe.reports import pooling
from childsafe.web.console import page
from childsafe.web.deps import DbSession, ip_of, now_of, requires
from childsafe.web.schemas import RowId

router = APIRouter(prefix="/sharing", include_in_schema=False)


@router.get("")
def sharing(request: Request, principal: Principal = requires(Permission.CASE_SHARE),
            session: Session = DbSession) -> Response:
    return page(request, "sharing.html", {
        "incoming": pooling.list_requests(session, principal, direction="incoming"),
        "outgoing": pooling.list_requests(session, principal, direction="outgoing")})


@router.post("/{request_id}/{decision}")
def decide(request_id: RowId, decision: str, request: Request,
           note: Annotated[str, Form(max_length=2000)] = "",
           principal: Principal = requires(Permission.CASE_SHARE),
           session: Session = DbSession) -> Response:
    if decision not in {"approve", "refuse"}:
        return RedirectResponse("/sharing", status_code=303)
    pooling.decide(session, principal, request_id, approve=decision == "approve",
                   now=now_of(request), note=note, ip=ip_of(request))
    return RedirectResponse("/sharing", status_code=303)
