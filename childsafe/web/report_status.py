"""After sending: the receipt, email verification (typed code or mailed link) and the private
status page where the reporter reads advice and adds information.

Whoever holds the status link sees only what the reporter may see: the reference, a plain
state, advice and status updates, their own notes, and what evidence was received (kind, name,
size, hash — never its content). Never officer names, internal notes or the reporter's
details. A wrong code is committed (the attempt counts) before the page answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from childsafe.core.errors import InvalidInput, NotFound
from childsafe.reports import catalog
from childsafe.reports.core.engine import emergency_guidance
from childsafe.reports.core.errors import VerificationFailed
from childsafe.reports.core.verification import CheckResult
from childsafe.reports.intake import (
    RateLimited,
    ReportState,
    add_evidence,
    add_reporter_note,
    report_by_status_token,
    verify_with_code,
    verify_with_link,
)
from childsafe.reports.resend import resend_verification
from childsafe.store.report_models import EvidenceRow, ReportRow, ReportUpdateRow
from childsafe.web.deps import DbSession, public, settings_of
from childsafe.web.report_common import (
    csrf_ok,
    form_of,
    lang_of,
    now_for,
    read_evidence_form,
    render,
)
from childsafe.web.report_i18n import translator
from childsafe.web.report_wizard import signposts_for

router = APIRouter(include_in_schema=False)
Form = Depends(form_of)
VISIBLE_UPDATES = ("status", "advice", "reporter_note")  # never internal kinds
STATUS_WORDS = {"with_officers": "status_with_officers", "closed": "status_closed"}


def _report(session: Session, token: str) -> ReportRow | None:
    try:
        return report_by_status_token(session, token)
    except NotFound:
        return None


def _not_found(request: Request, lang: str) -> Response:
    return render(request, "report/message.html", lang,
                  {"title_key": "not_found_title", "text_key": "not_found", "restart": True},
                  status=404)


def _emergency(request: Request, report: ReportRow, lang: str) -> str | None:
    if not report.immediate:
        return None
    flow = request.app.state.flow
    return emergency_guidance(flow, lang, report.audience,
                              jurisdiction=request.app.state.routing.route(report.country))


def _evidence_rows(session: Session, report: ReportRow) -> list[EvidenceRow]:
    return list(session.scalars(select(EvidenceRow).where(EvidenceRow.report_id == report.id)
                                .order_by(EvidenceRow.received_at, EvidenceRow.id)))


def _facts(request: Request, session: Session, report: ReportRow, lang: str) -> dict[str, Any]:
    return {"report": report, "emergency": _emergency(request, report, lang),
            "awaiting": report.state == ReportState.AWAITING_VERIFICATION.value,
            "evidence": _evidence_rows(session, report), "lang_link": True}


@router.get("/report/receipt/{token}", dependencies=[public()])
def receipt(request: Request, token: str, session: Session = DbSession) -> Response:
    report = _report(session, token)
    lang = lang_of(request, report.language if report else None)
    if report is None:
        return _not_found(request, lang)
    try:
        outcome = signposts_for(request, report.flow_result, lang)
    except (KeyError, ValueError, TypeError):
        outcome = None  # a result of an older flow version: the receipt still works
    tips = catalog.load_tips().tips_for(report.audience, lang) if report.audience else []
    # The configured public address, as in the mailed link (request.base_url may be internal).
    status_url = settings_of(request).base_url.rstrip("/") + f"/report/status/{token}"
    return render(request, "report/receipt.html", lang, _facts(request, session, report, lang) | {
        "token": token, "status_url": status_url, "outcome": outcome, "tips": tips})


def _status_page(request: Request, session: Session, report: ReportRow, token: str, lang: str,
                 *, errors: dict[str, list[str]] | None = None, note: str = "",
                 status: int = 200) -> Response:
    updates = list(session.scalars(
        select(ReportUpdateRow).where(ReportUpdateRow.report_id == report.id,
                                      ReportUpdateRow.kind.in_(VISIBLE_UPDATES))
        .order_by(ReportUpdateRow.created_at, ReportUpdateRow.id)))
    _ = translator(lang)
    shown = []
    for u in updates:
        body = _(STATUS_WORDS.get(u.body, "status_other")) if u.kind == "status" else u.body
        shown.append({"kind": u.kind, "when": u.created_at, "body": body})
    added = request.query_params.get("added")
    return render(request, "report/status.html", lang, _facts(request, session, report, lang) | {
        "token": token, "updates": shown, "errors": errors or {}, "note": note,
        "added": added if added in ("note", "evidence") else None,
        "closed": report.state == ReportState.CLOSED.value}, status=status)


@router.get("/report/status/{token}", dependencies=[public()])
def status_page(request: Request, token: str, session: Session = DbSession) -> Response:
    report = _report(session, token)
    lang = lang_of(request, report.language if report else None)
    if report is None:
        return _not_found(request, lang)
    return _status_page(request, session, report, token, lang)


def _verification_page(request: Request, lang: str, result: str, token: str | None,
                       status: int) -> Response:
    return render(request, "report/verified.html", lang, {
        "result": result, "token": token}, status=status)


_RESULT_STATUS = {CheckResult.VERIFIED: 200, CheckResult.WRONG: 422, CheckResult.EXPIRED: 410,
                  CheckResult.LOCKED: 429}


def _posted(request: Request, session: Session, token: str,
            form: FormData) -> tuple[ReportRow, str] | Response:
    """Every form on the status page: the report behind the token, and a valid CSRF token."""
    report = _report(session, token)
    lang = lang_of(request, report.language if report else None)
    if report is None:
        return _not_found(request, lang)
    if not csrf_ok(request, form.get("csrf")):
        return render(request, "report/message.html", lang,
                      {"title_key": "expired_title", "text_key": "expired"}, status=403)
    return report, lang


@router.post("/report/status/{token}/verify", dependencies=[public()])
def verify_code(request: Request, token: str, form: FormData = Form,
                session: Session = DbSession) -> Response:
    checked = _posted(request, session, token, form)
    if isinstance(checked, Response):
        return checked
    report, lang = checked
    code = form.get("code")
    try:
        result = verify_with_code(session, request.app.state.intake(), token,
                                  code[:20] if isinstance(code, str) else "", now_for(request))
    except (InvalidInput, VerificationFailed):
        return _verification_page(request, lang, "no_email", token, 422)
    # The attempt is committed when this returns, whatever the result: the counter holds.
    return _verification_page(request, lang, result.value, token, _RESULT_STATUS[result])


@router.post("/report/status/{token}/resend", dependencies=[public()])
def resend_code(request: Request, token: str, form: FormData = Form,
                session: Session = DbSession) -> Response:
    """Mail a new code (the old one expired or was typed wrongly too often)."""
    checked = _posted(request, session, token, form)
    if isinstance(checked, Response):
        return checked
    report, lang = checked
    try:
        resend_verification(session, request.app.state.intake(), token, now_for(request))
    except NotFound:
        return _not_found(request, lang)
    except RateLimited:
        return _verification_page(request, lang, "resend_limited", token, 429)
    except InvalidInput:
        return _verification_page(request, lang, "no_email", token, 422)
    return _verification_page(request, lang, "resent", token, 200)


@router.get("/report/verify/{report_id}/{link_token}", dependencies=[public()])
def verify_link(request: Request, report_id: str, link_token: str,
                session: Session = DbSession) -> Response:
    report = session.get(ReportRow, report_id[:36])
    lang = lang_of(request, report.language if report else None)
    try:
        result = verify_with_link(session, request.app.state.intake(), report_id, link_token,
                                  now_for(request))
    except (NotFound, InvalidInput):
        return _verification_page(request, lang, "bad_link", None, 404)
    return _verification_page(request, lang, result.value, None, _RESULT_STATUS[result])


@router.post("/report/status/{token}/note", dependencies=[public()])
def add_note(request: Request, token: str, form: FormData = Form,
             session: Session = DbSession) -> Response:
    checked = _posted(request, session, token, form)
    if isinstance(checked, Response):
        return checked
    report, lang = checked
    raw = form.get("note")
    note = raw if isinstance(raw, str) else ""
    _ = translator(lang)
    if report.state == ReportState.CLOSED.value:
        return _status_page(request, session, report, token, lang,
                            errors={"note": [_("closed_no_add")]}, note=note, status=422)
    try:
        add_reporter_note(session, report, note, now_for(request))
    except InvalidInput:
        key = "note_empty" if not note.strip() else "note_too_long"
        return _status_page(request, session, report, token, lang, errors={"note": [_(key)]},
                            note=note, status=422)
    return RedirectResponse(f"/report/status/{token}?added=note&lang={lang}", status_code=303)


@router.post("/report/status/{token}/evidence", dependencies=[public()])
def more_evidence(request: Request, token: str, form: FormData = Form,
                  session: Session = DbSession) -> Response:
    checked = _posted(request, session, token, form)
    if isinstance(checked, Response):
        return checked
    report, lang = checked
    _ = translator(lang)
    now = now_for(request)
    evidence = read_evidence_form(form, lang, now)
    if not evidence.errors and not evidence.items:
        evidence.errors["files"] = [_("ev_nothing")]
    if report.state == ReportState.CLOSED.value:
        evidence.errors["files"] = [_("closed_no_add")]
    if evidence.errors:
        return _status_page(request, session, report, token, lang, errors=evidence.errors,
                            status=422)
    try:
        with session.begin_nested():
            add_evidence(session, request.app.state.intake(), report, evidence.items, now=now,
                         source="reporter")
    except RateLimited:
        return _status_page(request, session, report, token, lang,
                            errors={"files": [_("rate_limited")]}, status=429)
    except InvalidInput as exc:
        return _status_page(request, session, report, token, lang,
                            errors={"files": [exc.detail]}, status=422)
    return RedirectResponse(f"/report/status/{token}?added=evidence&lang={lang}",
                            status_code=303)
