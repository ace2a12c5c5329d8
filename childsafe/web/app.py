"""The one ASGI app: public pages, provider API, officer console."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.types import ASGIApp, Scope

from childsafe import __version__
from childsafe.config import Settings
from childsafe.ratelimit import RateLimiter, make_rate_limiter
from childsafe.reports import catalog
from childsafe.reports.intake import IntakeContext
from childsafe.store.db import Database
from childsafe.store.models import utcnow
from childsafe.watch.transport import lifespan as watch_lifespan
from childsafe.web import (
    access_log,
    api,
    auth_pages,
    block_console,
    case_pages,
    console,
    csp_report,
    dashboard,
    officers_admin,
    ops,
    pooling_api,
    problems,
    provider_api,
    report_handoff,
    report_pages,
    sharing_pages,
    watch_console,
    watch_ingest_api,
    watch_rooms_api,
    watch_roster_pages,
)
from childsafe.web.admission import AdmissionMiddleware, AdmissionPolicy
from childsafe.web.deps import commit_in_endpoint_thread, read_csrf_field
from childsafe.web.security import BodyLimitMiddleware, SecurityHeadersMiddleware

HERE = Path(__file__).parent
DESCRIPTION = """\
childsafe's API. Providers (chat/IM services) authenticate with an API key sent as
`Authorization: Bearer csk_…`; officers use the console session. Errors are RFC 9457
problem details (`application/problem+json`) with a stable `code`.
"""


def intake_context(settings: Settings, limiter: RateLimiter) -> IntakeContext:
    return IntakeContext(settings.keyring, settings.verification_key, settings.base_url, limiter,
                         per_ip_per_hour=settings.reports_per_ip_per_hour,
                         per_contact_per_day=settings.reports_per_contact_per_day,
                         evidence_per_report_per_day=settings.evidence_per_report_per_day)


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="childsafe", version=__version__, description=DESCRIPTION,
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
                  dependencies=[Depends(read_csrf_field)], lifespan=watch_lifespan)
    app.state.settings = settings
    app.state.db = db or Database(settings.effective_database_url)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["version"] = __version__
    app.state.templates = templates
    app.state.clock = utcnow
    catalog.check_all()  # broken questionnaire or tip data stops start-up, not a reporter
    app.state.flow = catalog.load_flow()
    app.state.routing = catalog.load_routing()
    limiter = make_rate_limiter(settings.rate_limiter, settings.redis_url)
    app.state.limiter = limiter
    # Keys load lazily so a missing key file shows on /readyz instead of crashing start-up.
    app.state.intake = lambda: intake_context(settings, limiter)

    problems.install(app)

    async def too_large(scope: Scope, limit: int) -> ASGIApp:
        return problems.respond(Request(scope), 413, "Request too large",
                                f"The request body is larger than {limit} bytes.",
                                code="too_large")

    app.add_middleware(problems.UnexpectedErrorMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes,
                       on_too_large=too_large)
    # Past capacity: 429 with Retry-After at once, before the body is read (inside the
    # security headers, so a refusal carries them too).
    app.add_middleware(AdmissionMiddleware, policy=AdmissionPolicy(
        max_inflight=settings.max_inflight, max_waiting=settings.admission_max_waiting,
        queue_seconds=settings.admission_queue_ms / 1000,
        retry_after_s=settings.admission_retry_after_s))
    app.add_middleware(SecurityHeadersMiddleware)

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(auth_pages.router)
    app.include_router(console.router)
    app.include_router(case_pages.router)
    app.include_router(dashboard.router)
    app.include_router(sharing_pages.router)
    app.include_router(officers_admin.router)
    app.include_router(block_console.router)
    app.include_router(api.router)
    app.include_router(provider_api.router)
    app.include_router(report_handoff.router)
    app.include_router(pooling_api.router)
    app.include_router(watch_rooms_api.router)
    app.include_router(watch_ingest_api.router)
    app.include_router(watch_roster_pages.router)
    app.include_router(watch_console.router)
    app.include_router(ops.router)
    app.include_router(csp_report.router)
    app.include_router(report_pages.router)
    commit_in_endpoint_thread(app)
    logging.getLogger("childsafe").setLevel(logging.INFO)
    access_log.install()
    return app
