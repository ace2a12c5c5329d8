"""The officer console: home page (queue, chart, activity), the agency's audit export.

Case pages: `case_pages`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent
from childsafe.core.cases import CaseStatus
from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal
from childsafe.store import audit, cases
from childsafe.store.models import AgencyRow, AuditRow, CaseRow, UserRow
from childsafe.web.charts import bar_chart
from childsafe.web.deps import DbSession, ip_of, now_of, requires, settings_of
from childsafe.web.security import csrf_token

router = APIRouter(include_in_schema=False)
AUDIT_EXPORT_MAX = 5000


def _sla(case: CaseRow, now: datetime) -> dict[str, object] | None:
    """Time left to the response target, for the queue's SLA clock."""
    if case.sla_due_at is None or case.status == CaseStatus.CLOSED.value:
        return None
    left = case.sla_due_at - now
    minutes = int(left.total_seconds() // 60)
    if minutes < 0:
        return {"breached": True, "text": f"{_span(-minutes)} over"}
    return {"breached": False, "text": f"{_span(minutes)} left"}


def _span(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d}"
    return f"{minutes // 1440} d"


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
        q = request.query_params
        status = q.get("status") if q.get("status") in {s.value for s in CaseStatus} else None
        prio = q.get("priority") if q.get("priority") in {"P1", "P2", "P3", "P4"} else None
        mine = q.get("mine") == "1"
        rows = cases.list_cases(session, principal, status=status, priority=prio,
                                assigned_to=principal.user_id if mine else None,
                                open_only=status is None, limit=100)
        now = now_of(request)
        names = {u.id: u.display_name for u in session.scalars(
            select(UserRow).where(UserRow.agency_id == principal.agency_id))}
        context["cases"] = [{"case": c, "sla": _sla(c, now),
                             "holder": names.get(c.assigned_to or -1)
                             if c.claimed_until and c.claimed_until > now else None}
                            for c in rows]
        context["filters"] = {"status": status or "", "priority": prio or "", "mine": mine}
        context["officers"] = sorted(names.items(), key=lambda kv: kv[1])
        counts = cases.count_by_status(session, principal)
        context["chart"] = Markup(bar_chart(  # noqa: S704 - labels escaped in bar_chart
            [(s.value.replace("_", " "), counts.get(s.value, 0)) for s in CaseStatus],
            title="Cases by status"))
    if principal.can(Permission.AUDIT_READ):
        context["activity"] = audit.recent(session, agency=principal.agency_code, limit=15)
    return page(request, "home.html", context)


@router.get("/audit/export")
def audit_export(request: Request, after: Annotated[int, Query(ge=0, le=2**62)] = 0,
                 limit: Annotated[int, Query(ge=1, le=AUDIT_EXPORT_MAX)] = AUDIT_EXPORT_MAX,
                 principal: Principal = requires(Permission.AUDIT_READ),
                 session: Session = DbSession) -> Response:
    """The caller's agency's audit entries after `after` (seq), oldest first, as JSON Lines.

    Only entries recorded for the caller's own agency; each keeps its seq and chain hashes,
    so they can be checked against a full `childsafe admin verify-audit`. The export itself
    is audited (and so appears in the next export)."""
    rows = list(session.scalars(select(AuditRow).where(
        AuditRow.agency == principal.agency_code, AuditRow.seq > after)
        .order_by(AuditRow.seq).limit(limit)))
    lines = [json.dumps({"seq": r.seq, "at": r.at.isoformat(), "actor": r.actor,
                         "agency": r.agency, "action": r.action, "outcome": r.outcome,
                         "object_type": r.object_type, "object_id": r.object_id,
                         "detail": r.detail or {}, "ip": r.ip, "prev_hash": r.prev_hash,
                         "hash": r.hash}, sort_keys=True, ensure_ascii=False) for r in rows]
    audit.append(session, AuditEvent("audit.export", actor=principal.username,
                                     agency=principal.agency_code, object_type="audit",
                                     ip=ip_of(request),
                                     detail={"after": after, "entries": len(rows),
                                             "last": rows[-1].seq if rows else None}))
    name = f"audit-{principal.agency_code}-{now_of(request):%Y%m%dT%H%M%SZ}.jsonl"
    return Response("".join(line + "\n" for line in lines), media_type="application/x-ndjson",
                    headers={"content-disposition": f'attachment; filename="{name}"',
                             "cache-control": "no-store"})
