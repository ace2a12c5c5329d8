"""The case page and its actions: claim, release, note, advise, escalate, close; evidence.

Evidence is served only through `evidence_file`, which checks visibility, re-checks the hash
taken at receipt and audits the view. Images arrive blurred and greyscale (moderator
wellness); revealing one is a deliberate click.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent
from childsafe.core.errors import DomainError, NotFound, PermissionDenied
from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal
from childsafe.reports import intake, pooling, preservation
from childsafe.reports.advice import templates_for
from childsafe.store import audit, cases, casework
from childsafe.store.agencies import list_agencies
from childsafe.store.models import AgencyRow, UserRow
from childsafe.store.report_models import EvidenceRow, ReportRow, ReportUpdateRow
from childsafe.web import denials
from childsafe.web.console import page
from childsafe.web.deps import DbSession, ip_of, now_of, requires, settings_of

router = APIRouter(prefix="/cases", include_in_schema=False)
Field = Annotated[str, Form(max_length=20_000)]
IMAGE_KINDS = {"image/png", "image/jpeg", "image/gif"}


def _question_texts(request: Request) -> dict[str, str]:
    flow = request.app.state.flow
    return {qid: q.text.render("en", None) for qid, q in flow.questions.items()}


def _conversation(settings: Any, row: EvidenceRow) -> dict[str, Any]:
    return dict(json.loads(intake.read_evidence(settings.keyring, row)))


def _report_view(request: Request, session: Session, report: ReportRow) -> dict[str, Any]:
    settings = settings_of(request)
    evidence = list(session.scalars(select(EvidenceRow).where(EvidenceRow.report_id == report.id)
                                    .order_by(EvidenceRow.received_at)))
    items = []
    for row in evidence:
        item: dict[str, Any] = {"row": row, "image": row.mime in IMAGE_KINDS}
        if row.kind == "text":
            item["text"] = intake.read_evidence(settings.keyring, row).decode("utf-8")
        elif row.kind == "conversation":
            item["conversation"] = _conversation(settings, row)
        items.append(item)
    texts = _question_texts(request)
    answers = (report.flow_result or {}).get("answers", {})
    updates = list(session.scalars(select(ReportUpdateRow).where(
        ReportUpdateRow.report_id == report.id).order_by(ReportUpdateRow.created_at)))
    return {"report": report, "reporter": intake.read_reporter(settings.keyring, report),
            "answers": [(texts.get(k, k), v) for k, v in answers.items()],
            "evidence": items, "updates": updates}


@router.post("/bulk-assign")
def bulk_assign(request: Request, case_ids: Annotated[list[str], Form(max_length=200)],
                officer: Annotated[int, Form()],
                principal: Principal = requires(Permission.CASE_SHARE),
                session: Session = DbSession) -> Response:
    """Supervisors assign several cases at once from the queue."""
    casework.assign(session, principal, case_ids, officer, now_of(request))
    return RedirectResponse("/", status_code=303)


@router.get("/{case_id}")
def case_page(case_id: str, request: Request,
              principal: Principal = requires(Permission.CASE_READ),
              session: Session = DbSession) -> Response:
    case = cases.get_case(session, principal, case_id, ip=ip_of(request))
    return _render(request, session, principal, case)


def _render(request: Request, session: Session, principal: Principal, case: Any, *,
            error: str | None = None, status: int = 200) -> Response:
    from childsafe.store.case_models import PoliceStationRow

    reports = [_report_view(request, session, r) for r in casework.reports_of(session, case)]
    audience = reports[0]["report"].audience if reports else None
    category = reports[0]["report"].category if reports else ""
    chosen = request.query_params.get("template", "")
    templates = templates_for(category)
    draft = next((t.render(audience) for t in templates if t.id == chosen), "")
    assignee = session.get(UserRow, case.assigned_to) if case.assigned_to else None
    stations = list(session.scalars(select(PoliceStationRow).where(
        PoliceStationRow.country.in_([case.country or "", "*"])).order_by(PoliceStationRow.name)))
    pool = pooling.matches(session, principal, case.id, ip=ip_of(request)) \
        if case.agency_id == principal.agency_id else []
    return page(request, "case.html", {
        "pool": pool,
        "case": case, "owner": session.get(AgencyRow, case.agency_id), "reports": reports,
        "notes": casework.notes(session, case), "timeline": casework.timeline(session, case),
        "templates": templates, "draft": draft, "assignee": assignee, "stations": stations,
        "outcomes": casework.OUTCOMES, "error": error, "now": now_of(request),
        "agencies": [a for a in list_agencies(session) if a.id != case.agency_id],
        "owned": case.agency_id == principal.agency_id,
        "done": request.query_params.get("done")}, status=status)


def _act(request: Request, session: Session, principal: Principal, case_id: str,
         action: Any, done: str) -> Response:
    try:
        with session.begin_nested():
            action()
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        if isinstance(exc, PermissionDenied):  # e.g. a shared case's owner-only action
            denials.record_here(request, session, exc)
        case = cases.get_case(session, principal, case_id, ip=ip_of(request))
        return _render(request, session, principal, case, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/cases/{case_id}?done={done}", status_code=303)


@router.post("/{case_id}/claim")
def claim(case_id: str, request: Request, principal: Principal = requires(Permission.CASE_WRITE),
          session: Session = DbSession) -> Response:
    return _act(request, session, principal, case_id,
                lambda: casework.claim(session, principal, case_id, now_of(request)), "claimed")


@router.post("/{case_id}/release")
def release(case_id: str, request: Request,
            principal: Principal = requires(Permission.CASE_WRITE),
            session: Session = DbSession) -> Response:
    return _act(request, session, principal, case_id,
                lambda: casework.release(session, principal, case_id, now_of(request)),
                "released")


@router.post("/{case_id}/note")
def note(case_id: str, request: Request, note: Field = "",
         principal: Principal = requires(Permission.CASE_WRITE),
         session: Session = DbSession) -> Response:
    return _act(request, session, principal, case_id,
                lambda: casework.add_note(session, principal, case_id, note, now_of(request)),
                "noted")


@router.post("/{case_id}/advise")
def advise(case_id: str, request: Request, advice: Field = "",
           principal: Principal = requires(Permission.CASE_WRITE),
           session: Session = DbSession) -> Response:
    settings = settings_of(request)
    return _act(request, session, principal, case_id,
                lambda: casework.advise(session, principal, case_id, advice, now_of(request),
                                        keyring=settings.keyring, base_url=settings.base_url),
                "advised")


@router.post("/{case_id}/escalate")
def escalate(case_id: str, request: Request, station: Annotated[int, Form()] = 0,
             reason: Field = "", principal: Principal = requires(Permission.CASE_WRITE),
             session: Session = DbSession) -> Response:
    return _act(request, session, principal, case_id,
                lambda: casework.escalate(session, principal, case_id, station, reason,
                                          now_of(request)), "escalated")


@router.post("/{case_id}/close")
def close(case_id: str, request: Request, outcome: Field = "",
          principal: Principal = requires(Permission.CASE_WRITE),
          session: Session = DbSession) -> Response:
    return _act(request, session, principal, case_id,
                lambda: casework.close(session, principal, case_id, outcome, now_of(request)),
                "closed")


@router.post("/{case_id}/transfer")
def transfer(case_id: str, request: Request, agency: Field = "", reason: Field = "",
             mode: Field = "share", principal: Principal = requires(Permission.CASE_SHARE),
             session: Session = DbSession) -> Response:
    """Share with (read-only) or transfer to another agency; the reason is audited."""
    act = casework.transfer if mode == "transfer" else casework.share
    return _act(request, session, principal, case_id,
                lambda: act(session, principal, case_id, agency, reason, now_of(request)),
                "transferred" if mode == "transfer" else "shared")


@router.post("/{case_id}/sharing-request")
def sharing_request(case_id: str, request: Request, agency: Field = "", reason: Field = "",
                    principal: Principal = requires(Permission.CASE_SHARE),
                    session: Session = DbSession) -> Response:
    """Ask an agency holding matching cases to share them (they approve or refuse)."""
    return _act(request, session, principal, case_id,
                lambda: pooling.request_sharing(session, principal, case_id, agency, reason,
                                                now_of(request), ip=ip_of(request)),
                "sharing requested")


@router.post("/{case_id}/preserve")
def preserve(case_id: str, request: Request,
             principal: Principal = requires(Permission.CASE_WRITE),
             session: Session = DbSession) -> Response:
    """Ask the provider(s) whose app filed the reports to preserve the data (signed webhook)."""
    keyring = settings_of(request).keyring
    return _act(request, session, principal, case_id,
                lambda: preservation.request_preservation(session, keyring, principal, case_id,
                                                          now_of(request)),
                "preservation requested")


@router.get("/{case_id}/referral")
def referral(case_id: str, request: Request,
             principal: Principal = requires(Permission.CASE_WRITE),
             session: Session = DbSession) -> Response:
    """A printable police referral: summary, triage reasons and evidence hashes (no content).

    Part of escalating, so officers may print it; every print is audited as an export. Like
    escalating, it is the owning agency's: an agency the case is shared with reads it only."""
    case = cases.get_case(session, principal, case_id, ip=ip_of(request))
    if case.agency_id != principal.agency_id:
        raise PermissionDenied("This case is shared with your agency for reading only; the "
                               "agency that owns it prints the referral.")
    audit.append(session, AuditEvent("case.export", actor=principal.username,
                                     agency=principal.agency_code, object_type="case",
                                     object_id=case.id, detail={"format": "referral"},
                                     ip=ip_of(request)))
    reports = [_report_view(request, session, r) for r in casework.reports_of(session, case)]
    return page(request, "referral.html", {"case": case, "reports": reports,
                                           "owner": session.get(AgencyRow, case.agency_id),
                                           "now": now_of(request)})


@router.get("/{case_id}/evidence/{evidence_id}")
def evidence_file(case_id: str, evidence_id: str, request: Request,
                  principal: Principal = requires(Permission.EVIDENCE_READ),
                  session: Session = DbSession) -> Response:
    case = cases.get_case(session, principal, case_id, ip=ip_of(request))
    row = session.scalar(select(EvidenceRow).join(ReportRow, ReportRow.id == EvidenceRow.report_id)
                         .where(EvidenceRow.id == evidence_id[:36], ReportRow.case_id == case.id))
    if row is None:
        raise NotFound("No such evidence.")
    data = intake.read_evidence(settings_of(request).keyring, row)
    audit.append(session, AuditEvent("evidence.view", actor=principal.username,
                                     agency=principal.agency_code, object_type="evidence",
                                     object_id=row.id, detail={"case": case.id, "sha256": row.sha256},
                                     ip=ip_of(request)))
    mime = row.mime if row.kind == "file" else "text/plain; charset=utf-8"
    return Response(data, media_type=mime, headers={
        "content-disposition": f'inline; filename="{row.server_name}"',
        "content-security-policy": "sandbox; default-src 'none'; img-src 'self'",
        "x-content-type-options": "nosniff", "cache-control": "no-store"})
