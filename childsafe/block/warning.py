"""The stand-alone warning page an ISP shows instead of a listed URL (Starlette).

One page for every path and method, so it says nothing about which entry matched. The
status is 403 or 451 from config, never a fake 404. Strict security headers; no script at
all, styles from one static file. Behind Squid (`rewrite-url`) the client address comes from
X-Forwarded-For, trusted only when the direct peer is one of `trusted_proxies`.
"""

from __future__ import annotations

import html
import ipaddress
import json
import os
import time
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from childsafe.block.core.warning import MESSAGES, AttemptCounter, escalation_level

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
CSS_PATH = "/_childsafe/warning.css"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Resource-Policy": "same-origin",
}
CSS = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1b1b1b;background:#fff}h1{font-size:1.6rem}"
    ".help{background:#eef5ff;padding:1rem;border-radius:.5rem}"
    ".appeal{font-size:.95rem;color:#444;border-top:1px solid #ccc;margin-top:2rem}"
)


class HelpResource(BaseModel):
    name: str
    description: str = ""
    url: str | None = None
    phone: str | None = None


class WarningConfig(BaseModel):
    """One ISP's page. Load from YAML or JSON with `load_config`."""

    isp_name: str = "Your internet provider"
    status: Literal[403, 451] = 451
    help: list[HelpResource] = Field(
        default_factory=lambda: [
            HelpResource(
                name="Stop It Now (UK and Ireland)",
                description="Confidential and anonymous help for anyone worried about "
                "their own or someone else's thoughts or behaviour.",
                url="https://www.stopitnow.org.uk/",
                phone="0808 1000 900",
            )
        ]
    )
    appeal_url: str | None = None
    appeal_email: str | None = None
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])


def load_config(path: Path | None) -> WarningConfig:
    if path is None:
        return WarningConfig()
    text = path.read_text("utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    return WarningConfig.model_validate(data or {})


def client_address(request: Request, trusted: set[str]) -> str:
    """The client's address; X-Forwarded-For is believed only from a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return peer


def render_page(config: WarningConfig, level: int) -> str:
    e = html.escape
    title, text = MESSAGES[level]
    items = []
    for r in config.help:
        bits = [f"<strong>{e(r.name)}</strong>"]
        if r.description:
            bits.append(e(r.description))
        if r.phone:
            bits.append(f"Phone: {e(r.phone)}")
        if r.url:
            bits.append(f'<a href="{e(r.url)}" rel="noopener noreferrer">{e(r.url)}</a>')
        items.append("<li>" + "<br>".join(bits) + "</li>")
    appeal = []
    if config.appeal_url:
        u = e(config.appeal_url)
        appeal.append(f'online at <a href="{u}" rel="noopener noreferrer">{u}</a>')
    if config.appeal_email:
        m = e(config.appeal_email)
        appeal.append(f'by email to <a href="mailto:{m}">{m}</a>')
    how = " or ".join(appeal) if appeal else f"by contacting {e(config.isp_name)}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f'<title>{e(title)}</title><link rel="stylesheet" href="{CSS_PATH}"></head><body>'
        f"<main><h1>{e(title)}</h1><p>{e(text)}</p>"
        f"<p>This block is applied by {e(config.isp_name)}.</p>"
        '<section class="help"><h2>Get help</h2><ul>' + "".join(items) + "</ul></section>"
        '<section class="appeal"><h2>Blocked by mistake?</h2><p>If you think this page '
        f"is blocked wrongly, tell us {how}. Please include the full address you tried "
        "to open; it will be reviewed by a person.</p></section></main></body></html>"
    )


def create_app(config: WarningConfig, counter: AttemptCounter | None = None) -> Starlette:
    counter = counter or AttemptCounter(time.time, os.urandom)
    trusted = set(config.trusted_proxies)

    async def page(request: Request) -> Response:
        level = escalation_level(counter.record(client_address(request, trusted)))
        body = "" if request.method == "HEAD" else render_page(config, level)
        return Response(
            body,
            status_code=config.status,
            media_type="text/html; charset=utf-8",
            headers=SECURITY_HEADERS,
        )

    async def css(request: Request) -> Response:
        return Response(CSS, media_type="text/css", headers=SECURITY_HEADERS)

    async def health(request: Request) -> Response:
        return Response("ok\n", media_type="text/plain", headers=SECURITY_HEADERS)

    app = Starlette(
        routes=[
            Route(CSS_PATH, css, methods=["GET", "HEAD"]),
            Route("/_childsafe/health", health, methods=["GET", "HEAD"]),
            Route("/{path:path}", page, methods=ALL_METHODS),
        ]
    )
    app.state.counter = counter
    return app
