"""HTTP hardening: security headers, request size limits, CSRF tokens, client address."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

Message = MutableMapping[str, Any]

# Violations are reported to /csp-report (`childsafe.web.csp_report`) with `report-uri`, which
# every browser sends at once. Not `report-to`: given it, Chromium ignores `report-uri` and
# uses the Reporting API, which delivered nothing from a plain-HTTP origin (the demo, our
# loopback tests) and batches for a minute elsewhere. The endpoint reads Reporting API
# batches too, so adding `report-to` later needs no server change.
CSP_REPORT_PATH = "/csp-report"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'; "
       f"report-uri {CSP_REPORT_PATH}")

SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "strict-transport-security": "max-age=63072000; includeSubDomains",
}


CROSS_ORIGIN_PATHS = frozenset({"/static/embed.js", "/static/badge.js"})
# The public monitored badge is shown on providers' pages (img / fetch) and may be cached
# briefly; its route sets its own short cache-control and ETag.
BADGE_PATH = re.compile(r"^/api/v1/rooms/rm_[A-Za-z0-9]{1,40}/badge(\.svg)?$")


class SecurityHeadersMiddleware:
    """Adds the headers to every response, including errors; pages are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                original = message.get("headers", [])
                # A response may tighten the policy (evidence files are sandboxed), never drop it.
                own_csp = [(k, v) for k, v in original if k.lower() == b"content-security-policy"]
                headers = [(k, v) for k, v in original
                           if k.decode().lower() not in SECURITY_HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
                            if not (own_csp and k == "content-security-policy")]
                headers += own_csp
                path = scope.get("path", "")
                badge = BADGE_PATH.match(path) is not None
                if path in CROSS_ORIGIN_PATHS or badge:
                    # The Report button is loaded by providers' pages on their own origins.
                    headers = [(k, v) for k, v in headers if k != b"cross-origin-resource-policy"]
                    headers.append((b"cross-origin-resource-policy", b"cross-origin"))
                if badge and not any(k.lower() == b"access-control-allow-origin"
                                     for k, _ in headers):
                    # badge.js on a provider's page must read a 404 (room retired) too.
                    headers.append((b"access-control-allow-origin", b"*"))
                if path.startswith("/block/list/"):
                    # Signed list files are public and cacheable by design (hashes only);
                    # numbered files never change, LATEST does.
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"public, max-age=60" if
                                    path.endswith("/LATEST") else
                                    b"public, max-age=31536000, immutable"))
                elif badge and any(k.lower() == b"cache-control" for k, _ in original):
                    pass  # the badge route chose a short public lifetime
                elif not path.startswith("/static/"):
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Refuse bodies over `max_bytes` before they are buffered, declared or not."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 on_too_large: Callable[[Scope, int], Awaitable[ASGIApp]]) -> None:
        self.app, self.max_bytes, self.on_too_large = app, max_bytes, on_too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = True
            if too_big:
                response = await self.on_too_large(scope, self.max_bytes)
                await response(scope, receive, send)
                return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


def csrf_token(secret_key: bytes, binding: str) -> str:
    """Token bound to a session (or a pre-login cookie); forged forms cannot know it."""
    return hmac.new(secret_key, b"csrf|" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_valid(secret_key: bytes, binding: str | None, presented: str | None) -> bool:
    if not binding or not presented or len(presented) != 64:
        return False
    return hmac.compare_digest(csrf_token(secret_key, binding), presented)


def client_ip(request: Request, trusted_proxies: list[str]) -> str:
    peer = request.client.host if request.client else ""
    if peer in trusted_proxies:
        forwarded = request.headers.get("x-forwarded-for", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first[:64]
    return peer[:64]
