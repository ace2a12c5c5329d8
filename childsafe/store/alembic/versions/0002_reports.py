"""Report intake: reports, evidence (immutable), dedup keys, updates to the reporter.

Revision ID: 0002_reports
Revises: 0001_foundation
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from childsafe.store.models import UTCDateTime

revision = "0002_reports"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

_PG_IMMUTABLE = """
CREATE OR REPLACE FUNCTION evidence_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'evidence is never modified';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER evidence_no_update BEFORE UPDATE OF {cols} ON evidence
  FOR EACH ROW EXECUTE FUNCTION evidence_immutable();
"""


# Everything but `key_enc` (the wrapped data key, re-wrapped by key rotation) is immutable.
_FROZEN = ("id, report_id, kind, mime, size, sha256, md5, server_name, client_name, source, "
           "meta, blob_enc, received_at")


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False, unique=True),
        sa.Column("state", sa.String(24), nullable=False, index=True),
        sa.Column("agency_id", sa.Integer, sa.ForeignKey("agencies.id", ondelete="RESTRICT"),
                  nullable=False, index=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="SET NULL"),
                  nullable=True, index=True),
        sa.Column("duplicate_of", sa.String(36), nullable=True),
        sa.Column("immediate", sa.Boolean, nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("audience", sa.String(24), nullable=True),
        sa.Column("flow_id", sa.String(40), nullable=False),
        sa.Column("flow_version", sa.Integer, nullable=False),
        sa.Column("flow_result", sa.JSON, nullable=False),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("provider_id", sa.Integer, sa.ForeignKey("providers.id"), nullable=True),
        sa.Column("reporter_enc", sa.LargeBinary, nullable=False),
        sa.Column("contact_key", sa.String(64), nullable=False, index=True),
        sa.Column("has_email", sa.Boolean, nullable=False),
        sa.Column("status_token_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("ver_salt", sa.String(64), nullable=True),
        sa.Column("ver_code_hash", sa.String(64), nullable=True),
        sa.Column("ver_link_hash", sa.String(64), nullable=True, index=True),
        sa.Column("ver_code_expires_at", UTCDateTime, nullable=True),
        sa.Column("ver_attempts", sa.Integer, nullable=False),
        sa.Column("verified_at", UTCDateTime, nullable=True),
        sa.Column("expires_at", UTCDateTime, nullable=True, index=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "evidence",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("report_id", sa.String(36), sa.ForeignKey("reports.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("mime", sa.String(80), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False, index=True),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("server_name", sa.String(80), nullable=False),
        sa.Column("client_name", sa.String(200), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("key_enc", sa.LargeBinary, nullable=False),
        sa.Column("blob_enc", sa.LargeBinary, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "report_dedup_keys",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("report_id", sa.String(36), sa.ForeignKey("reports.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_dedup_key_created", "report_dedup_keys", ["key", "created_at"])
    op.create_table(
        "report_updates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("report_id", sa.String(36), sa.ForeignKey("reports.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_IMMUTABLE.format(cols=_FROZEN))
    else:
        op.execute(f"CREATE TRIGGER evidence_no_update BEFORE UPDATE OF {_FROZEN} ON evidence "
                   "BEGIN SELECT RAISE(ABORT, 'evidence is never modified'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS evidence_no_update ON evidence")
        op.execute("DROP FUNCTION IF EXISTS evidence_immutable()")
    for name in ("report_updates", "report_dedup_keys", "evidence", "reports"):
        op.drop_table(name)
