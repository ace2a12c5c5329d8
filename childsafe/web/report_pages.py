"""The public report channels: the wizard, receipt and status pages (in their own modules),
guidance and safety tips, and what a provider embeds (tips as JSON, the button demo page).

Every route here is public (reporters have no account) and every form carries a CSRF token
bound to the pre-session cookie. `GET /report/tips.json` is the only cross-origin endpoint:
a provider's page fetches it from the embedded button, so it answers CORS `*` for GET.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from childsafe.reports import catalog
from childsafe.reports.core.i18n import Audience
from childsafe.web import report_status, report_wizard
from childsafe.web.deps import public
from childsafe.web.report_common import lang_of, render
from childsafe.web.report_i18n import translator

router = APIRouter(include_in_schema=False)
router.include_router(report_wizard.router)
router.include_router(report_status.router)
AUDIENCES = [a.value for a in Audience]


def _audience(request: Request) -> str | None:
    value = request.query_params.get("audience")
    return value if value in AUDIENCES else None


@router.get("/report/help/capture", dependencies=[public()])
def capture_help(request: Request) -> Response:
    lang, audience = lang_of(request), _audience(request)
    guide = catalog.load_guide("capture_conversation").render(lang, audience)
    return render(request, "report/guide.html", lang, {"guide": guide, "audience": audience})


@router.get("/report/tips", dependencies=[public()])
def tips_page(request: Request) -> Response:
    lang, audience = lang_of(request), _audience(request)
    sheet = catalog.load_tips()
    groups = [(a, sheet.tips_for(a, lang)) for a in ([audience] if audience else AUDIENCES)]
    return render(request, "report/tips.html", lang, {
        "groups": groups, "audience": audience, "audiences": AUDIENCES})


@router.get("/report/tips.json", dependencies=[public()])
def tips_json(request: Request) -> Response:
    """Tips for the embedded panel. Read-only and public data, hence CORS `*` (GET only)."""
    lang = lang_of(request)
    audience = _audience(request) or "young_person"
    _ = translator(lang)
    body = {"lang": lang, "audience": audience, "title": _("tips_heading"),
            "report_label": _("nav_report"), "button_label": _("report_button"),
            "tips": [{"id": t.id, "title": t.title, "body": t.body}
                     for t in catalog.load_tips().tips_for(audience, lang)]}
    return JSONResponse(body, headers={"access-control-allow-origin": "*", "vary": "Origin"})


@router.get("/report/embed-demo", dependencies=[public()])
def embed_demo(request: Request) -> Response:
    """A stand-in provider page that includes the button exactly as a provider would."""
    lang, audience = lang_of(request), _audience(request) or "young_person"
    return render(request, "report/embed_demo.html", lang, {"audience": audience})
