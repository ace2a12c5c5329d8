"""Agency admins manage their own agency's officers: create, roles, disable, reset MFA, unlock.

Every change is audited by the store functions; an admin can never grant a role they do not
hold the right to grant (only platform admins grant `platform-admin`), nor disable themselves;
such attempts are refused (422, the form with the message) and audited as `access.denied`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from childsafe.core.errors import DomainError, PermissionDenied
from childsafe.core.permissions import Permission, Role, parse_roles
from childsafe.core.principal import Principal
from childsafe.store import accounts
from childsafe.store.models import AgencyRow, UserRow
from childsafe.web import denials
from childsafe.web.console import page
from childsafe.web.deps import DbSession, now_of, requires
from childsafe.web.schemas import RowId

router = APIRouter(prefix="/admin/officers", include_in_schema=False)
Field = Annotated[str, Form(max_length=300)]
ACTIONS = {"disable", "enable", "reset-mfa", "unlock"}


def _grantable(principal: Principal) -> list[Role]:
    roles = [Role.OFFICER, Role.SUPERVISOR, Role.AGENCY_ADMIN, Role.LIST_EDITOR]
    return roles + [Role.PLATFORM_ADMIN] if Role.PLATFORM_ADMIN in principal.roles else roles


def _render(request: Request, session: Session, principal: Principal, *, error: str | None = None,
            notice: str | None = None, form: dict[str, str] | None = None,
            status: int = 200) -> Response:
    now = now_of(request)
    officers = [(u, bool(u.locked_until and u.locked_until > now))
                for u in accounts.list_users(session, principal.agency_id)]
    return page(request, "officers.html", {
        "agency": session.get(AgencyRow, principal.agency_id), "officers": officers,
        "roles": _grantable(principal), "error": error, "notice": notice, "form": form or {}},
        status=status)


@router.get("")
def officers(request: Request, principal: Principal = requires(Permission.USER_MANAGE),
             session: Session = DbSession) -> Response:
    notice = request.query_params.get("done")
    return _render(request, session, principal,
                   notice=notice if notice in {"created", "updated"} else None)


@router.post("")
def create_officer(request: Request, username: Field = "", display_name: Field = "",
                   email: Field = "", role: Field = "officer", password: Field = "",
                   principal: Principal = requires(Permission.USER_MANAGE),
                   session: Session = DbSession) -> Response:
    form = {"username": username, "display_name": display_name, "email": email, "role": role}
    try:
        if role not in {r.value for r in _grantable(principal)}:
            raise PermissionDenied("You cannot grant that role.")
        agency = session.get(AgencyRow, principal.agency_id)
        assert agency is not None
        with session.begin_nested():
            accounts.create_user(session, agency=agency, username=username,
                                 display_name=display_name, password=password, roles=role,
                                 email=email, actor=principal.username)
    except (DomainError, ValueError) as exc:
        if isinstance(exc, PermissionDenied):  # a role the admin may not grant: audited
            denials.record_here(request, session, exc)
        message = exc.detail if isinstance(exc, DomainError) else str(exc)
        return _render(request, session, principal, error=message, form=form, status=422)
    return RedirectResponse("/admin/officers?done=created", status_code=303)


def _target(session: Session, principal: Principal, user_id: int) -> UserRow:
    return accounts.get_user_scoped(session, principal, user_id)


@router.post("/{user_id}/roles")
def change_roles(request: Request, user_id: RowId, role: Field = "",
                 principal: Principal = requires(Permission.USER_MANAGE),
                 session: Session = DbSession) -> Response:
    user = _target(session, principal, user_id)
    try:
        wanted = parse_roles(role)
        if not wanted <= set(_grantable(principal)):
            raise PermissionDenied("You cannot grant that role.")
        if user.id == principal.user_id:
            raise PermissionDenied("Ask another administrator to change your own roles.")
    except (DomainError, ValueError) as exc:
        if isinstance(exc, PermissionDenied):  # beyond the admin's grant, or their own roles
            denials.record_here(request, session, exc)
        message = exc.detail if isinstance(exc, DomainError) else str(exc)
        return _render(request, session, principal, error=message, status=422)
    accounts.set_roles(session, user, role, actor=principal.username)
    return RedirectResponse("/admin/officers?done=updated", status_code=303)


@router.post("/{user_id}/{action}")
def account_action(request: Request, user_id: RowId, action: str,
                   principal: Principal = requires(Permission.USER_MANAGE),
                   session: Session = DbSession) -> Response:
    user = _target(session, principal, user_id)
    if action not in ACTIONS:
        return _render(request, session, principal, error="Unknown action.", status=404)
    if user.id == principal.user_id and action in {"disable", "reset-mfa"}:
        return _render(request, session, principal, status=422,
                       error="Ask another administrator to do this to your own account.")
    if action in {"disable", "enable"}:
        accounts.set_disabled(session, user, action == "disable", actor=principal.username)
    elif action == "reset-mfa":
        accounts.reset_mfa(session, user, actor=principal.username)
    else:
        accounts.unlock(session, user, actor=principal.username)
    return RedirectResponse("/admin/officers?done=updated", status_code=303)
