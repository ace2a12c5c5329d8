"""Report hand-off: a chat app's server hands a captured conversation to the web report form.

`POST /api/v1/report-handoffs` (provider key with `provider:report:write`) stores the
capture (validated exactly like the provider API's `conversation`) and the reporter's
prefill, sealed, and answers a single-use link valid for 30 minutes. The app opens the link
in the user's browser (a new tab): `GET /report/start/{token}` starts the usual wizard with
the reporter's details prefilled (editable) and a notice that the conversation is attached;
on "send" the report gets the conversation as evidence (hashed at receipt) and the
provider's id. A link that is unknown, expired, used or opened in another browser shows a
friendly page. See `childsafe.reports.handoffs` for the rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from childsafe.core.permissions import Permission
from childsafe.core.principal import ProviderPrincipal
from childsafe.reports import handoffs
from childsafe.reports.core.evidence.conversation import parse_conversation
from childsafe.web import report_wizard
from childsafe.web.deps import DbSession, ip_of, now_of, public, requires_provider, settings_of
from childsafe.web.handoff_words import word
from childsafe.web.problems import problem
from childsafe.web.report_common import (
    WizardState,
    clean_provider,
    lang_of,
    pre_binding,
    render,
)
from childsafe.web.schemas import ERRORS, Problem

router = APIRouter(tags=["reports"])

_CONVERSATION_EXAMPLE = {
    "platform": "chatty.test", "room_id": "teen-lounge-3",
    "participants": [
        {"user_id": "u-4821", "display_name": "Kim", "declared_age": 13, "role": "reporter"},
        {"user_id": "u-77", "display_name": "sam_99", "role": "reported"}],
    "messages": [
        {"id": "m-1001", "sender": "u-77", "sent_at": "2026-11-20T18:04:05Z",
         "text": "how old are you?"},
        {"id": "m-1002", "sender": "u-4821", "sent_at": "2026-11-20T18:04:40Z", "text": "13"},
        {"id": "m-1003", "sender": "u-77", "sent_at": "2026-11-20T18:05:10Z",
         "text": "are you alone right now? let's keep this our secret"}]}


_BODY_EXAMPLE: Any = {
    "conversation": _CONVERSATION_EXAMPLE,
    "reporter": {"name": "Kim Young", "email": "kim@example.com", "country": "GB",
                 "age_band": "13_15", "relationship": "self"},
    "language": "en", "audience": "young_person", "room_title": "Teen lounge"}


class HandoffIn(BaseModel):
    """What the reporter's chat app knows: the conversation and who is reporting."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_BODY_EXAMPLE]})
    conversation: dict[str, Any] = Field(
        description="Structured capture, exactly as for POST /api/v1/reports: platform, "
                    "room_id, participants (user_id, display_name, declared_age, role "
                    "reporter|reported|other), messages (id, sender, sent_at with a time zone, "
                    "text)", examples=[_CONVERSATION_EXAMPLE])
    reporter: dict[str, Any] = Field(
        default_factory=dict,
        description="Prefill of the reporter's details, each optional and editable by the "
                    "reporter: name, email, phone, country (ISO alpha-2), age_band (under_13, "
                    "13_15, 16_17, 18_plus), relationship (self, parent_carer, relative, "
                    "friend, teacher_professional, other)",
        examples=[{"name": "Kim Young", "email": "kim@example.com", "country": "GB"}])
    language: Literal["en", "fr"] = Field("en", description="Language of the form")
    audience: Literal["young_person", "parent_carer", "other_adult", "professional"] | None = \
        Field(None, description="Who is reporting, preselected in the form (the reporter can "
                                "change it)", examples=["young_person"])
    room_title: str | None = Field(None, max_length=handoffs.ROOM_TITLE_MAX,
                                   description="The room's name as your users see it",
                                   examples=["Teen lounge"])


class HandoffOut(BaseModel):
    id: str = Field(description="The hand-off's id (for your logs)",
                    examples=["6f1c2a9e-3b7d-4c2e-9a51-0d8e4f7b6a13"])
    url: str = Field(description="Open this in the user's browser, in a new tab. It works "
                                 "once, in one browser; never log or share it",
                     examples=["https://childsafe.example/report/start/"
                               "N2Y0ZjA1YzQtZXhhbXBsZS10b2tlbi1vbmx5LXNhbXBsZQ"])
    expires_at: datetime = Field(description="The link must be opened before this (30 min); "
                                             "once opened the reporter has 6 hours to send")
    messages: int = Field(description="Messages attached", examples=[3])
    conversation_sha256: str = Field(
        description="SHA-256 of the capture's canonical form: the hash the evidence will carry",
        examples=["9f2c5e0d1b7a4c3e8f6a2d1c0b9e8f7a6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a"])


