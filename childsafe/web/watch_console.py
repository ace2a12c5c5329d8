"""Console pages for Watch alerts: live queue, alert page, officers' actions.

The queue updates itself over Server-Sent Events (`/console/watch/events`, the same pattern
as the case queue's `/console/events`): the stream carries counts and times only, and the
page refetches itself when they change. Another agency's alert answers 404 like a missing
one; the refused attempt is audited in its own commit, since the request itself rolls back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from childsafe.core.errors import DomainError, NotFound
from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal
from childsafe.store.models import AgencyRow, CaseRow, UserRow
from childsafe.store.watch_models import AlertRow, RoomRow
from childsafe.watch import alert_cases, alert_view, alerts, interventions
from childsafe.web.console import page
from childsafe.web.deps import DbSession, db_of, ip_of, now_of, requires, settings_of
from childsafe.web.watch_alert_chart import risk_chart

router = APIRouter(prefix="/console/watch", include_in_schema=False)
Text = Annotated[str, Form(max_length=4000)]
SSE_POLL_SECONDS = 2.0
SSE_MAX_SECONDS = 300  # the browser reconnects by itself; no stream lives forever
DONE = {"acknowledged": "Alert acknowledged.", "dismissed": "Alert dismissed; thank you, "
        "the reason is kept to improve the detector.", "intervened": "Intervention queued for "
        "the provider.", "case": "Case opened."}


def _names(session: Session, agency_id: int) -> dict[int, str]:
    return {u.id: u.display_name for u in session.scalars(
        select(UserRow).where(UserRow.agency_id == agency_id))}


def _denied(request: Request, session: Session, principal: Principal, alert_id: str,
            action: str) -> None:
    """Keep the audit entry of a refused look although the request rolls back."""
    session.rollback()
    alerts.record_denied(session, principal, alert_id, action, ip=ip_of(request))
    session.commit()


@router.get("/alerts")
def alert_queue(request: Request, principal: Principal = requires(Permission.WATCH_VIEW),
                session: Session = DbSession) -> Response:
    q = request.query_params
    state = q.get("state") or "active"
    state = state if state in alerts.QUEUE_FILTERS else "active"
    sort = q.get("sort") or "newest"
    sort = sort if sort in alerts.SORTS else "newest"
    rows = alerts.queue(session, principal, state=state, sort=sort, ip=ip_of(request))
    live = alerts.queue_fingerprint(session, principal)
    rooms = {r.id: r for r in session.scalars(
        select(RoomRow).where(RoomRow.id.in_({a.room_id for a in rows})))} if rows else {}
    return page(request, "watch_alerts/queue.html", {
        "alerts": rows, "rooms": rooms, "names": _names(session, principal.agency_id),
        "filters": {"state": state, "sort": sort}, "states": alerts.QUEUE_FILTERS,
        "stage_labels": alert_view.STAGE_LABELS,
        "live": live, "live_json": json.dumps(live)})


def _fingerprint(db: Any, principal: Principal) -> dict[str, object]:
    with db.transaction() as session:
        return alerts.queue_fingerprint(session, principal)


@router.get("/events")
async def alert_events(request: Request, principal: Principal = requires(Permission.WATCH_VIEW),
                       session: Session = DbSession) -> Response:
    """`alerts` events whenever the agency's alert queue changes."""
    db = db_of(request)
    await run_in_threadpool(session.commit)  # hold no transaction for the stream's life

    async def stream() -> AsyncIterator[str]:
        last: dict[str, object] | None = None
        yield "retry: 5000\n\n"
        for _ in range(max(1, int(SSE_MAX_SECONDS / SSE_POLL_SECONDS))):
            state = await run_in_threadpool(_fingerprint, db, principal)
            if state != last:
                yield f"event: alerts\ndata: {json.dumps(state)}\n\n"
                last = state
            await asyncio.sleep(SSE_POLL_SECONDS)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})


