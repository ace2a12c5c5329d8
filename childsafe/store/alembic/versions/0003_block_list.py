"""List authority: block list entries (soft delete), change history, publications.

Revision ID: 0003_block_list
Revises: 0002_reports
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from childsafe.store.models import UTCDateTime

revision = "0003_block_list"
down_revision = "0002_reports"
branch_labels = None
depends_on = None

_ACTIVE = sa.text("removed_at IS NULL")

_PG_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION block_changes_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'block list history is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER block_changes_no_update BEFORE UPDATE OR DELETE ON block_changes
  FOR EACH ROW EXECUTE FUNCTION block_changes_append_only();
"""


def upgrade() -> None:
    op.create_table(
        "block_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("expression", sa.String(2048), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("category", sa.String(500), nullable=False, index=True),
        sa.Column("added_by", sa.String(500), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("review_date", sa.Date, nullable=False, index=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("removed_at", UTCDateTime, nullable=True),
        sa.Column("removed_by", sa.String(120), nullable=True),
        sa.Column("removal_reason", sa.Text, nullable=True),
    )
    op.create_index("uq_block_entries_active", "block_entries", ["expression"], unique=True,
                    sqlite_where=_ACTIVE, postgresql_where=_ACTIVE)
    op.create_table(
        "block_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False, index=True),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("agency", sa.String(48), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("block_entries.id"), nullable=True,
                  index=True),
        sa.Column("expression", sa.String(2048), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_table(
        "block_publications",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("published_by", sa.String(120), nullable=False),
        sa.Column("entry_count", sa.Integer, nullable=False),
        sa.Column("expression_count", sa.Integer, nullable=False),
        sa.Column("digests_added", sa.Integer, nullable=False),
        sa.Column("digests_removed", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("snapshot_sha256", sa.String(64), nullable=False),
        sa.Column("delta_sha256", sa.String(64), nullable=True),
        sa.Column("key_fingerprint", sa.String(64), nullable=False),
        sa.Column("snapshot_file", sa.LargeBinary, nullable=False),
        sa.Column("delta_file", sa.LargeBinary, nullable=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER block_changes_no_{event.lower()} BEFORE {event} "
                       "ON block_changes BEGIN "
                       "SELECT RAISE(ABORT, 'block list history is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS block_changes_no_update ON block_changes")
        op.execute("DROP FUNCTION IF EXISTS block_changes_append_only()")
    for name in ("block_publications", "block_changes", "block_entries"):
        op.drop_table(name)