_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    413: {"model": Problem, "description": "The capture is too large (`too_large`)"},
    422: {"model": Problem, "description": "The capture or the prefill is invalid; `errors` "
                                           "names each field (e.g. `messages[3].sent_at`, "
                                           "`reporter.email`)"},
    429: {"model": Problem, "description": "Too many hand-offs from this provider this hour "
                                           "(`rate_limited`); see Retry-After",
          "headers": {"Retry-After": {"description": "Seconds to wait",
                                      "schema": {"type": "integer"}}}},
}


@router.post("/api/v1/report-handoffs", response_model=HandoffOut, status_code=201,
             responses=_RESPONSES, summary="Hand a captured conversation to the web report form")
def create_handoff(body: HandoffIn, request: Request, session: Session = DbSession,
                   provider: ProviderPrincipal = requires_provider(
                       Permission.PROVIDER_REPORT_WRITE)) -> Any:
    """For a "Report abuse" button that opens the platform's own form instead of building
    one: your server sends the conversation and what it knows of the reporter, then opens
    the returned `url` in the user's browser. The reporter answers the qualifying questions
    there, checks their prefilled details and sends; the report then carries the
    conversation as evidence (hashed at receipt: `conversation_sha256`) and your provider id.

    The link is unguessable, single use, opens in one browser only and expires after 30
    minutes. The capture and the prefill are encrypted at rest and wiped once the report is
    sent or the link expires. At most 600 hand-offs per provider per hour (429 with
    Retry-After beyond). Not idempotent: each call makes a new link."""
    now = now_of(request)
    conversation = parse_conversation(body.conversation, now=now)
    reporter = handoffs.check_prefill(body.reporter)
    room_title = " ".join((body.room_title or "").split()) or None
    limit = getattr(request.app.state, "handoffs_per_provider_per_hour",
                    handoffs.PER_PROVIDER_PER_HOUR)
    try:
        issued = handoffs.create(
            session, settings_of(request).keyring, request.app.state.limiter, provider,
            conversation=conversation, reporter=reporter, language=body.language,
            audience=body.audience, room_title=room_title, now=now, limit=limit)
    except handoffs.HandoffRateLimited as exc:
        return problem(429, exc.title, exc.detail, code=exc.code, instance=request.url.path,
                       headers={"retry-after": str(exc.retry_after)})
    base = settings_of(request).base_url.rstrip("/")
    return HandoffOut(id=issued.id, url=f"{base}/report/start/{issued.token}",
                      expires_at=issued.expires_at, messages=issued.messages,
                      conversation_sha256=issued.conversation_sha256)


_GONE_STATUS = {handoffs.Gone.UNKNOWN: 404, handoffs.Gone.EXPIRED: 410,
                handoffs.Gone.USED: 410, handoffs.Gone.ELSEWHERE: 409}


@router.get("/report/start/{token}", include_in_schema=False, dependencies=[public()])
def start_from_handoff(token: str, request: Request, session: Session = DbSession) -> Response:
    """The reporter's browser opens the hand-off link: the wizard starts with it loaded."""
    now = now_of(request)
    try:
        loaded = handoffs.open_link(session, settings_of(request).keyring, token,
                                    pre_binding(request), now=now, ip=ip_of(request))
    except handoffs.HandoffGone as exc:
        lang = lang_of(request)
        reason = exc.reason.value
        return render(request, "report/handoff_gone.html", lang, {
            "title": word(lang, f"gone_{reason}_title"), "text": word(lang, f"gone_{reason}"),
            "reason": reason, "danger": word(lang, "danger"),
            "make_report": word(lang, "make_report")}, status=_GONE_STATUS[exc.reason])
    lang = lang_of(request, loaded.language)
    answers: dict[str, Any] = {}
    if loaded.audience:
        answers["who"] = loaded.audience
    if loaded.reporter.get("country"):
        answers["country"] = loaded.reporter["country"]
    state = WizardState(answers=answers, lang=lang, via="embed",
                        provider=clean_provider(loaded.provider_name),
                        reporter={k: v for k, v in loaded.reporter.items()
                                  if k in report_wizard.DETAIL_FIELDS},
                        handoff=loaded.id, handoff_messages=loaded.messages)
    response = report_wizard.first_page(request, state)
    response.headers["referrer-policy"] = "no-referrer"  # the token is in this page's URL
    return response
