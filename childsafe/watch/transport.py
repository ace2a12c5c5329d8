"""How ingestion wakes the scorers: one small Protocol, transports by name, the consumer loop.

A wake-up carries only a conversation id, published *after* the ingest transaction commits.
It is not the record of work: the conversation's `scored_seq` cursor is (see
`childsafe.watch.scoring`). So a wake-up delivered twice costs one empty look, and one lost
(a crash between commit and publish, a memory queue dying with its process) is found by the
consumer's periodic sweep of conversations whose cursor lags.

Transports:

* `memory` (default, embedded): a queue in the serving process, drained by one background
  thread that `childsafe serve` starts with the app (`lifespan`).
* `redis`: a Redis Stream with a consumer group (`childsafe.watch.redis_transport`), drained
  by `childsafe worker --watch` processes on any machine (and, unless
  CHILDSAFE_WATCH_SERVE_CONSUMER=false, by a thread in each `childsafe serve` process).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from childsafe.config import Settings
from childsafe.core.crypto import Keyring
from childsafe.core.registry import Registry
from childsafe.store.db import Database
from childsafe.store.models import utcnow
from childsafe.watch.scoring import (
    BATCH_BUDGET,
    ScoreResult,
    pending_conversations,
    score_conversations,
)
from childsafe.watch.settings import default_detector_settings, detector_named

log = logging.getLogger("childsafe.watch")


@dataclass(frozen=True, slots=True)
class Wakeup:
    conversation_id: int
    token: str | None = None  # the transport's handle for `ack` (a stream entry id)


class Transport(Protocol):
    name: str

    def publish(self, conversation_ids: Sequence[int]) -> None:
        """Announce new messages in these conversations (call after the commit)."""

    def receive(self, consumer: str, *, count: int, block_ms: int) -> list[Wakeup]:
        """Up to `count` wake-ups for this consumer, waiting at most `block_ms` for one."""

    def ack(self, wakeups: Sequence[Wakeup]) -> None:
        """These were handled (their conversations' scoring committed)."""

    def close(self) -> None: ...


@dataclass(slots=True)
class TransportKind:
    name: str
    build: Callable[[Settings], Transport]


class MemoryTransport:
    """An in-process queue; a conversation waits in it at most once (repeats coalesce)."""

    name = "memory"

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: deque[int] = deque()
        self._queued: set[int] = set()
        self._closed = False

    def publish(self, conversation_ids: Sequence[int]) -> None:
        with self._cond:
            for cid in conversation_ids:
                if cid not in self._queued:
                    self._queued.add(cid)
                    self._queue.append(cid)
            self._cond.notify_all()

    def receive(self, consumer: str, *, count: int, block_ms: int) -> list[Wakeup]:
        with self._cond:
            if not self._queue and not self._closed:
                self._cond.wait(block_ms / 1000)
            out: list[Wakeup] = []
            while self._queue and len(out) < count:
                cid = self._queue.popleft()
                self._queued.discard(cid)  # published again from now on: queued again
                out.append(Wakeup(cid))
            return out

    def ack(self, wakeups: Sequence[Wakeup]) -> None:
        return None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def _redis(settings: Settings) -> Transport:
    from childsafe.watch.redis_transport import RedisTransport

    return RedisTransport.from_settings(settings)


TRANSPORTS: Registry[TransportKind] = Registry("watch transport")
TRANSPORTS.register(TransportKind("memory", lambda _settings: MemoryTransport()))
TRANSPORTS.register(TransportKind("redis", _redis))


def make_transport(settings: Settings) -> Transport:
    return TRANSPORTS.get(settings.watch_transport).build(settings)


def consumer_name() -> str:
    """Unique per process and start: a restarted worker never inherits a dead one's entries
    by name; they are reclaimed by idle time instead."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def score_until_done(db: Database, keyring: Keyring, conversation_ids: Sequence[int],
                     now: datetime) -> list[ScoreResult]:
    """Score everything new in these conversations: one transaction per round (one commit
    for the lot), another round for those that had more than the per-call limit."""
    results: list[ScoreResult] = []
    todo = list(conversation_ids)
    while todo:
        with db.transaction() as session:
            done = score_conversations(session, keyring, todo, now, budget=BATCH_BUDGET)
        results += done
        todo = [r.conversation_id for r in done if r.remaining]
    return results


class Consumer:
    """Receive wake-ups, score their conversations, acknowledge after commit; sweep lags
    (at start, then every `sweep_seconds`; None: never)."""

    def __init__(self, db: Database, keyring: Callable[[], Keyring], transport: Transport, *,
                 name: str | None = None, clock: Callable[[], datetime] = utcnow,
                 count: int = 64, block_ms: int = 500, sweep_seconds: float | None = 30.0,
                 sweep_age: timedelta = timedelta(seconds=10)) -> None:
        self.db, self.keyring, self.transport = db, keyring, transport
        self.name = name or consumer_name()
        self.clock, self.count, self.block_ms = clock, count, block_ms
        self.sweep_seconds, self.sweep_age = sweep_seconds, sweep_age
        self.scored = 0  # messages, since start (for logs and tests)
        self.alerts = 0
        self._last_sweep: float | None = None

    def handle(self, conversation_ids: Sequence[int]) -> set[int]:
        """Score these conversations together; if that fails, one by one, so one broken
        conversation cannot hold up the others. Returns those that failed (logged; their
        wake-ups stay unacknowledged and come back)."""
        try:
            results = score_until_done(self.db, self.keyring(), conversation_ids, self.clock())
        except Exception:  # noqa: BLE001 - isolated below, logged, retried later
            if len(conversation_ids) == 1:
                log.exception("watch: scoring conversation %s failed; it will be retried",
                              conversation_ids[0])
                return set(conversation_ids)
            failed: set[int] = set()
            for conversation_id in conversation_ids:
                failed |= self.handle([conversation_id])
            return failed
        for result in results:
            self.scored += result.scored
            self.alerts += len(result.alerts)
        return set()

    def step(self) -> int:
        """One receive; returns the number of wake-ups handled."""
        wakeups = self.transport.receive(self.name, count=self.count, block_ms=self.block_ms)
        if not wakeups:
            return 0
        by_conversation: dict[int, list[Wakeup]] = {}
        for wakeup in wakeups:
            by_conversation.setdefault(wakeup.conversation_id, []).append(wakeup)
        failed = self.handle(list(by_conversation))
        self.transport.ack([w for cid, group in by_conversation.items() if cid not in failed
                            for w in group])
        return len(wakeups)

    def sweep(self, *, everything: bool = False) -> int:
        """Score conversations whose cursor lags and that nobody touched for `sweep_age`."""
        older = None if everything else self.clock() - self.sweep_age
        with self.db.reading() as session:
            pending = pending_conversations(session, older_than=older)
        for i in range(0, len(pending), self.count):
            self.handle(pending[i:i + self.count])
        return len(pending)

    def run(self, should_stop: Callable[[], bool]) -> None:
        try:  # load the default detector (cue files, model) now, not at the first message
            detector_named(default_detector_settings()[0])
        except Exception:  # noqa: BLE001 - scoring logs it again, with the conversation
            log.exception("watch: the default detector cannot be loaded")
        while not should_stop():
            now = time.monotonic()
            if self.sweep_seconds is not None and (
                    self._last_sweep is None or now - self._last_sweep >= self.sweep_seconds):
                try:
                    self.sweep(everything=self._last_sweep is None)
                except Exception:  # noqa: BLE001 - the store may be briefly unreachable
                    log.exception("watch: sweep failed")
                self._last_sweep = now
            try:
                self.step()
            except Exception:  # noqa: BLE001 - e.g. Redis restarting: wait, then go on
                log.exception("watch: receiving wake-ups failed; retrying")
                time.sleep(1.0)


class WatchRuntime:
    """A serving process's side of Watch: the transport it publishes to and, when it scores
    too, its consumer thread."""

    def __init__(self, settings: Settings, db: Database, clock: Callable[[], datetime]) -> None:
        self.settings, self.db, self.clock = settings, db, clock
        self._transport: Transport | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.consumer: Consumer | None = None

    @property
    def transport(self) -> Transport:
        with self._lock:
            if self._transport is None:
                self._transport = make_transport(self.settings)
            return self._transport

    def publish(self, conversation_ids: Sequence[int]) -> None:
        """After commit. A failure is logged, not raised: the messages are stored and the
        sweep will score them."""
        if not conversation_ids:
            return
        try:
            self.transport.publish(conversation_ids)
        except Exception:  # noqa: BLE001 - stored is what matters; the sweep catches up
            log.exception("watch: could not publish %d wake-up(s)", len(conversation_ids))

    @property
    def scores_here(self) -> bool:
        return self.settings.watch_transport == "memory" or self.settings.watch_serve_consumer

    def start(self) -> None:
        if not self.scores_here or self._thread is not None:
            return
        self._stopping.clear()
        self.consumer = Consumer(self.db, lambda: self.settings.keyring, self.transport,
                                 clock=lambda: self.clock())
        self._thread = threading.Thread(target=self.consumer.run, args=(self._stopping.is_set,),
                                        name="watch-consumer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if isinstance(self._transport, MemoryTransport):
            self._transport.close()  # wakes the consumer at once
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        with self._lock:
            transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()


def runtime_of(app: Any) -> WatchRuntime:
    """The app's WatchRuntime, made on first use (its clock is read at each call: tests
    replace `app.state.clock`)."""
    state = app.state
    runtime = getattr(state, "watch", None)
    if runtime is None:
        runtime = state.watch = WatchRuntime(state.settings, state.db, lambda: state.clock())
    return runtime


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """FastAPI lifespan: the serving process's consumer runs while the app does."""
    runtime = runtime_of(app)
    runtime.start()
    try:
        yield
    finally:
        runtime.stop()


