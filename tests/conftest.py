"""Shared fixtures: both stores, settings with their own keys, officers, a logged-in client.

The `store_url` fixture runs each storage test on SQLite and on PostgreSQL
(127.0.0.1:5432; the harness creates and drops its own database). `make test` starts
PostgreSQL when it is missing; set CHILDSAFE_TEST_PG_URL to point elsewhere.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from childsafe.config import Settings
from childsafe.core.crypto import Keyring, new_keyring
from childsafe.store import agencies, migrate
from childsafe.store.db import Database, make_engine
from childsafe.store.schema import metadata as schema_metadata
from tests.helpers import Clock, OfficerFactory

PG_ADMIN_URL = os.environ.get("CHILDSAFE_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_url(dbname: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    name = f"childsafe_test_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}); "
                    "run `make test`, which installs and starts it")
    url = _pg_url(name)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


def _truncate_pg(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in reversed(schema_metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated store of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "childsafe.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "childsafe.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def keyring() -> Keyring:
    return new_keyring()


def make_settings(tmp_path: Path, url: str, keyring: Keyring) -> Settings:
    return Settings(data_dir=tmp_path, database_url=url, keys=keyring.to_json(),
                    mail_sender="memory", cookie_secure=True)


@pytest.fixture
def settings(tmp_path: Path, store_url: str, keyring: Keyring) -> Settings:
    return make_settings(tmp_path, store_url, keyring)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.effective_database_url)
    with database.transaction() as session:
        agencies.seed_agencies(session)
    yield database
    database.dispose()


@pytest.fixture
def make_officer(db: Database, keyring: Keyring) -> OfficerFactory:
    return OfficerFactory(db, keyring)


@pytest.fixture
def clock() -> Clock:
    return Clock()


