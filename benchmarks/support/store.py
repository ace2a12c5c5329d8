"""A fresh, migrated store for a benchmark run: a SQLite file or a PostgreSQL database of its own."""

from __future__ import annotations

import os
from pathlib import Path

from childsafe.store import migrate
from childsafe.store.db import make_engine

PG_ADMIN = os.environ.get("CHILDSAFE_TEST_PG_URL",
                          "postgresql+psycopg://childsafe:childsafe@127.0.0.1:5432/postgres")


def prepare_store(kind: str, tmp: Path, name: str) -> str | None:
    """The URL of an empty store at the head revision; None (and a line saying why) when
    PostgreSQL is asked for but not reachable, so the benchmark can skip it."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp / (name + '.db')}"
    else:
        from sqlalchemy import create_engine, text
        database = f"childsafe_{name}_{os.getpid()}"
        try:
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{database}"'))
            admin.dispose()
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable here"
            print(f"PostgreSQL not reachable at {PG_ADMIN} ({type(exc).__name__}); skipping it")
            return None
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + database
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    return url


def drop_pg(url: str) -> None:
    from sqlalchemy import create_engine, text
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()
