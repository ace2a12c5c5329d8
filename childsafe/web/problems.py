"""Errors, translated in one place: RFC 9457 problem+json on the API, friendly pages elsewhere.

Nothing here ever renders a stack trace; unexpected errors are logged with an id the user can
quote, and the response shows only that id.
"""

from __future__ import annotations

import copy
import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from childsafe.core.errors import DomainError
from childsafe.web import denials
from childsafe.web.security import BodyTooLarge, Message

log = logging.getLogger("childsafe.web")
PROBLEM_TYPE_BASE = "/problems/"


class LoginRequired(Exception):
    """A console page was asked for without a live session: send the browser to log in."""

    def __init__(self, to: str = "/login") -> None:
        self.to = to


def wants_problem_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or "application/json" in request.headers.get("accept", "") \
        and "text/html" not in request.headers.get("accept", "")


def problem(status: int, title: str, detail: str, *, code: str, instance: str = "",
            errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status,
                            "detail": detail, "code": code}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type="application/problem+json",
                        headers=headers)


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    templates = request.app.state.templates
    return templates.TemplateResponse(request, "error.html",
                                      {"status": status, "title": title, "detail": detail},
                                      status_code=status)


def respond(request: Request, status: int, title: str, detail: str, *, code: str,
            errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    if wants_problem_json(request):
        return problem(status, title, detail, code=code, instance=request.url.path,
                       errors=errors, headers=headers)
    response = error_page(request, status, title, detail)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


_STATUS_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
                 413: "too_large", 415: "unsupported_media_type", 422: "invalid_input",
                 429: "rate_limited", 503: "unavailable"}


def _clean_loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0] if loc else "request")


PROBLEM_MEDIA_TYPE = "application/problem+json"
_PROBLEM_REF = "#/components/schemas/Problem"


def document_problems(spec: dict[str, Any]) -> dict[str, Any]:
    """Say in the OpenAPI document what error answers really are: `application/problem+json`,
    and that a body which cannot be parsed at all (not UTF-8, broken multipart) is a 400.

    FastAPI files every `responses={..: {"model": Problem}}` under the route's media type
    (`application/json`); clients that check the Content-Type against the schema (or
    generate code from it) would reject every error. Rewritten in place, once per schema.
    """
    problem_content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}}}
    has_problem = "Problem" in spec.get("components", {}).get("schemas", {})
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if "requestBody" in operation and has_problem:
                operation.setdefault("responses", {}).setdefault("400", {
                    "description": "The body could not be parsed (`bad_request`)",
                    "content": copy.deepcopy(problem_content)})
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                body = content.get("application/json")
                if (status[:1] in ("4", "5") and body is not None
                        and body.get("schema", {}).get("$ref") == _PROBLEM_REF):
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
    return spec


def install(app: FastAPI) -> None:
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(default_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        listed = getattr(exc, "as_list", None)
        errors: list[dict[str, Any]] | None
        if callable(listed):
            errors = [{"field": e.get("field"), "message": e.get("detail"),
                       "reason": e.get("reason")} for e in listed()]
        else:
            errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
        if exc.status >= 500:
            log.error("domain error %s: %s", exc.code, exc.detail)
        if exc.status in (403, 404):  # a refusal: audited after the request rolled back
            await run_in_threadpool(denials.record, request, exc)
        return respond(request, exc.status, exc.title, exc.detail, code=exc.code, errors=errors)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": _clean_loc(e.get("loc", ())), "message": str(e.get("msg", ""))[:300]}
                  for e in exc.errors()[:50]]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return respond(request, 422, "Invalid input", detail or "The request is not valid.",
                       code="invalid_input", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Request failed")
        return respond(request, exc.status_code, title, detail, code=code,
                       headers=getattr(exc, "headers", None))

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if wants_problem_json(request):
            return problem(401, "Authentication required", "Log in to use this endpoint.",
                           code="unauthenticated", instance=request.url.path,
                           headers={"WWW-Authenticate": 'Bearer realm="childsafe"'})
        return RedirectResponse(exc.to, status_code=303)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> Response:
        return respond(request, 413, "Request too large",
                       f"The request body is larger than {exc.limit} bytes.", code="too_large")


class UnexpectedErrorMiddleware:
    """Turn any uncaught exception into a 500 problem or page with an incident id.

    Sits inside the security-header middleware, so even a 500 carries the CSP.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            incident = secrets.token_hex(6)
            log.exception("unhandled error %s on %s %s", incident, scope.get("method"),
                          scope.get("path"))
            if started:
                raise
            request = Request(scope)
            response = respond(request, 500, "Something went wrong",
                               f"The error was logged as incident {incident}. Please try again; "
                               "if it keeps happening, quote the incident number.",
                               code="internal_error")
            await response(scope, receive, send)
