"""The real app for the SDK tests' uvicorn (`--factory tests.sdk.live_app:make`), configured
from the environment like `childsafe.web.asgi`, plus the per-provider hand-off limit (an
app-state knob with no setting of its own) so the 429 path can be reached over HTTP."""

from __future__ import annotations

import os

from fastapi import FastAPI

from childsafe.web.app import create_app


def make() -> FastAPI:
    app = create_app()
    limit = os.environ.get("CHILDSAFE_TEST_HANDOFFS_PER_HOUR")
    if limit:
        app.state.handoffs_per_provider_per_hour = int(limit)
    return app
