"""Engines and transactions for both stores: SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import collections
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

READ_ONLY = "childsafe_read_only"  # execution option: a transaction that never writes
LOCK_TIMEOUT_S = 30.0


class SQLiteWriterLock:
    """Who may hold SQLite's write lock next: first come, first served, across processes.

    SQLite itself lets waiting writers poll (sleeps of up to 100 ms), which starves some of
    them for the whole busy timeout under load. Threads of one process queue here in arrival
    order (the lock is handed to the oldest waiter, never grabbed by a newcomer); processes
    sharing the file take turns on an exclusive `flock` of `<database>-writer` (polled every
    2 ms at most, and one thread per process polls). Not an RLock: a request may begin in
    one thread and commit in another.
    """

    def __init__(self, lock_path: str | None) -> None:
        self._mutex = threading.Lock()
        self._waiters: collections.deque[threading.Lock] = collections.deque()
        self._held = False
        self._path = lock_path
        self._fd: int | None = None  # open only while held: closing it unlocks

    def acquire(self, timeout: float = LOCK_TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout
        if not self._acquire_local(timeout):
            return False
        try:
            if self._path is None or self._lock_file(self._path, deadline):
                return True
        except BaseException:
            self._release_local()
            raise
        self._release_local()
        return False

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        self._release_local()

    def _acquire_local(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True
        with self._mutex:
            try:
                self._waiters.remove(turn)
            except ValueError:  # handed over to us while we gave up: keep it
                return True
        return False

    def _release_local(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # _held stays True: ownership moves on
            else:
                self._held = False

    def _lock_file(self, path: str, deadline: float) -> bool:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        pause = 0.0002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 0.002)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine tuned for the store behind `url`.

    SQLite gets WAL, foreign keys and `BEGIN IMMEDIATE` behind `SQLiteWriterLock`, so
    concurrent writers queue instead of failing mid-transaction (the audit chain relies on
    it). A transaction begun with the `READ_ONLY` execution option (`Database.reading()`)
    issues a deferred `BEGIN` instead: WAL readers see the last commit and wait for no one.
    Durability: `synchronous=NORMAL` in WAL mode syncs the log at checkpoints, not at every
    commit, so a committed transaction survives a crash of the process but the last ones
    before a power loss or kernel crash may be lost; the database is never corrupted.
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("pool_size", 40)  # one per web thread: they queue on `writer` below
        kwargs.setdefault("max_overflow", 10)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **kwargs)
        path = make_url(url).database
        on_disk = bool(path) and path != ":memory:" and "mode=memory" not in url
        writer = SQLiteWriterLock(f"{path}-writer" if on_disk else None)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
                return
            if not writer.acquire():
                raise TimeoutError("the SQLite store stayed busy for 30 s")
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                writer.release()
                raise
            conn.info["childsafe_writer"] = True

        # SQLAlchemy fires these events *before* it ends the transaction; end it here first
        # (the driver's own commit/rollback then finds nothing to do), so the next writer
        # never waits on SQLite's busy loop for a COMMIT still in flight.
        @event.listens_for(engine, "commit")
        def _on_commit(conn: Any) -> None:
            conn.connection.dbapi_connection.commit()
            if conn.info.pop("childsafe_writer", False):
                writer.release()

        @event.listens_for(engine, "rollback")
        def _on_rollback(conn: Any) -> None:
            try:
                conn.connection.dbapi_connection.rollback()
            finally:
                if conn.info.pop("childsafe_writer", False):
                    writer.release()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 20)  # >= the web thread pool's typical concurrency
    kwargs.setdefault("max_overflow", 20)
    if kwargs.pop("no_pool", False):
        kwargs["poolclass"] = NullPool
    return create_engine(url, **kwargs)


def is_postgres(engine_or_session: Engine | Session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"


class Database:
    """One engine and its session factory; `transaction()` commits or rolls back as a unit."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **kwargs)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        self._read_engine = self.engine.execution_options(**{READ_ONLY: True})
        self._reader = sessionmaker(self._read_engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        session = self._factory()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction for lookups only: on SQLite it takes no write lock, so it must not
        write (a write there could fail with `database is locked`, never corrupt)."""
        session = self._reader()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """Like `reading()`, for Core statements only: no ORM session around them. On
        PostgreSQL each statement is its own transaction (autocommit: no BEGIN and ROLLBACK
        round trips), which is what READ COMMITTED gives a series of reads anyway."""
        with self._read_engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    def session(self) -> Session:
        """A session that begins on first use; the caller commits or rolls back and closes."""
        return self._factory()

    def dispose(self) -> None:
        self.engine.dispose()
