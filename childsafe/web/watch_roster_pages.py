"""Console pages for Watch set-up: rooms an agency monitors, shifts, coverage, thresholds.

Viewing needs WATCH_VIEW (officers) or WATCH_MANAGE (supervisors, agency admins); changes
need WATCH_MANAGE; handover notes are read and written by the agency's officers only
(WATCH_VIEW / WATCH_ACT). Everything is scoped to the officer's own agency by the stores,
which also audit every change. Errors re-render the form with the message beside it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe.core.errors import DomainError, InvalidInput, PermissionDenied
from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal
from childsafe.store.models import AgencyRow, ProviderRow
from childsafe.store.watch_models import RoomRow
from childsafe.watch import rooms, roster, thresholds
from childsafe.watch.core.roster import DAY_NAMES, RosterError, format_clock, format_days, zone
from childsafe.web.console import page
from childsafe.web.deps import DbSession, ip_of, now_of, requires, settings_of
from childsafe.web.schemas import RowId
from childsafe.web.watch_coverage_chart import colour_of, coverage_chart, local_span, runs

router = APIRouter(prefix="/console/watch", include_in_schema=False)
Field = Annotated[str, Form(max_length=200)]
NoteField = Annotated[str, Form(max_length=roster.NOTE_MAX + 100)]
ROOM_FILTERS = ("audience", "region", "provider", "mine", "page")
PER_PAGE = 50


def _viewer(principal: Principal) -> None:
    """Set-up pages are for the agency's watch staff (officers and those who manage it)."""
    if not (principal.can(Permission.WATCH_VIEW) or principal.can(Permission.WATCH_MANAGE)):
        raise PermissionDenied("Your role does not include Watch.")


def _render(request: Request, template: str, context: dict[str, object],
            status: int = 200) -> Response:
    principal: Principal = request.state.principal
    return page(request, f"watch_setup/{template}", context | {
        "can_manage": principal.can(Permission.WATCH_MANAGE),
        "can_notes": principal.can(Permission.WATCH_VIEW),
        "can_write_notes": principal.can(Permission.WATCH_ACT),
        "section": template.removesuffix(".html")}, status=status)


# ---- rooms ----------------------------------------------------------------------------------

def _room_filters(values: dict[str, str]) -> dict[str, str]:
    out = {}
    if values.get("audience") in rooms.AUDIENCES:
        out["audience"] = values["audience"]
    region = (values.get("region") or "").strip().upper()
    if region == "*" or region in rooms.ISO_COUNTRIES:
        out["region"] = region
    if (values.get("provider") or "").isdigit():
        out["provider"] = values["provider"]
    if values.get("mine") in {"yes", "no"}:
        out["mine"] = values["mine"]
    if (values.get("page") or "").isdigit() and int(values["page"]) > 1:
        out["page"] = values["page"]
    return out


def _rooms_page(request: Request, session: Session, principal: Principal, *,
                error: str | None = None, status: int = 200) -> Response:
    filters = _room_filters(dict(request.query_params))
    page_no = int(filters.get("page", "1"))
    mine = {"yes": True, "no": False}.get(filters.get("mine", ""))
    found, total = rooms.search_rooms(
        session, principal.agency_id, audience=filters.get("audience", ""),
        region=filters.get("region", ""), mine=mine, page=page_no, per_page=PER_PAGE,
        provider_id=int(filters["provider"]) if "provider" in filters else None)
    providers = session.execute(select(ProviderRow.id, ProviderRow.name).where(
        ProviderRow.id.in_(select(RoomRow.provider_id))).order_by(ProviderRow.name)).all()
    base = {k: v for k, v in filters.items() if k != "page"}
    done = request.query_params.get("done")
    return _render(request, "rooms.html", {
        "found": found, "total": total, "filters": filters, "providers": providers,
        "audiences": rooms.AUDIENCES, "query": urlencode(filters),
        "notice": {"monitor": "You now monitor the room. Its badge was updated.",
                   "unmonitor": "You no longer monitor the room. Its badge was updated."
                   }.get(done or ""),
        "prev": urlencode(base | {"page": page_no - 1}) if page_no > 1 else None,
        "next": urlencode(base | {"page": page_no + 1}) if page_no * PER_PAGE < total
        else None, "error": error}, status=status)


@router.get("/rooms")
def rooms_page(request: Request, principal: Principal = requires(Permission.CONSOLE_VIEW),
               session: Session = DbSession) -> Response:
    _viewer(principal)
    return _rooms_page(request, session, principal)


