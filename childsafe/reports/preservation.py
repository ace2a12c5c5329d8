"""Asking a provider to preserve data about a case (accounts, rooms, messages) before it is
deleted, by a signed webhook to the provider — through the outbox, so a request that rolled
back never leaves, and a provider that is down gets it later.

The provider receives identifiers it already holds (room ids, message ids, its own user ids of
the reported accounts) and our case reference; never the reporter's identity or the evidence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent
from childsafe.core.crypto import Keyring, open_sealed, seal
from childsafe.core.errors import InvalidInput, NotFound
from childsafe.core.principal import Principal
from childsafe.reports.core import webhooks
from childsafe.reports.deliveries import check_webhook_url, default_http_client
from childsafe.store import audit, outbox
from childsafe.store.models import ProviderRow, utcnow
from childsafe.store.report_models import EvidenceRow, ReportRow

TOPIC = "provider.preserve"


def _aad(provider_id: int) -> str:
    return f"provider:{provider_id}:webhook"


def set_webhook(session: Session, keyring: Keyring, provider: ProviderRow, url: str, *,
                actor: str) -> str:
    """Set (or replace) the provider's webhook; returns the new secret, shown once."""
    provider.webhook_url = check_webhook_url(url)
    secret = webhooks.new_secret()
    provider.webhook_secret_enc = seal(keyring, secret.encode(), _aad(provider.id))
    audit.append(session, AuditEvent("provider.webhook_set", actor=actor, object_type="provider",
                                     object_id=str(provider.id),
                                     detail={"url": provider.webhook_url}))
    return secret


def _identifiers(keyring: Keyring, session: Session, report: ReportRow) -> dict[str, Any]:
    from childsafe.reports.intake import read_evidence

    rooms, messages, accounts = set(), [], set()
    for row in session.scalars(select(EvidenceRow).where(EvidenceRow.report_id == report.id,
                                                         EvidenceRow.kind == "conversation")):
        capture = json.loads(read_evidence(keyring, row))
        rooms.add(capture["room_id"])
        messages += [m[0] for m in capture["messages"]]
        accounts |= {p[0] for p in capture["participants"] if p[3] == "reported"}
    suspect = (report.flow_result or {}).get("answers", {}).get("suspect")
    if isinstance(suspect, str) and suspect:
        accounts.add(suspect)
    return {"report": report.reference, "rooms": sorted(rooms), "message_ids": messages[:1000],
            "reported_accounts": sorted(accounts)}


def request_preservation(session: Session, keyring: Keyring, who: Principal, case_id: str,
                         now: datetime) -> int:
    """Queue one signed request per provider whose API filed a report of this case."""
    from childsafe.store.casework import _load, _own, reports_of

    case = _load(session, who, case_id)
    _own(case, who)
    by_provider: dict[int, list[dict[str, Any]]] = {}
    for report in reports_of(session, case):
        if report.provider_id is not None:
            by_provider.setdefault(report.provider_id, []).append(
                _identifiers(keyring, session, report))
    if not by_provider:
        raise InvalidInput("No report of this case came from a provider's app, so there is no "
                           "provider to ask.")
    queued = 0
    for provider_id, items in by_provider.items():
        provider = session.get(ProviderRow, provider_id)
        if provider is None or not provider.webhook_url or provider.webhook_secret_enc is None:
            raise InvalidInput(f"Provider {provider.name if provider else provider_id} has no "
                               "webhook set up; contact them directly.")
        secret = open_sealed(keyring, provider.webhook_secret_enc, _aad(provider.id)).decode()
        key = f"preserve:{case.id}:{provider.id}:{now.strftime('%Y%m%d%H%M%S')}"
        body = {"type": "preservation_request", "case": case.reference,
                "agency": who.agency_code, "requested_at": now.isoformat(), "reports": items}
        outbox.enqueue(session, TOPIC, {"url": provider.webhook_url, "secret": secret,
                                        "body": body}, key, keyring=keyring)
        queued += 1
    audit.append(session, AuditEvent("case.preserve_request", actor=who.username,
                                     agency=who.agency_code, object_type="case",
                                     object_id=case.id, detail={"providers": sorted(by_provider)}))
    return queued


@dataclass
class PreservationHandler:
    """Outbox handler: POST the signed request; non-2xx raises, so the outbox retries."""

    http: Callable[[], httpx.Client] = default_http_client
    name: str = TOPIC

    def handle(self, payload: dict[str, Any], idempotency_key: str) -> None:
        body = json.dumps(payload["body"], sort_keys=True).encode()
        headers = webhooks.signed_headers(payload["secret"], body, idempotency_key, utcnow())
        with self.http() as client:
            response = client.post(payload["url"], content=body,
                                   headers=headers | {"content-type": "application/json"})
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"provider answered {response.status_code}")


def provider_by_name(session: Session, name: str) -> ProviderRow:
    row = session.scalar(select(ProviderRow).where(ProviderRow.name == name.strip()))
    if row is None:
        raise NotFound(f"No provider {name!r}.")
    return row
