"""Triage and case work: decision with reasons, claims, SLA clock, outcome, notes, suspects.

Revision ID: 0004_triage
Revises: 0003_block_list
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from childsafe.store.models import UTCDateTime

revision = "0004_triage"
down_revision = "0003_block_list"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("triage", sa.JSON, nullable=True))
        batch.add_column(sa.Column("sla_due_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("assigned_to", sa.Integer, nullable=True))
        batch.add_column(sa.Column("claimed_until", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(40), nullable=True))
        batch.create_foreign_key("fk_cases_assigned_to", "users", ["assigned_to"], ["id"])
        batch.create_index("ix_cases_queue", ["agency_id", "status", "priority", "created_at"])
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "suspect_keys",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("report_id", sa.String(36), sa.ForeignKey("reports.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("agency_id", sa.Integer, sa.ForeignKey("agencies.id"), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("suspect_keys")
    op.drop_table("case_notes")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_queue")
        batch.drop_constraint("fk_cases_assigned_to", type_="foreignkey")
        for name in ("outcome", "claimed_until", "assigned_to", "sla_due_at", "triage"):
            batch.drop_column(name)
