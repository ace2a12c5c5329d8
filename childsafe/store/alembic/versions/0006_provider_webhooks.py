"""Providers' webhooks (data preservation requests, later interventions).

Revision ID: 0006_provider_webhooks
Revises: 0005_case_work
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_provider_webhooks"
down_revision = "0005_case_work"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("providers") as batch:
        batch.add_column(sa.Column("webhook_url", sa.String(500), nullable=True))
        batch.add_column(sa.Column("webhook_secret_enc", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("providers") as batch:
        batch.drop_column("webhook_secret_enc")
        batch.drop_column("webhook_url")