def _render(request: Request, session: Session, principal: Principal, alert: AlertRow, *,
            error: str | None = None, status: int = 200) -> Response:
    settings = settings_of(request)
    view = alert_view.detail(session, settings.keyring, alert)
    room = session.get(RoomRow, alert.room_id)
    agency = session.get(AgencyRow, alert.agency_id)
    assert room is not None and agency is not None
    kinds = [(k.value, interventions.KIND_LABELS[k],
              interventions.default_text(k, language=room.language, agency=agency.name,
                                         reference=alert.reference))
             for k in interventions.Kind]
    case = session.get(CaseRow, alert.case_id) if alert.case_id else None
    chart = risk_chart(view.trajectory, threshold=alert.threshold, crossing=alert.message_seq)
    return page(request, "watch_alerts/alert.html", {
        "alert": alert, "room": room, "view": view, "case": case, "kinds": kinds,
        "chart": Markup(chart),  # noqa: S704 - risk_chart escapes every text it writes
        "interventions": interventions.interventions_of(session, alert),
        "feedback": alerts.feedback_of(session, alert), "names": _names(session, alert.agency_id),
        "reasons": alerts.DISMISS_REASONS, "stage_labels": alert_view.STAGE_LABELS,
        "can_act": principal.can(Permission.WATCH_ACT), "error": error,
        "done": DONE.get(request.query_params.get("done", ""))}, status=status)


@router.get("/alerts/{alert_id}")
def alert_page(alert_id: str, request: Request,
               principal: Principal = requires(Permission.WATCH_VIEW),
               session: Session = DbSession) -> Response:
    try:
        alert = alerts.get_alert(session, principal, alert_id, ip=ip_of(request))
    except NotFound:
        _denied(request, session, principal, alert_id, "watch.alert.view")
        raise
    return _render(request, session, principal, alert)


def _act(request: Request, session: Session, principal: Principal, alert_id: str,
         action: Callable[[], Any], audit_action: str, done: str) -> Response:
    try:
        with session.begin_nested():
            result = action()
    except NotFound:
        _denied(request, session, principal, alert_id, audit_action)
        raise
    except DomainError as exc:
        alert = alerts.get_alert(session, principal, alert_id, ip=ip_of(request))
        return _render(request, session, principal, alert, error=exc.detail, status=exc.status)
    if isinstance(result, CaseRow):
        return RedirectResponse(f"/cases/{result.id}", status_code=303)
    return RedirectResponse(f"/console/watch/alerts/{alert_id}?done={done}", status_code=303)


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(alert_id: str, request: Request,
                principal: Principal = requires(Permission.WATCH_ACT),
                session: Session = DbSession) -> Response:
    return _act(request, session, principal, alert_id,
                lambda: alerts.acknowledge(session, principal, alert_id, now_of(request),
                                           ip=ip_of(request)),
                "watch.alert.acknowledge", "acknowledged")


@router.post("/alerts/{alert_id}/dismiss")
def dismiss(alert_id: str, request: Request, reason: Text = "", note: Text = "",
            principal: Principal = requires(Permission.WATCH_ACT),
            session: Session = DbSession) -> Response:
    return _act(request, session, principal, alert_id,
                lambda: alerts.dismiss(session, principal, alert_id, reason, note,
                                       now_of(request), ip=ip_of(request)),
                "watch.alert.dismiss", "dismissed")


@router.post("/alerts/{alert_id}/intervene")
def intervene(alert_id: str, request: Request, kind: Text = "", message: Text = "",
              target: Text = "", principal: Principal = requires(Permission.WATCH_ACT),
              session: Session = DbSession) -> Response:
    keyring = settings_of(request).keyring
    return _act(request, session, principal, alert_id,
                lambda: interventions.intervene(session, keyring, principal, alert_id, kind,
                                                now=now_of(request), message=message,
                                                target=target or None, ip=ip_of(request)),
                "watch.alert.intervene", "intervened")


@router.post("/alerts/{alert_id}/case")
def open_case(alert_id: str, request: Request,
              principal: Principal = requires(Permission.WATCH_ACT),
              session: Session = DbSession) -> Response:
    settings = settings_of(request)
    return _act(request, session, principal, alert_id,
                lambda: alert_cases.open_case(session, settings.keyring, principal, alert_id,
                                              now_of(request),
                                              suspect_key=settings.verification_key,
                                              ip=ip_of(request)),
                "watch.alert.open_case", "case")
