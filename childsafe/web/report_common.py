"""Shared plumbing of the public report pages: language, CSRF for visitors, the wizard's
carried state, evidence from a form, and page rendering.

Reporters have no session, so every form's CSRF token is bound to the pre-session cookie (as
on the login page). The wizard carries its answers in a MAC'd blob: the MAC only stops a
visitor from editing the blob by hand; nothing in it is trusted, the engine re-validates every
answer on every step.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from childsafe.core.accounts import new_token
from childsafe.reports.core.answers import has_unsafe_chars
from childsafe.reports.core.engine import emergency_guidance, step
from childsafe.reports.core.errors import EvidenceRejected
from childsafe.reports.core.evidence.files import MAX_FILE_BYTES, receive_file, sanitize_client_name
from childsafe.reports.core.evidence.text import accept_pasted_text
from childsafe.reports.core.i18n import LANGUAGES, pick_language
from childsafe.reports.core.model import Flow
from childsafe.reports.intake import MAX_EVIDENCE_ITEMS, EvidenceItem, FileUpload
from childsafe.web.deps import now_of, pre_cookie_name, settings_of
from childsafe.web.report_i18n import translator
from childsafe.web.security import csrf_token, csrf_valid

PRE_COOKIE_SECONDS = 6 * 3600  # a frightened reporter may take a while; sliding on each page
STATE_MAX_CHARS = 40_000
PROVIDER_MAX = 60


async def form_of(request: Request) -> AsyncIterator[FormData]:
    """The parsed form (already parsed by the app-wide CSRF reader; Starlette caches it);
    uploaded files are closed when the request ends, whatever the endpoint returned."""
    form = await request.form()
    try:
        yield form
    finally:
        await form.close()


def lang_of(request: Request, fallback: str | None = None) -> str:
    return pick_language(request.query_params.get("lang") or fallback)


def other_lang(lang: str) -> str:
    return next((x for x in LANGUAGES if x != lang), lang)


def clean_provider(raw: object) -> str | None:
    """A provider name from the embed link: display text only, never trusted for anything."""
    if not isinstance(raw, str):
        return None
    value = " ".join(raw.split())[:PROVIDER_MAX]
    return value if value and not has_unsafe_chars(value) else None


# ---- CSRF bound to the pre-session cookie -------------------------------------------------

def pre_binding(request: Request) -> str:
    """The visitor's pre-session value (made up now if the browser has none)."""
    existing = getattr(request.state, "pre_binding", None)
    if existing:
        return str(existing)
    value = request.cookies.get(pre_cookie_name(settings_of(request)))
    if not value or len(value) > 100:
        value = new_token()
    request.state.pre_binding = value
    return value


def csrf_for(request: Request) -> str:
    return csrf_token(settings_of(request).secret_key, pre_binding(request))


def csrf_ok(request: Request, presented: object) -> bool:
    cookie = request.cookies.get(pre_cookie_name(settings_of(request)))
    return csrf_valid(settings_of(request).secret_key, cookie,
                      presented if isinstance(presented, str) else None)


def keep_pre_cookie(request: Request, response: Response) -> None:
    settings = settings_of(request)
    response.set_cookie(pre_cookie_name(settings), pre_binding(request),
                        max_age=PRE_COOKIE_SECONDS, path="/", secure=settings.cookie_secure,
                        httponly=True, samesite="strict")


# ---- the wizard's carried state -----------------------------------------------------------

@dataclass
class WizardState:
    answers: dict[str, Any] = field(default_factory=dict)
    lang: str = "en"
    via: str = "web"
    provider: str | None = None
    reporter: dict[str, str] = field(default_factory=dict)
    handoff: str | None = None  # a provider's report hand-off (its id), checked at "send"
    handoff_messages: int = 0  # for the "conversation attached" notice

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"a": self.answers, "l": self.lang, "v": self.via,
                               "p": self.provider, "r": self.reporter}
        if self.handoff:
            doc["h"] = [self.handoff, self.handoff_messages]
        return doc


def _state_key(request: Request) -> bytes:
    return hmac.new(settings_of(request).secret_key, b"report-wizard-state",
                    hashlib.sha256).digest()


