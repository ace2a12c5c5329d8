"""Case work: agency delivery channels, delivery log, police directory, sharing requests.

Revision ID: 0005_case_work
Revises: 0004_triage
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from childsafe.store.models import UTCDateTime

revision = "0005_case_work"
down_revision = "0004_triage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agency_channels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agency_id", sa.Integer, sa.ForeignKey("agencies.id"), nullable=False,
                  index=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("target", sa.String(500), nullable=False),
        sa.Column("secret_enc", sa.LargeBinary, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("channel_id", sa.Integer, sa.ForeignKey("agency_channels.id"), nullable=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("delivered_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "police_stations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("country", sa.String(2), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region", sa.String(120), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
    )
    op.create_table(
        "sharing_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("from_agency_id", sa.Integer, sa.ForeignKey("agencies.id"), nullable=False),
        sa.Column("to_agency_id", sa.Integer, sa.ForeignKey("agencies.id"), nullable=False,
                  index=True),
        sa.Column("requested_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("decided_at", UTCDateTime, nullable=True),
    )


def downgrade() -> None:
    for name in ("sharing_requests", "police_stations", "deliveries", "agency_channels"):
        op.drop_table(name)
