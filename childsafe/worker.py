"""Outbox handlers and the drain loop behind `childsafe worker`.

A handler is a plain object named by the topic it consumes; it receives the message payload
and its idempotency key, never a database session (side effects happen after commit).

Store handlers are the one capability beyond that: deliveries of cases read what they send
and log each attempt, so they get the session of the transaction that claimed the message
(`handle_in`, then `on_failure` if it raised). They never use it for side effects of their
own; their writes commit together with the outbox row being marked done or retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import httpx
from sqlalchemy.orm import Session

from childsafe.core.crypto import Keyring
from childsafe.core.registry import Registry
from childsafe.mail import Mail, MailSender
from childsafe.store import outbox
from childsafe.store.db import Database
from childsafe.store.models import utcnow
from childsafe.store.retention import RetentionPolicy

MAIL_TOPIC = "mail.send"
RETENTION_EVERY_S = 3600.0  # all retention rules; unverified reports every minute


class OutboxHandler(Protocol):
    name: str  # the topic it consumes

    def handle(self, payload: dict[str, Any], idempotency_key: str) -> None: ...


@runtime_checkable
class StoreHandler(Protocol):
    """Capability: runs inside the claiming transaction (see the module docstring).

    `handle_in` runs under a savepoint: if it raises, its writes are undone, the message is
    retried with backoff and `on_failure` records the attempt (`gave_up` on the last one).
    """

    name: str

    def handle_in(self, session: Session, payload: dict[str, Any],
                  idempotency_key: str) -> None: ...

    def on_failure(self, session: Session, idempotency_key: str, error: Exception, *,
                   gave_up: bool) -> None: ...


Handler = OutboxHandler | StoreHandler


@dataclass
class MailHandler:
    sender: MailSender
    name: str = MAIL_TOPIC

    def handle(self, payload: dict[str, Any], idempotency_key: str) -> None:
        self.sender.send(Mail(str(payload["to"]), str(payload["subject"]), str(payload["body"])),
                         idempotency_key=idempotency_key)


def default_handlers(sender: MailSender, *, keyring: Keyring | None = None,
                     http: Callable[[], httpx.Client] | None = None) -> Registry[Handler]:
    """Mail always; case deliveries (webhook, export) when given the keyring that opens
    channel secrets and reporter identities. `http` makes the webhook client (tests pass
    one on an in-memory or loopback transport)."""
    registry: Registry[Handler] = Registry("outbox handler")
    registry.register(MailHandler(sender))
    if keyring is not None:
        from childsafe.reports import deliveries
        from childsafe.reports.preservation import PreservationHandler

        for handler in deliveries.delivery_handlers(
                keyring, http=http or deliveries.default_http_client):
            registry.register(handler)
        registry.register(PreservationHandler(http or deliveries.default_http_client))
        from childsafe.watch.handlers import watch_handlers

        for watch_handler in watch_handlers(http or deliveries.default_http_client):
            registry.register(watch_handler)
    return registry


@dataclass(frozen=True, slots=True)
class DrainResult:
    sent: int = 0
    retried: int = 0


def drain_once(db: Database, handlers: Registry[Handler], *, limit: int = 100,
               keyring: Keyring | None = None) -> DrainResult:
    """Deliver due messages, one transaction each; a failing handler schedules a retry.

    The claimed row stays locked (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the write
    lock) until the handler returns and the transaction commits; a worker that dies midway
    releases it with its connection, so another worker sends the message again."""
    sent = retried = 0
    for _ in range(limit):
        with db.transaction() as session:
            batch = outbox.claim(session, limit=1)
            if not batch:
                break
            message = batch[0]
            handler: Handler | None = None
            try:
                handler = handlers.get(message.topic)
                payload = outbox.open_payload(message, keyring)
                if isinstance(handler, StoreHandler):
                    with session.begin_nested():
                        handler.handle_in(session, payload, message.idempotency_key)
                else:
                    handler.handle(payload, message.idempotency_key)
            except Exception as exc:  # noqa: BLE001 - any failure is retried, never lost
                outbox.mark_retry(session, message.id, f"{type(exc).__name__}: {exc}")
                if isinstance(handler, StoreHandler):
                    handler.on_failure(session, message.idempotency_key, exc,
                                       gave_up=message.attempts + 1 >= outbox.MAX_ATTEMPTS)
                retried += 1
            else:
                outbox.mark_done(session, message.id)
                sent += 1
    return DrainResult(sent, retried)


def housekeeping(db: Database, now: datetime, keyring: Keyring | None = None,
                 retention: RetentionPolicy | None = None, *, all_rules: bool = True) -> int:
    """Periodic duties: retention (reports never verified within 72 hours; with `all_rules`
    also old closed-unfounded cases not on legal hold and old unalerted watched messages,
    which scan more); Watch's duties. Returns the number of unverified reports deleted."""
    from childsafe.store import retention as retention_rules
    from childsafe.watch import housekeeping as watch_housekeeping

    done = retention_rules.run(db, now, retention, rules=retention_rules.ALL_RULES if all_rules
                               else frozenset({retention_rules.UNVERIFIED}))
    watch_housekeeping.run(db, now, keyring)
    return len(done.unverified_reports)


def run_forever(db: Database, handlers: Registry[Handler], *, poll_seconds: float = 1.0,
                should_stop: Callable[[], bool] = lambda: False,
                on_result: Callable[[DrainResult], None] | None = None,
                keyring: Keyring | None = None, retention: RetentionPolicy | None = None) -> None:
    last_housekeeping = last_retention = -RETENTION_EVERY_S
    while not should_stop():
        if time.monotonic() - last_housekeeping > 60:
            full = time.monotonic() - last_retention > RETENTION_EVERY_S
            housekeeping(db, utcnow(), keyring, retention, all_rules=full)
            last_housekeeping = time.monotonic()
            if full:
                last_retention = last_housekeeping
        result = drain_once(db, handlers, keyring=keyring)
        if on_result is not None and (result.sent or result.retried):
            on_result(result)
        if not result.sent:
            time.sleep(poll_seconds)
