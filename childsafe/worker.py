"""Outbox handlers and the drain loop behind `childsafe worker`.

A handler is a plain object with a `topic` it consumes; it receives the message payload and
its idempotency key, never a database session (side effects happen after commit).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from childsafe.core.crypto import Keyring
from childsafe.core.registry import Registry
from childsafe.mail import Mail, MailSender
from childsafe.store import outbox
from childsafe.store.db import Database
from childsafe.store.models import utcnow

MAIL_TOPIC = "mail.send"


class OutboxHandler(Protocol):
    name: str  # the topic it consumes

    def handle(self, payload: dict[str, Any], idempotency_key: str) -> None: ...


@dataclass
class MailHandler:
    sender: MailSender
    name: str = MAIL_TOPIC

    def handle(self, payload: dict[str, Any], idempotency_key: str) -> None:
        self.sender.send(Mail(str(payload["to"]), str(payload["subject"]), str(payload["body"])),
                         idempotency_key=idempotency_key)


def default_handlers(sender: MailSender) -> Registry[OutboxHandler]:
    registry: Registry[OutboxHandler] = Registry("outbox handler")
    registry.register(MailHandler(sender))
    return registry


@dataclass(frozen=True, slots=True)
class DrainResult:
    sent: int = 0
    retried: int = 0


def drain_once(db: Database, handlers: Registry[OutboxHandler], *, limit: int = 100,
               keyring: Keyring | None = None) -> DrainResult:
    """Deliver due messages, one transaction each; a failing handler schedules a retry."""
    sent = retried = 0
    for _ in range(limit):
        with db.transaction() as session:
            batch = outbox.claim(session, limit=1)
            if not batch:
                break
            message = batch[0]
            try:
                payload = outbox.open_payload(message, keyring)
                handlers.get(message.topic).handle(payload, message.idempotency_key)
            except Exception as exc:  # noqa: BLE001 - any failure is retried, never lost
                outbox.mark_retry(session, message.id, f"{type(exc).__name__}: {exc}")
                retried += 1
            else:
                outbox.mark_done(session, message.id)
                sent += 1
    return DrainResult(sent, retried)


def housekeeping(db: Database, now: datetime) -> int:
    """Periodic duties: delete reports never verified within 72 hours."""
    from childsafe.reports.intake import purge_unverified

    with db.transaction() as session:
        return purge_unverified(session, now)


def run_forever(db: Database, handlers: Registry[OutboxHandler], *, poll_seconds: float = 1.0,
                should_stop: Callable[[], bool] = lambda: False,
                on_result: Callable[[DrainResult], None] | None = None,
                keyring: Keyring | None = None) -> None:
    last_housekeeping = 0.0
    while not should_stop():
        if time.monotonic() - last_housekeeping > 60:
            housekeeping(db, utcnow())
            last_housekeeping = time.monotonic()
        result = drain_once(db, handlers, keyring=keyring)
        if on_result is not None and (result.sent or result.retried):
            on_result(result)
        if not result.sent:
            time.sleep(poll_seconds)
