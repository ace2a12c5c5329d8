"""Watch: rooms, assignments, shifts, handover notes, agency settings, conversations, messages,
alerts, interventions, feedback.

Revision ID: 0007_watch
Revises: 0006_provider_webhooks
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from childsafe.store.models import UTCDateTime

revision = "0007_watch"
down_revision = "0006_provider_webhooks"
branch_labels = None
depends_on = None

# A stored message is never modified: only the scoring worker's `score`/`cues` are filled in
# once, and `text_enc` may be re-sealed by key rotation.
_FROZEN = ("id, room_id, conversation_id, seq, message_id, author_id, declared_age, "
           "recipient_id, reply_to, sent_at, sha256, received_at")
_PG_IMMUTABLE = """
CREATE OR REPLACE FUNCTION watch_message_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'a watched message is never modified';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER watch_message_no_update BEFORE UPDATE OF {cols} ON watch_messages
  FOR EACH ROW EXECUTE FUNCTION watch_message_immutable();
"""


def _fk(target: str, ondelete: str | None = None) -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "watch_rooms",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("provider_id", sa.Integer, _fk("providers.id", "RESTRICT"), nullable=False,
                  index=True),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("badge_digest", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("provider_id", "external_id", name="uq_watch_room_ext"),
    )
    op.create_table(
        "watch_assignments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("room_id", sa.String(32), _fk("watch_rooms.id", "CASCADE"), nullable=False,
                  index=True),
        sa.Column("agency_id", sa.Integer, _fk("agencies.id", "RESTRICT"), nullable=False,
                  index=True),
        sa.Column("created_by", sa.Integer, _fk("users.id"), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("room_id", "agency_id", name="uq_watch_assignment"),
    )
    op.create_table(
        "watch_shifts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agency_id", sa.Integer, _fk("agencies.id", "RESTRICT"), nullable=False,
                  index=True),
        sa.Column("label", sa.String(80), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("start_minute", sa.Integer, nullable=False),
        sa.Column("end_minute", sa.Integer, nullable=False),
        sa.Column("created_by", sa.Integer, _fk("users.id"), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "watch_handover_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("agency_id", sa.Integer, _fk("agencies.id", "RESTRICT"), nullable=False,
                  index=True),
        sa.Column("author_id", sa.Integer, _fk("users.id"), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "watch_agency_settings",
        sa.Column("agency_id", sa.Integer, _fk("agencies.id", "CASCADE"), primary_key=True),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("detector", sa.String(24), nullable=False),
        sa.Column("updated_by", sa.Integer, _fk("users.id"), nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "watch_conversations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("room_id", sa.String(32), _fk("watch_rooms.id", "CASCADE"), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("ingested_seq", sa.Integer, nullable=False),
        sa.Column("scored_seq", sa.Integer, nullable=False),
        sa.Column("last_ts", sa.Float, nullable=True),
        sa.Column("top_score", sa.Float, nullable=False),
        sa.Column("top_author", sa.String(128), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("room_id", "key", name="uq_watch_conversation"),
    )
    op.create_table(
        "watch_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("room_id", sa.String(32), _fk("watch_rooms.id", "CASCADE"), nullable=False),
        sa.Column("conversation_id", sa.Integer, _fk("watch_conversations.id", "CASCADE"),
                  nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("author_id", sa.String(128), nullable=False),
        sa.Column("declared_age", sa.Integer, nullable=True),
        sa.Column("recipient_id", sa.String(128), nullable=True),
        sa.Column("reply_to", sa.String(128), nullable=True),
        sa.Column("sent_at", UTCDateTime, nullable=False),
        sa.Column("text_enc", sa.LargeBinary, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("cues", sa.JSON, nullable=True),
        sa.UniqueConstraint("room_id", "message_id", name="uq_watch_message"),
        sa.UniqueConstraint("conversation_id", "seq", name="uq_watch_message_seq"),
    )
    op.create_table(
        "watch_alerts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False, unique=True),
        sa.Column("room_id", sa.String(32), _fk("watch_rooms.id", "RESTRICT"), nullable=False),
        sa.Column("conversation_id", sa.Integer, _fk("watch_conversations.id", "RESTRICT"),
                  nullable=False),
        sa.Column("agency_id", sa.Integer, _fk("agencies.id", "RESTRICT"), nullable=False),
        sa.Column("out_of_hours", sa.Boolean, nullable=False),
        sa.Column("author_id", sa.String(128), nullable=False),
        sa.Column("target_id", sa.String(128), nullable=True),
        sa.Column("message_seq", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("stage", sa.String(32), nullable=True),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("detector", sa.String(24), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("acknowledged_by", sa.Integer, _fk("users.id"), nullable=True),
        sa.Column("acknowledged_at", UTCDateTime, nullable=True),
        sa.Column("closed_by", sa.Integer, _fk("users.id"), nullable=True),
        sa.Column("closed_at", UTCDateTime, nullable=True),
        sa.Column("case_id", sa.String(36), _fk("cases.id", "SET NULL"), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("conversation_id", "author_id", name="uq_watch_alert_once"),
        sa.Index("ix_watch_alerts_queue", "agency_id", "state", "created_at"),
    )
    op.create_table(
        "watch_interventions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("alert_id", sa.String(36), _fk("watch_alerts.id", "RESTRICT"), nullable=False,
                  index=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("target_id", sa.String(128), nullable=True),
        sa.Column("by_user", sa.Integer, _fk("users.id"), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("delivered_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "watch_feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("alert_id", sa.String(36), _fk("watch_alerts.id", "CASCADE"), nullable=False,
                  index=True),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("detector", sa.String(24), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("by_user", sa.Integer, _fk("users.id"), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_IMMUTABLE.format(cols=_FROZEN))
    else:
        op.execute(f"CREATE TRIGGER watch_message_no_update BEFORE UPDATE OF {_FROZEN} "
                   "ON watch_messages BEGIN SELECT RAISE(ABORT, 'a watched message is never "
                   "modified'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS watch_message_no_update ON watch_messages")
        op.execute("DROP FUNCTION IF EXISTS watch_message_immutable()")
    for name in ("watch_feedback", "watch_interventions", "watch_alerts", "watch_messages",
                 "watch_conversations", "watch_agency_settings", "watch_handover_notes",
                 "watch_shifts", "watch_assignments", "watch_rooms"):
        op.drop_table(name)
