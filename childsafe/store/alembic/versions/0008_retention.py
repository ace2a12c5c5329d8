"""Retention: a legal hold on cases (who placed it, when, why); held cases are never deleted.

Revision ID: 0008_retention
Revises: 0007_watch
Create Date: 2026-12-08

Plain ADD COLUMN on both stores (no batch copy of `cases`: on SQLite a table rebuild with
foreign keys on would fire the ON DELETE actions of reports, notes and shares).
"""

import sqlalchemy as sa
from alembic import op

from childsafe.store.models import UTCDateTime

revision = "0008_retention"
down_revision = "0007_watch"
branch_labels = None
depends_on = None

_COLUMNS = ("legal_hold_at", "legal_hold_by", "legal_hold_reason", "legal_hold")


def upgrade() -> None:
    op.add_column("cases", sa.Column("legal_hold", sa.Boolean, nullable=False,
                                     server_default=sa.false()))
    op.add_column("cases", sa.Column("legal_hold_reason", sa.Text, nullable=True))
    op.add_column("cases", sa.Column("legal_hold_by", sa.String(120), nullable=True))
    op.add_column("cases", sa.Column("legal_hold_at", UTCDateTime, nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # DROP COLUMN: SQLite 3.35+, no rebuild
        for name in _COLUMNS:
            op.execute(f"ALTER TABLE cases DROP COLUMN {name}")
        return
    for name in _COLUMNS:
        op.drop_column("cases", name)
