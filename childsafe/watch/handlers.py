"""The outbox handlers Watch adds to `childsafe worker`."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from childsafe.reports.preservation import PreservationHandler
from childsafe.watch.provider_webhooks import TOPIC


def watch_handlers(http: Callable[[], httpx.Client]) -> list[PreservationHandler]:
    """Signed provider webhooks (badge changes, interventions): the preservation sender's
    logic under Watch's topic."""
    return [PreservationHandler(http, name=TOPIC)]
