"""The report wizard at /report: one question per page, then the reporter's details, then the
messages, then the receipt. Works without JavaScript.

Every POST re-walks the whole flow from the start with the engine (`step`/`evaluate`), so an
edited hidden field can at worst send the reporter back to a question. Nothing is written
before the final "send": out-of-scope answers end on a page of where to go instead, and the
final submission runs in a savepoint, so a refused report leaves no row behind.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from childsafe.core.errors import InvalidInput
from childsafe.core.principal import ProviderPrincipal
from childsafe.reports import catalog, handoffs
from childsafe.reports.core.engine import (
    FlowResult,
    classify,
    evaluate,
    previous_question,
    prune,
    step,
)
from childsafe.reports.core.errors import AnswersInvalid, EvidenceRejected, IdentityInvalid
from childsafe.reports.core.identity import AgeBand, Relationship, parse_reporter
from childsafe.reports.core.model import Flow, Question
from childsafe.reports.core.views import question_view
from childsafe.reports.intake import Channel, RateLimited, submit_report
from childsafe.web.deps import DbSession, ip_of, pre_cookie_name, public, settings_of
from childsafe.web.handoff_words import attached_notice, word
from childsafe.web.report_common import (
    WizardState,
    clean_provider,
    csrf_ok,
    emergency_text,
    expired_page,
    form_of,
    lang_of,
    now_for,
    open_state,
    read_evidence_form,
    render,
    seal_state,
)
from childsafe.web.report_i18n import translator

router = APIRouter(include_in_schema=False)
Form = Depends(form_of)
DETAIL_FIELDS = ("name", "email", "phone", "country", "age_band", "relationship")
SUGGESTED_RELATIONSHIP = {"young_person": "self", "parent_carer": "parent_carer",
                          "professional": "teacher_professional"}


def _flow(request: Request) -> Flow:
    flow: Flow = request.app.state.flow
    return flow


def _audience(flow: Flow, clean: dict[str, Any]) -> str | None:
    audience = flow.audience_of(clean)
    return audience.value if audience else None


def _common(request: Request, state: WizardState) -> dict[str, Any]:
    flow = _flow(request)
    return {"state": seal_state(request, state), "lang_link": False,
            "emergency": emergency_text(request, flow, state.answers, state.lang,
                                        now_for(request)),
            "handoff_notice": attached_notice(state.lang, state.provider,
                                              state.handoff_messages) if state.handoff else None,
            "handoff_heading": word(state.lang, "attached_heading")}


def _question_page(request: Request, state: WizardState, question: Question,
                   error: str | None = None, status: int = 200) -> Response:
    flow = _flow(request)
    current = step(flow, state.answers, state.lang, now=now_for(request))
    audience = _audience(flow, current.answers)
    view = question_view(question, state.lang, audience)
    raw = state.answers.get(question.id)
    chosen = raw if isinstance(raw, list) else ([raw] if isinstance(raw, str) else [])
    number = current.path.index(question.id) + 1 if question.id in current.path else 1
    countries = catalog.country_choices(state.lang) if question.type == "country" else ()
    return render(request, "report/question.html", state.lang, _common(request, state) | {
        "q": view, "value": raw if isinstance(raw, str) else "", "chosen": chosen,
        "error": error, "number": number, "countries": countries,
        "first": question.id == flow.start}, status=status)


def _details_page(request: Request, state: WizardState, errors: dict[str, str] | None = None,
                  status: int = 200) -> Response:
    flow = _flow(request)
    current = step(flow, state.answers, state.lang, now=now_for(request))
    audience = _audience(flow, current.answers)
    values = {k: state.reporter.get(k, "") for k in DETAIL_FIELDS}
    if not values["country"]:
        values["country"] = str(current.answers.get("country") or "")
    if not values["relationship"]:
        values["relationship"] = SUGGESTED_RELATIONSHIP.get(audience or "", "")
    return render(request, "report/details.html", state.lang, _common(request, state) | {
        "values": values, "errors": errors or {},
        "why": catalog.load_guide("why_details").render(state.lang, audience),
        "countries": catalog.country_choices(state.lang),
        "age_bands": [b.value for b in AgeBand],
        "relationships": [r.value for r in Relationship]}, status=status)


def _answer_summary(flow: Flow, result: FlowResult, lang: str) -> list[tuple[str, str]]:
    """(question, answer) pairs in the reporter's words, for "check your answers"."""
    names = dict(catalog.country_choices(lang))
    audience = result.audience.value if result.audience else None
    rows: list[tuple[str, str]] = []
    for qid, value in result.answers.items():
        view = question_view(flow.question(qid), lang, audience)
        labels = {o.value: o.label for o in view.options}
        if value is None or value == "":
            text = translator(lang)("no_answer")
        elif isinstance(value, bool):
            text = labels["yes" if value else "no"]
        elif isinstance(value, list):
            text = "; ".join(labels.get(str(v), str(v)) for v in value)
        elif view.type == "country":
            text = names.get(str(value), str(value))
        else:
            text = labels.get(str(value), str(value))
        rows.append((view.text, text))
    return rows


