"""Report hand-offs: a chat app files a captured conversation for the web report form.

Revision ID: 0009_report_handoffs
Revises: 0008_retention
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from childsafe.store.models import UTCDateTime

revision = "0009_report_handoffs"
down_revision = "0008_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_handoffs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("provider_id", sa.Integer, sa.ForeignKey("providers.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("key_id", sa.String(12), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("audience", sa.String(24), nullable=True),
        sa.Column("messages", sa.Integer, nullable=False),
        sa.Column("conversation_sha256", sa.String(64), nullable=False),
        sa.Column("payload_enc", sa.LargeBinary, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
        sa.Column("opened_at", UTCDateTime, nullable=True),
        sa.Column("browser_digest", sa.String(64), nullable=True),
        sa.Column("used_at", UTCDateTime, nullable=True),
        sa.Column("report_id", sa.String(36), sa.ForeignKey("reports.id", ondelete="SET NULL"),
                  nullable=True),
    )


def downgrade() -> None:
    op.drop_table("report_handoffs")
