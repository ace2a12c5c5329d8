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


def test_sqlite_table_rebuilds_keep_rows_that_point_at_them(tmp_path):
    """0004 rebuilds `cases` on SQLite; with foreign keys enforced the copy-and-drop would
    fire ON DELETE CASCADE on every case's shares (and SET NULL on reports' case links).
    Upgrading a populated store keeps them."""
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    migrate.upgrade(engine, "0003_block_list")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO agencies (id, code, name, emergency_number, help_line, note, "
                          "is_fallback, created_at) VALUES (1, 'UK-NCA-CEOP', 'CEOP', '999', '', '', "
                          "0, '2026-11-23 09:00:00')"))
        agency = 1
        conn.execute(text("INSERT INTO cases (id, reference, agency_id, title, status, source, "
                          "created_at, updated_at) VALUES ('c1', 'CS-1', :a, 't', 'new', 'manual', "
                          "'2026-11-23 09:00:00', '2026-11-23 09:00:00')"), {"a": agency})
        conn.execute(text("INSERT INTO case_shares (case_id, agency_id, reason, shared_at) "
                          "VALUES ('c1', :a, 'pooling', '2026-11-23 09:00:00')"), {"a": agency})
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT case_id FROM case_shares")).scalar_one() == "c1"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    engine.dispose()
