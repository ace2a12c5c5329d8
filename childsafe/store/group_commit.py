"""Group commit: one writer thread per process stores queued items in shared transactions.

Requests that only need to *write* something they prepared in full (a report: validated,
encrypted, hashed and routed) hand it to a `GroupCommit` and wait for its result. The writer
thread takes every item queued meanwhile (up to `max_batch`) and writes them in one
transaction with one call of `write(session, items)`. Nothing is answered before its
transaction has committed, so durability is exactly that of one transaction per item; what is
shared is the cost of a transaction: the BEGIN and COMMIT (the WAL flush on PostgreSQL), the
store's write lock (SQLite) or the audit chain's lock (PostgreSQL), and one statement per
table instead of one per item.

Batches form by themselves: an item waits only while the batch before it is being written,
so at low rates every batch holds one item and latency is that of a plain transaction.

A failing batch is retried item by item, each in its own transaction, so one bad item fails
only its own caller. The thread stops after `idle_s` without work and starts again on the
next item (an app that is no longer used leaves no thread behind).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from childsafe.store.db import Database

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger("childsafe.store.group_commit")


class GroupCommit(Generic[T, R]):
    def __init__(self, db: Database, write: Callable[[Session, list[T]], list[R]], *,
                 max_batch: int = 64, idle_s: float = 10.0, name: str = "group-commit") -> None:
        self.db, self.write = db, write
        self.max_batch, self.idle_s, self.name = max_batch, idle_s, name
        self._queue: queue.SimpleQueue[tuple[T, Future[R]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batches = 0  # counters for benchmarks and tests
        self.items = 0

    def submit(self, item: T) -> Future[R]:
        """Queue `item`; the future holds `write`'s result for it once committed."""
        future: Future[R] = Future()
        with self._lock:
            self._queue.put((item, future))
            if self._thread is None:
                self._start()
        return future

    async def run(self, item: T) -> R:
        """`submit` for a coroutine: await the committed result without holding a thread."""
        return await asyncio.wrap_future(self.submit(item))

    def _start(self) -> None:  # with self._lock held
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            with self._lock:
                self._thread = None
                if not self._queue.empty():  # left by an unexpected error: carry on
                    self._start()

    def _serve(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle_s)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        return
                continue
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            live = [(item, future) for item, future in batch
                    if future.set_running_or_notify_cancel()]
            if live:
                self._write(live)

    def _write(self, batch: list[tuple[T, Future[R]]]) -> None:
        try:
            with self.db.transaction() as session:
                results = self.write(session, [item for item, _ in batch])
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            log.info("batch of %d failed (%s); writing its items one by one",
                     len(batch), type(exc).__name__)
            for one in batch:
                self._write([one])
            return
        self.batches += 1
        self.items += len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
