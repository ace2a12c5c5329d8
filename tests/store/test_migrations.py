"""Migrations upgrade from empty and from every earlier revision, on both stores."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from childsafe.store import migrate
from childsafe.store.db import make_engine
from childsafe.store.schema import metadata as schema_metadata


def _fresh_url(kind: str, tmp_path, pg_admin_url: str, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / (name + '.db')}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return pg_admin_url.rsplit("/", 1)[0] + "/" + name


def _assert_schema_matches_models(url: str) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}),
                                schema_metadata)
    engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def test_upgrade_from_empty_and_every_revision(kind, tmp_path, pg_database):
    from tests.conftest import PG_ADMIN_URL  # noqa: PLC0415

    revisions = migrate.revisions_oldest_first()
    assert revisions and revisions[-1] == migrate.head_revision()
    for i, start in enumerate([None, *revisions]):
        url = _fresh_url(kind, tmp_path, PG_ADMIN_URL, f"childsafe_mig_{i}")
        engine = make_engine(url)
        if start is not None:
            migrate.upgrade(engine, start)
            assert migrate.current_revision(engine) == start
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        engine.dispose()
        _assert_schema_matches_models(url)


def test_downgrade_to_base_and_back(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
