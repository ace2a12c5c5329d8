"""Content-Security-Policy violation reports: browsers say when the policy blocked something.

Every page's policy names this endpoint (`report-uri`; see `security.CSP` for why not
`report-to`, whose Reporting API batches it reads all the same). On our own pages a
violation means markup got where it should not (an injection the policy stopped) or a page
breaks its own policy: both are bugs to look at, so each is logged and counted
(`violations_of(app)`).

Public, since browsers send reports without credentials, and so bounded: a body of at most
`MAX_BODY_BYTES` holding at most `MAX_REPORTS` reports; `PER_CLIENT_PER_MINUTE` requests per
client address and `ALL_PER_MINUTE` in all are read, the rest answered 429. The log keeps the
directive, the page's path (segments that look like tokens, such as a reporter's private
status link, replaced by `:token`) and the blocked resource's origin only: no query, no sample of
the offending code, nothing the reporter typed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from childsafe.web.deps import ip_of, public, settings_of
from childsafe.web.problems import problem
from childsafe.web.schemas import Problem
from childsafe.web.security import CSP_REPORT_PATH

log = logging.getLogger("childsafe.web.csp")
router = APIRouter(tags=["operations"])

PATH = CSP_REPORT_PATH
MAX_BODY_BYTES = 16 * 1024
MAX_REPORTS = 20
PER_CLIENT_PER_MINUTE = 60
ALL_PER_MINUTE = 600
REPORT_TYPES = ("application/csp-report", "application/reports+json", "application/json")
_DIRECTIVE = re.compile(r"^[a-z][a-z-]{0,39}$")
_TOKENISH = re.compile(r"^[A-Za-z0-9_.~-]{16,}$")
_KEYWORDS = frozenset({"inline", "eval", "wasm-eval", "trusted-types-policy",
                       "trusted-types-sink", "self", ""})


@dataclass(frozen=True, slots=True)
class Violation:
    directive: str
    page: str
    blocked: str
    disposition: str


@dataclass
class Violations:
    """What this process was told, bounded: a total, counts by directive, the last 50."""

    total: int = 0
    by_directive: Counter[str] = field(default_factory=Counter)
    recent: deque[Violation] = field(default_factory=lambda: deque(maxlen=50))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, violation: Violation) -> None:
        with self._lock:
            self.total += 1
            self.by_directive[violation.directive] += 1
            self.recent.append(violation)


_STATE_LOCK = threading.Lock()


def violations_of(app: Any) -> Violations:
    state = app.state
    found = getattr(state, "csp_violations", None)
    if found is None:
        with _STATE_LOCK:
            found = getattr(state, "csp_violations", None)
            if found is None:
                found = state.csp_violations = Violations()
    return found


def _printable(text: str, limit: int) -> str:
    return "".join(ch if 0x20 < ord(ch) < 0x7F else "?" for ch in text[:limit])


def _page(value: Any) -> str:
    """The path of the page, without query or fragment, tokens masked."""
    if not isinstance(value, str):
        return "?"
    try:
        path = urlsplit(value[:2048]).path or "/"
    except ValueError:
        return "?"
    return _printable("/".join(":token" if _TOKENISH.match(s) else s for s in path.split("/")), 200)


def _blocked(value: Any) -> str:
    """`inline`, `eval`…, or the origin of a blocked URL (never its path or query)."""
    if not isinstance(value, str):
        return "?"
    if value in _KEYWORDS:
        return value or "?"
    try:
        parts = urlsplit(value[:2048])
    except ValueError:
        return "?"
    if parts.scheme in ("data", "blob", "javascript"):
        return parts.scheme
    return _printable(f"{parts.scheme}://{parts.hostname or ''}" if parts.scheme else "?", 100)


def _directive(value: Any) -> str:
    text = value.split(" ", 1)[0] if isinstance(value, str) else ""
    return text if _DIRECTIVE.match(text) else "unknown"


def parse_reports(doc: Any) -> list[Violation] | None:
    """Violations in a legacy `report-uri` body or a Reporting API batch; None if neither."""
    if isinstance(doc, dict) and isinstance(doc.get("csp-report"), dict):
        body = doc["csp-report"]
        return [Violation(_directive(body.get("effective-directive")
                                     or body.get("violated-directive")),
                          _page(body.get("document-uri")), _blocked(body.get("blocked-uri")),
                          "report" if body.get("disposition") == "report" else "enforce")]
    if isinstance(doc, list) and len(doc) <= MAX_REPORTS and all(isinstance(r, dict) for r in doc):
        found = []
        for report in doc:
            body = report.get("body")
            if report.get("type") != "csp-violation" or not isinstance(body, dict):
                continue
            found.append(Violation(_directive(body.get("effectiveDirective")),
                                   _page(body.get("documentURL") or report.get("url")),
                                   _blocked(body.get("blockedURL")),
                                   "report" if body.get("disposition") == "report"
                                   else "enforce"))
        return found
    return None


def _refused(status: int, title: str, detail: str, code: str,
             headers: dict[str, str] | None = None) -> Response:
    return problem(status, title, detail, code=code, instance=PATH, headers=headers)


_BODY_DOC = {"required": True, "content": {
    "application/csp-report": {"schema": {
        "type": "object", "required": ["csp-report"],
        "properties": {"csp-report": {"type": "object"}}},
        "example": {"csp-report": {"document-uri": "https://childsafe.example.com/cases/x",
                                   "effective-directive": "script-src-elem",
                                   "blocked-uri": "inline", "disposition": "enforce"}}},
    "application/reports+json": {"schema": {
        "type": "array", "maxItems": MAX_REPORTS, "items": {"type": "object", "properties": {
            "type": {"type": "string"}, "url": {"type": "string"}, "body": {"type": "object"}}}},
        "example": [{"type": "csp-violation", "url": "https://childsafe.example.com/",
                     "body": {"documentURL": "https://childsafe.example.com/",
                              "effectiveDirective": "script-src-elem", "blockedURL": "inline",
                              "disposition": "enforce"}}]}}}


@router.post(PATH, status_code=204, dependencies=[public()], response_class=Response,
             summary="Where browsers report Content-Security-Policy violations",
             openapi_extra={"requestBody": _BODY_DOC},
             responses={204: {"description": "Counted and logged"},
                        400: {"model": Problem, "description": "Not JSON"},
                        413: {"model": Problem, "description": f"Over {MAX_BODY_BYTES} bytes"},
                        415: {"model": Problem, "description": "Not a report media type"},
                        422: {"model": Problem, "description": "JSON, but not a CSP report"},
                        429: {"model": Problem, "description": "Too many reports; see "
                                                               "Retry-After"}})
async def csp_report(request: Request) -> Response:
    """A legacy `report-uri` report (`application/csp-report`) or a Reporting API batch
    (`application/reports+json`); other report types in a batch are ignored."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in REPORT_TYPES:
        return _refused(415, "Unsupported media type", "Send a CSP report "
                        "(application/csp-report or application/reports+json).",
                        "unsupported_media_type")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return _refused(413, "Request too large", f"A report is at most {MAX_BODY_BYTES} bytes.",
                        "too_large")
    limiter = request.app.state.limiter
    client = hmac.new(settings_of(request).secret_key, b"csp|" + ip_of(request).encode(),
                      hashlib.sha256).hexdigest()[:32]

    def allowed() -> bool:
        return (limiter.hit(f"csp-report:{client}", limit=PER_CLIENT_PER_MINUTE, window_seconds=60)
                and limiter.hit("csp-report:all", limit=ALL_PER_MINUTE, window_seconds=60))

    if not (allowed() if limiter.name == "memory" else await run_in_threadpool(allowed)):
        return _refused(429, "Too many reports", "Reports from this address are paused for a "
                        "minute.", "rate_limited", headers={"Retry-After": "60"})
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            return _refused(413, "Request too large",
                            f"A report is at most {MAX_BODY_BYTES} bytes.", "too_large")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _refused(400, "Request failed", "The report is not JSON.", "bad_request")
    found = parse_reports(doc)
    if found is None:
        return _refused(422, "Invalid input", "The body is not a CSP violation report.",
                        "invalid_input")
    counter = violations_of(request.app)
    for violation in found:
        counter.record(violation)
        log.warning("csp violation: %s blocked %s on %s (%s)", violation.directive,
                    violation.blocked, violation.page, violation.disposition)
    return Response(status_code=204)