def _evidence_page(request: Request, state: WizardState, result: FlowResult,
                   errors: dict[str, list[str]] | None = None, text: str = "",
                   status: int = 200) -> Response:
    return render(request, "report/evidence.html", state.lang, _common(request, state) | {
        "errors": errors or {}, "text": text, "had_error": bool(errors),
        "summary": _answer_summary(_flow(request), result, state.lang),
        "audience": result.audience.value if result.audience else None}, status=status)


def _finish(request: Request, state: WizardState) -> Response:
    """The questions are done: out of scope ends here (nothing filed), else ask who they are."""
    flow = _flow(request)
    try:
        result = evaluate(flow, state.answers, state.lang, now=now_for(request),
                          routing=request.app.state.routing, provider=state.provider)
    except AnswersInvalid:
        return _resume(request, state)
    if not result.classification.in_scope:
        return render(request, "report/outcome.html", state.lang, _common(request, state) | {
            "c": result.classification, "restart_query": _restart_query(state)})
    return _details_page(request, state)


def _restart_query(state: WizardState) -> str:
    params = {"lang": state.lang}
    if state.via == "embed":
        params["via"] = "embed"
        if state.provider:
            params["provider"] = state.provider
    return urlencode(params)


def _resume(request: Request, state: WizardState) -> Response:
    """Show wherever the walk stops now (the first unanswered or invalid question)."""
    current = step(_flow(request), state.answers, state.lang, now=now_for(request))
    if current.question is None:
        return _finish(request, state)
    error = current.error.detail if current.error else None
    return _question_page(request, state, current.question, error, 422 if error else 200)


@router.get("/report", dependencies=[public()])
def start(request: Request) -> Response:
    via = "embed" if request.query_params.get("via") == "embed" else "web"
    state = WizardState(lang=lang_of(request), via=via,
                        provider=clean_provider(request.query_params.get("provider")))
    return first_page(request, state)


def first_page(request: Request, state: WizardState) -> Response:
    """The first question, for a wizard started with `state` (e.g. a provider's hand-off)."""
    return _question_page(request, state, _flow(request).question(_flow(request).start))


def _submitted_answer(form: FormData, question: Question) -> Any:
    values = [v for v in form.getlist("answer") if isinstance(v, str)]
    if question.type == "multi_choice":
        return values[:len(question.options) + 1]
    return values[0][:question.max_length * 4 + 100] if values else ""


@router.post("/report", dependencies=[public()])
def answer(request: Request, form: FormData = Form) -> Response:
    state = open_state(request, form.get("state"))
    if state is None or not csrf_ok(request, form.get("csrf")):
        return expired_page(request, lang_of(request))
    flow = _flow(request)
    qid = form.get("q")
    if not isinstance(qid, str) or qid not in flow.questions:
        return _resume(request, state)
    question = flow.question(qid)
    action = form.get("action")
    submitted = _submitted_answer(form, question)
    if action == "lang":
        state.lang = next(x for x in ("en", "fr") if x != state.lang)
        state.answers[qid] = submitted
        return _question_page(request, state, question)
    if action == "back":
        if submitted:
            state.answers[qid] = submitted
        previous = _previous(flow, state, qid)
        return _question_page(request, state, previous or question)
    state.answers[qid] = submitted
    now = now_for(request)
    current = step(flow, state.answers, state.lang, now=now)
    if current.error is not None and current.question is not None:
        return _question_page(request, state, current.question, current.error.detail, 422)
    state.answers = prune(flow, state.answers, now=now)
    if qid not in current.path:
        return _resume(request, state)
    index = current.path.index(qid)
    if index + 1 < len(current.path):
        return _question_page(request, state, flow.question(current.path[index + 1]))
    return _finish(request, state)


def _previous(flow: Flow, state: WizardState, qid: str) -> Question | None:
    return previous_question(flow, state.answers, qid)


def _details_back(request: Request, state: WizardState) -> Response:
    path = step(_flow(request), state.answers, state.lang, now=now_for(request)).path
    return _question_page(request, state, _flow(request).question(path[-1]))


