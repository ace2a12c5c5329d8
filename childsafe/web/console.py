"""The officer console: home page (queue, chart, activity) and the case page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from childsafe.core.cases import CaseStatus
from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal
from childsafe.store import audit, cases
from childsafe.store.models import AgencyRow
from childsafe.web.charts import bar_chart
from childsafe.web.deps import DbSession, ip_of, requires, settings_of
from childsafe.web.security import csrf_token

router = APIRouter(include_in_schema=False)


def page(request: Request, template: str, context: dict[str, object],
         status: int = 200) -> Response:
    """Render a console page with what every console page needs (who, CSRF for logout)."""
    console = request.state.console
    base = {"principal": request.state.principal, "user": console.user,
            "csrf": csrf_token(settings_of(request).secret_key, console.row.csrf_secret)}
    return request.app.state.templates.TemplateResponse(request, template, base | context,
                                                        status_code=status)


@router.get("/")
def home(request: Request, principal: Principal = requires(Permission.CONSOLE_VIEW),
         session: Session = DbSession) -> Response:
    agency = session.get(AgencyRow, principal.agency_id)
    context: dict[str, object] = {"agency": agency, "cases": [], "chart": None, "activity": []}
    if principal.can(Permission.CASE_READ):
        context["cases"] = cases.list_cases(session, principal, limit=50)
        counts = cases.count_by_status(session, principal)
        context["chart"] = Markup(bar_chart(  # noqa: S704 - labels escaped in bar_chart
            [(s.value.replace("_", " "), counts.get(s.value, 0)) for s in CaseStatus],
            title="Cases by status"))
    if principal.can(Permission.AUDIT_READ):
        context["activity"] = audit.recent(session, agency=principal.agency_code, limit=15)
    return page(request, "home.html", context)


@router.get("/cases/{case_id}")
def case_page(case_id: str, request: Request,
              principal: Principal = requires(Permission.CASE_READ),
              session: Session = DbSession) -> Response:
    case = cases.get_case(session, principal, case_id, ip=ip_of(request))
    owner = session.get(AgencyRow, case.agency_id)
    return page(request, "case.html", {"case": case, "owner": owner})
