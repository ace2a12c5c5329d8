"""Rows of Watch: monitored rooms, the duty roster, ingested messages, conversations, alerts.

Message text is an AES-GCM envelope bound to its room and message id (children's chats are
as sensitive as report evidence); everything a detector needs between messages lives in the
conversation's `state` (plain JSON, no text). Room ids are opaque (`rm_…`) because the badge
endpoint is public: a chat page shows the monitored symbol without holding an API key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from childsafe.store.models import Base, UTCDateTime, utcnow


class RoomRow(Base):
    """A provider's chat room registered for monitoring."""

    __tablename__ = "watch_rooms"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # rm_<random>: public, opaque
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="RESTRICT"),
                                             index=True)
    external_id: Mapped[str] = mapped_column(String(128))  # the provider's own room id
    title: Mapped[str] = mapped_column(String(200))
    audience: Mapped[str] = mapped_column(String(16))  # child | teen | general | adult
    language: Mapped[str] = mapped_column(String(8))
    region: Mapped[str] = mapped_column(String(8))  # ISO alpha-2 country, or '*'
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    badge_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)  # last pushed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("provider_id", "external_id", name="uq_watch_room_ext"),)


class RoomAssignmentRow(Base):
    """An agency monitors a room (when: whenever one of its shifts is on)."""

    __tablename__ = "watch_assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("watch_rooms.id", ondelete="CASCADE"),
                                         index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"),
                                           index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("room_id", "agency_id", name="uq_watch_assignment"),)


class ShiftRow(Base):
    """A recurring shift in the agency's own time zone; end <= start runs past midnight."""

    __tablename__ = "watch_shifts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"),
                                           index=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name, e.g. Europe/London
    days: Mapped[int] = mapped_column(Integer)  # bit 0 = Monday … bit 6 = Sunday (start day)
    start_minute: Mapped[int] = mapped_column(Integer)  # minutes after local midnight
    end_minute: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HandoverNoteRow(Base):
    """What one shift tells the next (officers of the agency only)."""

    __tablename__ = "watch_handover_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"),
                                           index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgencyWatchSettingsRow(Base):
    """An agency's operating point: which detector and from what score it is alerted."""

    __tablename__ = "watch_agency_settings"
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"),
                                           primary_key=True)
    threshold: Mapped[float] = mapped_column(Float)
    detector: Mapped[str] = mapped_column(String(24))
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationRow(Base):
    """A room thread between participants, or a direct conversation, as the detector sees it.

    `ingested_seq` counts messages stored; `scored_seq` counts those the detector has seen.
    A worker scores seq `scored_seq + 1 …` in order under the row lock and advances it in the
    same transaction, so a message is never scored twice nor skipped, whichever worker
    (or retry) runs.
    """

    __tablename__ = "watch_conversations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("watch_rooms.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(8))  # room | direct
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ingested_seq: Mapped[int] = mapped_column(Integer, default=0)
    scored_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_ts: Mapped[float | None] = mapped_column(Float, nullable=True)
    top_score: Mapped[float] = mapped_column(Float, default=0.0)
    top_author: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("room_id", "key", name="uq_watch_conversation"),)


class WatchMessageRow(Base):
    """One ingested chat message; text sealed, hashed at receipt, never modified after."""

    __tablename__ = "watch_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("watch_rooms.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("watch_conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the conversation
    message_id: Mapped[str] = mapped_column(String(128))  # the provider's id
    author_id: Mapped[str] = mapped_column(String(128))
    declared_age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recipient_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    reply_to: Mapped[str | None] = mapped_column(String(128), nullable=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Filled once, by the scoring worker: the conversation's top score after this message.
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    cues: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    __table_args__ = (
        UniqueConstraint("room_id", "message_id", name="uq_watch_message"),
        UniqueConstraint("conversation_id", "seq", name="uq_watch_message_seq"),
    )


class AlertRow(Base):
    """A detector's threshold crossing, routed to the agency on duty for the room."""

    __tablename__ = "watch_alerts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # uuid4
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    room_id: Mapped[str] = mapped_column(ForeignKey("watch_rooms.id", ondelete="RESTRICT"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("watch_conversations.id", ondelete="RESTRICT"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"))
    out_of_hours: Mapped[bool] = mapped_column(Boolean, default=False)  # nobody was on duty
    author_id: Mapped[str] = mapped_column(String(128))  # the participant who raised it
    target_id: Mapped[str | None] = mapped_column(String(128), nullable=True)  # youngest minor
    message_seq: Mapped[int] = mapped_column(Integer)  # the message that crossed
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    stage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    detector: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(16), default="open")  # open|acknowledged|dismissed|actioned
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"),
                                                nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint("conversation_id", "author_id", name="uq_watch_alert_once"),
        Index("ix_watch_alerts_queue", "agency_id", "state", "created_at"),
    )


class InterventionRow(Base):
    """An officer's action into the provider's service, sent by signed webhook (outbox)."""

    __tablename__ = "watch_interventions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("watch_alerts.id", ondelete="RESTRICT"),
                                          index=True)
    kind: Mapped[str] = mapped_column(String(24))  # room_message|private_advice|suspend|preserve
    body: Mapped[str] = mapped_column(Text, default="")
    target_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    by_user: Mapped[int] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|delivered|failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AlertFeedbackRow(Base):
    """An officer's verdict on an alert, kept for evaluation and retraining."""

    __tablename__ = "watch_feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("watch_alerts.id", ondelete="CASCADE"),
                                          index=True)
    label: Mapped[str] = mapped_column(String(16))  # grooming | not_grooming | unsure
    reason: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    detector: Mapped[str] = mapped_column(String(24))
    score: Mapped[float] = mapped_column(Float)
    by_user: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
