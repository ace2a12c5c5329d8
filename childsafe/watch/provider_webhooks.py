"""Signed webhooks from Watch to a provider (badge changes, interventions), via the outbox.

Same signing as every childsafe webhook (`childsafe.reports.core.webhooks`); the provider's
URL and secret are those set for preservation requests (`childsafe admin provider-webhook`).
A transaction that rolls back never sends; a provider that is down gets it later, at least
once, with the idempotency key in `X-Childsafe-Delivery` so it can drop repeats.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from childsafe.core.crypto import Keyring, open_sealed
from childsafe.core.errors import InvalidInput
from childsafe.store import outbox
from childsafe.store.models import ProviderRow

TOPIC = "watch.provider_webhook"


def has_webhook(provider: ProviderRow) -> bool:
    return bool(provider.webhook_url) and provider.webhook_secret_enc is not None


def enqueue(session: Session, keyring: Keyring, provider: ProviderRow, body: dict[str, Any],
            idempotency_key: str) -> bool:
    """Queue `body` (a JSON object with a `type`) for the provider; False if queued before."""
    if not has_webhook(provider):
        raise InvalidInput(f"Provider {provider.name} has no webhook set up.")
    assert provider.webhook_secret_enc is not None and provider.webhook_url is not None
    secret = open_sealed(keyring, provider.webhook_secret_enc,
                         f"provider:{provider.id}:webhook").decode()
    return outbox.enqueue(session, TOPIC, {"url": provider.webhook_url, "secret": secret,
                                           "body": body}, idempotency_key, keyring=keyring)