def run_watch_worker(settings: Settings, *, once: bool = False, threads: int = 1,
                     echo: Callable[[str], None] = print) -> int:
    """`childsafe worker --watch`: score until SIGTERM/SIGINT with `threads` consumers (each
    its own connection); `once`: score every conversation that lags, then return. Returns
    the number of messages scored."""
    import signal

    if settings.watch_transport == "memory" and not once:
        raise ValueError("With CHILDSAFE_WATCH_TRANSPORT=memory the queue lives inside "
                         "`childsafe serve`, which scores by itself; set it to redis to run "
                         "watch workers (or use --once to score what lags).")
    db = Database(settings.effective_database_url)
    keyring = settings.keyring
    try:
        if once:
            consumer = Consumer(db, lambda: keyring, MemoryTransport())
            conversations = consumer.sweep(everything=True)
            echo(f"scored {consumer.scored} message(s) in {conversations} conversation(s), "
                 f"{consumer.alerts} alert(s)")
            return consumer.scored
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _sig, _frame: stop.set())
        consumers = [Consumer(db, lambda: keyring, make_transport(settings))
                     for _ in range(max(1, threads))]
        workers = [threading.Thread(target=c.run, args=(stop.is_set,), name=f"watch-{i}")
                   for i, c in enumerate(consumers)]
        for w in workers:
            w.start()
        echo(f"watch worker: {len(consumers)} consumer(s) on {settings.watch_transport} stream "
             f"{settings.watch_stream!r}, group {settings.watch_group!r}; Ctrl-C to stop")
        while not stop.wait(1.0) and any(w.is_alive() for w in workers):
            pass
        stop.set()
        for w in workers:
            w.join()
        for c in consumers:
            c.transport.close()
        scored = sum(c.scored for c in consumers)
        echo(f"watch worker stopped: scored {scored} message(s), "
             f"{sum(c.alerts for c in consumers)} alert(s)")
        return scored
    finally:
        db.dispose()
