"""Rows of report intake: reports, their evidence, dedup keys and updates to the reporter.

Identity and evidence bytes are AES-GCM envelopes (childsafe.core.crypto) bound to their row.
Evidence is never altered: a trigger refuses any UPDATE except re-wrapping `key_enc`
(key rotation), and nothing but the 72-hour purge of unverified reports deletes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from childsafe.store.models import Base, UTCDateTime, utcnow


class ReportRow(Base):
    __tablename__ = "reports"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(24), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id", ondelete="RESTRICT"),
                                           index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"),
                                                nullable=True, index=True)
    duplicate_of: Mapped[str | None] = mapped_column(String(36), nullable=True)
    immediate: Mapped[bool] = mapped_column(Boolean, default=False)
    category: Mapped[str] = mapped_column(String(40))
    country: Mapped[str] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(8))
    audience: Mapped[str | None] = mapped_column(String(24), nullable=True)
    flow_id: Mapped[str] = mapped_column(String(40))
    flow_version: Mapped[int] = mapped_column(Integer)
    flow_result: Mapped[dict[str, Any]] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(12))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), nullable=True)
    reporter_enc: Mapped[bytes] = mapped_column(LargeBinary)
    contact_key: Mapped[str] = mapped_column(String(64), index=True)
    has_email: Mapped[bool] = mapped_column(Boolean, default=False)
    status_token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    ver_salt: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ver_code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ver_link_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    ver_code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ver_attempts: Mapped[int] = mapped_column(Integer, default=0)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EvidenceRow(Base):
    __tablename__ = "evidence"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"),
                                           index=True)
    kind: Mapped[str] = mapped_column(String(16))  # text | conversation | file
    mime: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    md5: Mapped[str] = mapped_column(String(32))
    server_name: Mapped[str] = mapped_column(String(80))
    client_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    source: Mapped[str] = mapped_column(String(16))  # reporter | provider
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    key_enc: Mapped[bytes] = mapped_column(LargeBinary)  # wrapped data key: re-wrappable
    blob_enc: Mapped[bytes] = mapped_column(LargeBinary)  # the payload: never updated
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DedupKeyRow(Base):
    __tablename__ = "report_dedup_keys"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"),
                                           primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (Index("ix_dedup_key_created", "key", "created_at"),)


class ReportUpdateRow(Base):
    """What the reporter sees on their status page: advice and plain status notes."""

    __tablename__ = "report_updates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"),
                                           index=True)
    kind: Mapped[str] = mapped_column(String(16))  # status | advice | reporter_note
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SuspectKeyRow(Base):
    """A reported identifier as a keyed hash: history and pooling without the identifier."""

    __tablename__ = "suspect_keys"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"),
                                           primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