@router.post("/rooms/{room_id}/monitor")
def monitor_room(request: Request, room_id: str, monitor: Field = "", back: Field = "",
                 principal: Principal = requires(Permission.WATCH_MANAGE),
                 session: Session = DbSession) -> Response:
    if monitor not in {"1", "0"}:
        raise InvalidInput("Choose to monitor the room or stop.", field="monitor")
    rooms.set_monitoring(session, settings_of(request).keyring, principal, room_id,
                         monitor == "1", now=now_of(request), ip=ip_of(request))
    query = _room_filters(dict(parse_qsl(back))) | {
        "done": "monitor" if monitor == "1" else "unmonitor"}
    return RedirectResponse("/console/watch/rooms?" + urlencode(query), status_code=303)


def days_text(mask: int) -> str:
    """'mon-fri', 'sat,sun', 'daily': runs of three days or more written as ranges."""
    if format_days(mask) == "daily":
        return "daily"
    parts, day = [], 0
    while day < 7:
        if not mask >> day & 1:
            day += 1
            continue
        end = day
        while end + 1 < 7 and mask >> (end + 1) & 1:
            end += 1
        parts.append(f"{DAY_NAMES[day]}-{DAY_NAMES[end]}" if end - day >= 2 else
                     ",".join(DAY_NAMES[day:end + 1]))
        day = end + 1
    return ",".join(parts)


# ---- roster and handover notes ----------------------------------------------------------------

def _roster_page(request: Request, session: Session, principal: Principal, *,
                 error: str | None = None, error_field: str | None = None,
                 form: dict[str, str] | None = None, note_error: str | None = None,
                 note: str = "", status: int = 200) -> Response:
    agency = session.get(AgencyRow, principal.agency_id)
    tz = roster.agency_timezone(session, principal.agency_id, principal.agency_code)
    shifts = [{"row": s, "days": days_text(s.days), "start": format_clock(s.start_minute),
               "end": format_clock(s.end_minute),
               "overnight": s.end_minute <= s.start_minute} for s in
              roster.shifts(session, principal.agency_id)]
    notes = roster.notes(session, principal) if principal.can(Permission.WATCH_VIEW) else []
    done = request.query_params.get("done")
    return _render(request, "roster.html", {
        "agency": agency, "tz": tz, "shifts": shifts, "notes": notes,
        "form": form or {"timezone": tz, "days": "mon-fri", "start": "08:00", "end": "16:00"},
        "error": error, "error_field": error_field, "note_error": note_error, "note": note,
        "notice": {"added": "Shift added.", "removed": "Shift removed.",
                   "noted": "Handover note saved."}.get(done or "")}, status=status)


@router.get("/roster")
def roster_page(request: Request, principal: Principal = requires(Permission.CONSOLE_VIEW),
                session: Session = DbSession) -> Response:
    _viewer(principal)
    return _roster_page(request, session, principal)


@router.post("/roster/shifts")
def add_shift(request: Request, timezone: Field = "", days: Field = "", start: Field = "",
              end: Field = "", label: Field = "",
              principal: Principal = requires(Permission.WATCH_MANAGE),
              session: Session = DbSession) -> Response:
    form = {"timezone": timezone, "days": days, "start": start, "end": end, "label": label}
    try:
        with session.begin_nested():
            roster.add_shift(session, settings_of(request).keyring, principal,
                             timezone=timezone, days=days, start=start, end=end, label=label,
                             now=now_of(request), ip=ip_of(request))
    except DomainError as exc:
        return _roster_page(request, session, principal, error=exc.detail,
                            error_field=exc.field, form=form, status=exc.status)
    return RedirectResponse("/console/watch/roster?done=added", status_code=303)


@router.post("/roster/shifts/{shift_id}/remove")
def remove_shift(request: Request, shift_id: RowId,
                 principal: Principal = requires(Permission.WATCH_MANAGE),
                 session: Session = DbSession) -> Response:
    roster.remove_shift(session, settings_of(request).keyring, principal, shift_id,
                        now=now_of(request), ip=ip_of(request))
    return RedirectResponse("/console/watch/roster?done=removed", status_code=303)


