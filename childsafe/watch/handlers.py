"""The outbox handlers Watch adds to `childsafe worker`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.orm import Session

from childsafe.reports.preservation import PreservationHandler
from childsafe.store.models import utcnow
from childsafe.watch import interventions
from childsafe.watch.provider_webhooks import TOPIC


@dataclass
class ProviderWebhookHandler:
    """Signed provider webhooks (badge changes, interventions): the preservation sender's
    logic under Watch's topic, run as a store handler so an intervention is marked
    delivered in the transaction that marks its message sent (failed when the outbox
    gives up)."""

    http: Callable[[], httpx.Client]
    name: str = TOPIC
    sender: PreservationHandler = field(init=False)

    def __post_init__(self) -> None:
        self.sender = PreservationHandler(self.http, name=self.name)

    def handle_in(self, session: Session, payload: dict[str, Any], idempotency_key: str) -> None:
        self.sender.handle(payload, idempotency_key)
        if idempotency_key.startswith(interventions.KEY_PREFIX):
            interventions.mark_delivered(session, idempotency_key, utcnow())

    def on_failure(self, session: Session, idempotency_key: str, error: Exception, *,
                   gave_up: bool) -> None:
        if gave_up and idempotency_key.startswith(interventions.KEY_PREFIX):
            interventions.mark_failed(session, idempotency_key)


def watch_handlers(http: Callable[[], httpx.Client]) -> list[ProviderWebhookHandler]:
    return [ProviderWebhookHandler(http)]