def seal_state(request: Request, state: WizardState) -> str:
    body = base64.urlsafe_b64encode(json.dumps(state.to_json(), separators=(",", ":"),
                                               ensure_ascii=False).encode()).decode()
    mac = hmac.new(_state_key(request), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def _str_or_list(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def open_state(request: Request, raw: object) -> WizardState | None:
    """The carried state, or None if missing, too big or not made by us."""
    if not isinstance(raw, str) or len(raw) > STATE_MAX_CHARS or "." not in raw:
        return None
    body, _, mac = raw.rpartition(".")
    good = hmac.new(_state_key(request), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(good, mac):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    answers = {str(k): v for k, v in (data.get("a") or {}).items()
               if _str_or_list(v) is not None}
    reporter = {str(k): v for k, v in (data.get("r") or {}).items() if isinstance(v, str)}
    handoff = data.get("h")
    handoff_id, handoff_messages = (
        (handoff[0], handoff[1]) if isinstance(handoff, list) and len(handoff) == 2
        and isinstance(handoff[0], str) and isinstance(handoff[1], int) else (None, 0))
    return WizardState(answers, pick_language(data.get("l")),
                       "embed" if data.get("v") == "embed" else "web",
                       clean_provider(data.get("p")), reporter, handoff_id, handoff_messages)


# ---- emergency guidance -------------------------------------------------------------------

def emergency_text(request: Request, flow: Flow, answers: dict[str, Any], lang: str,
                   now: datetime) -> str | None:
    """The "call now" notice once the reporter said someone is in danger, else None."""
    current = step(flow, answers, lang, now=now)
    if not current.immediate:
        return None
    audience = flow.audience_of(current.answers)
    country = current.answers.get("country")
    jurisdiction = request.app.state.routing.route(country) if country else None
    return emergency_guidance(flow, lang, audience.value if audience else None,
                              jurisdiction=jurisdiction)


# ---- evidence from a form -----------------------------------------------------------------

@dataclass
class EvidenceForm:
    items: list[EvidenceItem]
    errors: dict[str, list[str]]
    text: str


def read_evidence_form(form: FormData, lang: str, now: datetime) -> EvidenceForm:
    """Pasted text (byte-exact) and uploaded files, each checked by the intake core; every
    problem is reported with a specific message, in the reporter's language."""
    _ = translator(lang)
    items: list[EvidenceItem] = []
    errors: dict[str, list[str]] = {}
    raw_text = form.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    if text.strip():
        try:
            items.append(accept_pasted_text(text))
        except EvidenceRejected as exc:
            key = "ev_text_too_large" if exc.code == "too_large" else "ev_text_malformed"
            errors.setdefault("text", []).append(_(key))
    uploads = [u for u in form.getlist("files") if isinstance(u, UploadFile)]
    for upload in uploads:
        data = upload.file.read(MAX_FILE_BYTES + 1)
        if not upload.filename and not data:
            continue  # the empty part a browser sends when no file was chosen
        name = sanitize_client_name(upload.filename) or "file"
        try:
            got = receive_file(data, received_at=now, client_name=upload.filename,
                               declared_type=upload.content_type)
        except EvidenceRejected as exc:
            key = f"ev_{exc.code}" if f"ev_{exc.code}" in _KNOWN_CODES else "ev_malformed"
            errors.setdefault("files", []).append(_(key, name=name))
            continue
        items.append(FileUpload(got, data))
    if len(items) > MAX_EVIDENCE_ITEMS:
        errors.setdefault("files", []).append(_("ev_too_many", limit=MAX_EVIDENCE_ITEMS))
    return EvidenceForm(items, errors, text)


_KNOWN_CODES = {"ev_too_large", "ev_unsupported_type", "ev_type_mismatch", "ev_malformed",
                "ev_empty"}


# ---- rendering ----------------------------------------------------------------------------

def render(request: Request, template: str, lang: str, context: dict[str, Any],
           status: int = 200) -> Response:
    """A report page in `lang`, with a fresh CSRF token and the sliding pre-session cookie."""
    base = {"lang": lang, "other_lang": other_lang(lang), "_": translator(lang),
            "csrf": csrf_for(request), "emergency": None, "lang_link": True}
    response: Response = request.app.state.templates.TemplateResponse(
        request, template, base | context, status_code=status)
    keep_pre_cookie(request, response)
    return response


def expired_page(request: Request, lang: str) -> Response:
    """A forged or stale form (bad CSRF or state): nothing was written; start again."""
    return render(request, "report/message.html", lang,
                  {"title_key": "expired_title", "text_key": "expired", "restart": True},
                  status=403)


def now_for(request: Request) -> datetime:
    return now_of(request)
