"""Engines and transactions for both stores: SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine tuned for the store behind `url`.

    SQLite gets WAL, foreign keys and `BEGIN IMMEDIATE`, so concurrent writers queue on the
    write lock instead of failing mid-transaction (the audit chain relies on it).
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("pool_size", 40)  # one per web thread: they queue on `writer` below
        kwargs.setdefault("max_overflow", 10)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               **kwargs)

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

        # Threads of this process queue fairly on a lock instead of busy-polling SQLite's
        # file lock (which starves some of them under load); other processes still poll.
        # A plain Lock, not an RLock: a request may begin in one thread and commit in another.
        writer = threading.Lock()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            if not writer.acquire(timeout=30):
                raise TimeoutError("the SQLite store stayed busy for 30 s")
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                writer.release()
                raise
            conn.info["childsafe_writer"] = True

        def _release(conn: Any) -> None:
            if conn.info.pop("childsafe_writer", False):
                writer.release()

        event.listen(engine, "commit", _release)
        event.listen(engine, "rollback", _release)
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

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        session = self._factory()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def session(self) -> Session:
        """A session that begins on first use; the caller commits or rolls back and closes."""
        return self._factory()

    def dispose(self) -> None:
        self.engine.dispose()
