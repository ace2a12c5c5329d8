"""Admission control: past its capacity a serving process says "429, retry after N s" at once,
instead of letting every request queue until clients time out.

Each `childsafe serve` process works on at most `CHILDSAFE_MAX_INFLIGHT` requests at a time.
A request arriving when all slots are taken waits, first come first served, for at most
`CHILDSAFE_ADMISSION_QUEUE_MS` (and only while fewer than `CHILDSAFE_ADMISSION_MAX_WAITING`
others wait); if no slot frees in that time it is answered 429 with `Retry-After` (RFC 9457
problem details on the API, a small page elsewhere) without its body being read. So past the
saturation point latency stays bounded by the queue budget plus one service time, throughput
stays at the saturation rate, and the excess is refused cheaply and visibly: no timeouts, no
5xx. Providers' SDKs honour Retry-After.

Exempt: the health checks (a load balancer must not take an overloaded process for a dead
one), static files and the long-lived event streams of the console (they would hold a slot
for their whole life). WebSocket and lifespan scopes pass untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("childsafe.web")

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/console/events", "/console/watch/events"})
EXEMPT_PREFIXES = ("/static/",)
_LOG_EVERY_S = 10.0


@dataclass(frozen=True, slots=True)
class AdmissionPolicy:
    max_inflight: int = 64  # 0: no limit (the middleware passes everything)
    max_waiting: int = 256
    queue_seconds: float = 0.5
    retry_after_s: int = 1


class AdmissionLimit:
    """A counting semaphore with a bounded FIFO of waiters and a waiting deadline.

    Lives on one event loop (the serving process's); every method runs on that loop, so no
    lock is needed. A released slot passes straight to the oldest waiter."""

    def __init__(self, policy: AdmissionPolicy) -> None:
        self.policy = policy
        self.inflight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.admitted = 0
        self.shed = 0

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self) -> bool:
        """True: the caller holds a slot and must `release` it. False: refuse the request."""
        if self.inflight < self.policy.max_inflight and not self._waiters:
            self.inflight += 1
            self.admitted += 1
            return True
        if len(self._waiters) >= self.policy.max_waiting or self.policy.queue_seconds <= 0:
            self.shed += 1
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.policy.queue_seconds):
                await asyncio.shield(waiter)
        except TimeoutError:
            pass
        except BaseException:  # the client went away (cancelled) while waiting
            self._forget(waiter)
            raise
        if waiter.done() and not waiter.cancelled():
            self.admitted += 1
            return True  # the slot was handed over (perhaps as the deadline struck)
        self._forget(waiter)
        self.shed += 1
        return False

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        if waiter.done() and not waiter.cancelled():
            self.release()  # granted, but nobody will use it: pass it on
            return
        waiter.cancel()
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot moves to it; `inflight` is unchanged
                return
        self.inflight -= 1


def is_exempt(path: str) -> bool:
    return path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)


def _wants_html(scope: Scope) -> bool:
    if scope.get("path", "").startswith("/api/"):
        return False
    for name, value in scope.get("headers", []):
        if name == b"accept":
            return b"text/html" in value
    return False


_PAGE = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Busy</title>"
         "</head><body><h1>The service is busy</h1><p>Too many requests are being handled "
         "right now. Please try again in {seconds} second(s).</p></body></html>")


class AdmissionMiddleware:
    """ASGI middleware applying an `AdmissionPolicy` to this process's HTTP requests."""

    def __init__(self, app: ASGIApp, policy: AdmissionPolicy) -> None:
        self.app = app
        self.policy = policy
        self.limit = AdmissionLimit(policy) if policy.max_inflight > 0 else None
        self._last_log = 0.0
        self._shed_since_log = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit
        if limit is None or scope["type"] != "http" or is_exempt(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        if not await limit.acquire():
            await self._refuse(scope, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            limit.release()

    async def _refuse(self, scope: Scope, send: Send) -> None:
        self._shed_since_log += 1
        now = time.monotonic()
        if now - self._last_log >= _LOG_EVERY_S:
            log.warning("overloaded: refused %d request(s) with 429 since the last report "
                        "(%d in flight, %d waiting, limit %d)", self._shed_since_log,
                        self.limit.inflight if self.limit else 0,
                        self.limit.waiting if self.limit else 0, self.policy.max_inflight)
            self._last_log, self._shed_since_log = now, 0
        seconds = self.policy.retry_after_s
        if _wants_html(scope):
            body = _PAGE.format(seconds=seconds).encode()
            media = b"text/html; charset=utf-8"
        else:
            body = json.dumps({
                "type": "/problems/overloaded", "title": "Too many requests",
                "status": 429, "detail": f"The service is at capacity; retry in {seconds} "
                                         "second(s).",
                "code": "overloaded", "instance": scope.get("path", "")}).encode()
            media = b"application/problem+json"
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", media), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(seconds).encode()), (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body})