@router.post("/report/details", dependencies=[public()])
def details(request: Request, form: FormData = Form) -> Response:
    state = open_state(request, form.get("state"))
    if state is None or not csrf_ok(request, form.get("csrf")):
        return expired_page(request, lang_of(request))
    state.reporter = {k: v[:300] for k in DETAIL_FIELDS
                      if isinstance(v := form.get(k), str)}
    action = form.get("action")
    if action == "back":
        return _details_back(request, state)
    if action == "lang":
        state.lang = "fr" if state.lang == "en" else "en"
        return _details_page(request, state)
    result = _result(request, state)
    if result is None:
        return _resume(request, state)
    try:
        parse_reporter(state.reporter, state.lang)
    except IdentityInvalid as exc:
        return _details_page(request, state, {p.field: p.detail for p in exc.problems}, 422)
    return _evidence_page(request, state, result)


def _result(request: Request, state: WizardState) -> FlowResult | None:
    """The finished, in-scope questionnaire, or None (answers incomplete or out of scope)."""
    try:
        result = evaluate(_flow(request), state.answers, state.lang, now=now_for(request),
                          routing=request.app.state.routing, provider=state.provider)
    except AnswersInvalid:
        return None
    return result if result.classification.in_scope else None


@router.post("/report/evidence", dependencies=[public()])
def send(request: Request, form: FormData = Form, session: Session = DbSession) -> Response:
    state = open_state(request, form.get("state"))
    if state is None or not csrf_ok(request, form.get("csrf")):
        return expired_page(request, lang_of(request))
    action = form.get("action")
    if action == "back":
        return _details_page(request, state)
    result = _result(request, state)
    if result is None:
        return _resume(request, state)
    raw_text = form.get("text")
    if action == "lang":
        state.lang = "fr" if state.lang == "en" else "en"
        result = _result(request, state) or result
        return _evidence_page(request, state, result,
                              text=raw_text if isinstance(raw_text, str) else "")
    try:
        reporter = parse_reporter(state.reporter, state.lang)
    except IdentityInvalid as exc:
        return _details_page(request, state, {p.field: p.detail for p in exc.problems}, 422)
    now = now_for(request)
    evidence = read_evidence_form(form, state.lang, now)
    if evidence.errors:
        return _evidence_page(request, state, result, evidence.errors, evidence.text, 422)
    _ = translator(state.lang)
    ctx = request.app.state.intake()
    provider: ProviderPrincipal | None = None
    handoff_row = None
    if state.handoff:  # a provider's hand-off: its conversation is attached now
        try:
            handoff_row, loaded = handoffs.for_submit(
                session, ctx.keyring, state.handoff,
                request.cookies.get(pre_cookie_name(settings_of(request))), now=now)
            evidence.items.insert(0, loaded.conversation(now))
            provider = loaded.principal()
        except (handoffs.HandoffGone, EvidenceRejected):
            state.handoff, state.handoff_messages = None, 0
            return _evidence_page(request, state, result, {"form": [word(state.lang, "lost")]},
                                  evidence.text, 409)
    try:
        with session.begin_nested():  # a refusal rolls back to here: nothing half-written
            receipt = submit_report(
                session, ctx, result=result, reporter=reporter,
                evidence=evidence.items, channel=Channel.EMBED if state.via == "embed"
                else Channel.WEB, now=now, ip=ip_of(request), provider=provider)
            if handoff_row is not None:
                handoffs.mark_used(session, handoff_row, receipt.report_id, now=now,
                                   ip=ip_of(request))
    except handoffs.HandoffGone:  # sent meanwhile from another tab of this browser
        state.handoff, state.handoff_messages = None, 0
        return _evidence_page(request, state, result, {"form": [word(state.lang, "lost")]},
                              evidence.text, 409)
    except RateLimited:
        return _evidence_page(request, state, result, {"form": [_("rate_limited")]},
                              evidence.text, 429)
    except InvalidInput as exc:
        return _evidence_page(request, state, result, {"form": [exc.detail]}, evidence.text,
                              422)
    return RedirectResponse(f"/report/receipt/{receipt.status_token}?lang={state.lang}",
                            status_code=303)


def signposts_for(request: Request, flow_result: dict[str, Any], lang: str) -> Any:
    """The classification of a stored report, re-rendered in `lang` (for the receipt)."""
    flow = _flow(request)
    answers = dict(flow_result.get("answers") or {})
    return classify(flow, answers, lang, routing=request.app.state.routing)
