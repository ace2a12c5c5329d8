"""Alembic driven from code, so `childsafe admin migrate` needs no alembic.ini on disk."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

SCRIPT_LOCATION = str(Path(__file__).with_name("alembic"))


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    return cfg


class MigrationError(RuntimeError):
    """A migration would leave rows pointing at nothing; nothing was changed."""


def _run(engine: Engine, step: str, revision: str) -> None:
    """Run one Alembic command in one transaction.

    SQLite alters a table by copying it and dropping the old one; with foreign keys
    enforced, that drop fires ON DELETE CASCADE / SET NULL on every table pointing at it
    (API keys of providers, reports' case links …). So on SQLite the migration runs with
    enforcement off and checks every foreign key before committing instead.
    """
    cfg = alembic_config()
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        # The PRAGMA is a no-op inside a transaction, and the store's SQLite engine opens one
        # on any statement (`BEGIN IMMEDIATE`), so it goes to the driver connection directly.
        raw = conn.connection.driver_connection if sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                getattr(command, step)(cfg, revision)
                if sqlite:
                    _check_foreign_keys(conn)
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise MigrationError(f"migration would break {len(broken)} reference(s) in "
                             f"{', '.join(tables)}; nothing was changed")


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, "downgrade", revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def revisions_oldest_first() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]