@router.post("/roster/notes")
def add_note(request: Request, body: NoteField = "",
             principal: Principal = requires(Permission.WATCH_ACT),
             session: Session = DbSession) -> Response:
    try:
        with session.begin_nested():
            roster.add_note(session, principal, body, now=now_of(request), ip=ip_of(request))
    except DomainError as exc:
        return _roster_page(request, session, principal, note_error=exc.detail, note=body,
                            status=exc.status)
    return RedirectResponse("/console/watch/roster?done=noted", status_code=303)


# ---- coverage -------------------------------------------------------------------------------

def _day_and_zone(request: Request, session: Session,
                  principal: Principal) -> tuple[date, str, str | None]:
    tz = roster.agency_timezone(session, principal.agency_id, principal.agency_code)
    errors = []
    asked = request.query_params.get("tz", "").strip()
    if asked:
        try:
            zone(asked)
            tz = asked
        except RosterError as exc:
            errors.append(f"{exc} Showing {tz}.")
    day = now_of(request).astimezone(zone(tz)).date()
    try:
        if request.query_params.get("day"):
            day = date.fromisoformat(request.query_params["day"])
    except ValueError:
        errors.append("The day must look like 2026-11-23; showing today.")
    return day, tz, " ".join(errors) or None


@router.get("/coverage")
def coverage_page(request: Request, principal: Principal = requires(Permission.CONSOLE_VIEW),
                  session: Session = DbSession) -> Response:
    """Each monitored room's 24 hours: which agencies cover each half-hour, and the gaps."""
    _viewer(principal)
    day, tz, error = _day_and_zone(request, session, principal)
    tzinfo = zone(tz)
    charts = []
    found = roster.room_coverage(session, principal.agency_id, day, tz=tz)
    order = sorted({ref.code for item in found for ref in item.agencies})
    for item in found:
        starts = [slot.start for slot in item.slots]
        rows = [(ref.code, [aid in slot.agencies for slot in item.slots],
                 colour_of(order.index(ref.code)))
                for aid, ref in zip(item.agency_ids, item.agencies, strict=True)]
        step = timedelta(minutes=item.slots[0].minutes)
        covered = [bool(slot.agencies) for slot in item.slots]
        gaps = [local_span(starts[a], starts[b - 1] + step, tzinfo)
                for a, b in runs([not c for c in covered])]
        svg = coverage_chart(f"Coverage of {item.room.title} on {day.isoformat()} ({tz})", rows,
                             starts, item.slots[0].minutes, tzinfo)
        charts.append({"room": item.room, "agencies": item.agencies, "gaps": gaps,
                       "chart": Markup(svg)})  # noqa: S704 - every text escaped in the chart
    return _render(request, "coverage.html", {
        "day": day, "tz": tz, "charts": charts, "error": error,
        "prev": urlencode({"day": (day - timedelta(days=1)).isoformat(), "tz": tz}),
        "next": urlencode({"day": (day + timedelta(days=1)).isoformat(), "tz": tz})})


# ---- thresholds -----------------------------------------------------------------------------

def _thresholds_page(request: Request, session: Session, principal: Principal, *,
                     error: str | None = None, form: dict[str, str] | None = None,
                     status: int = 200) -> Response:
    point = thresholds.current(session, principal.agency_id)
    return _render(request, "thresholds.html", {
        "point": point, "default": thresholds.default_point(),
        "detectors": thresholds.detector_names(), "low": thresholds.MIN_THRESHOLD,
        "high": thresholds.MAX_THRESHOLD, "error": error,
        "form": form or {"detector": point.detector, "threshold": f"{point.threshold:g}"},
        "notice": "Saved. New alerts use this operating point; the change was recorded in "
                  "the audit log." if request.query_params.get("done") == "saved" else None},
        status=status)


@router.get("/thresholds")
def thresholds_page(request: Request,
                    principal: Principal = requires(Permission.CONSOLE_VIEW),
                    session: Session = DbSession) -> Response:
    _viewer(principal)
    return _thresholds_page(request, session, principal)


@router.post("/thresholds")
def set_threshold(request: Request, detector: Field = "", threshold: Field = "",
                  principal: Principal = requires(Permission.WATCH_MANAGE),
                  session: Session = DbSession) -> Response:
    try:
        with session.begin_nested():
            thresholds.update(session, principal, detector=detector, threshold=threshold,
                              now=now_of(request), ip=ip_of(request))
    except DomainError as exc:
        return _thresholds_page(request, session, principal, error=exc.detail,
                                form={"detector": detector, "threshold": threshold},
                                status=exc.status)
    return RedirectResponse("/console/watch/thresholds?done=saved", status_code=303)
