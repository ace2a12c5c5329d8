"""Storage rows of the list authority: entries (soft-deleted), change history, publications.

Plaintext URL expressions live only here, in the authority's database; published files
carry keyed hashes (see `childsafe.block.core.listfile`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from childsafe.store.models import Base, UTCDateTime, utcnow

EXPRESSION_MAX = 2048
_ACTIVE = text("removed_at IS NULL")


class BlockEntryRow(Base):
    """One list entry. Removal sets `removed_at` (never DELETE), so history stays readable."""

    __tablename__ = "block_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expression: Mapped[str] = mapped_column(String(EXPRESSION_MAX))
    scope: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(500), index=True)
    added_by: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(Text, default="")
    review_date: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    removed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    removal_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (
        # One active entry per expression; removed ones may repeat (re-listing after removal).
        Index("uq_block_entries_active", "expression", unique=True,
              sqlite_where=_ACTIVE, postgresql_where=_ACTIVE),
    )


class BlockChangeRow(Base):
    """Append-only (database triggers refuse UPDATE and DELETE): who changed what, when, why."""

    __tablename__ = "block_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    agency: Mapped[str | None] = mapped_column(String(48), nullable=True)
    action: Mapped[str] = mapped_column(String(16))  # add | remove | import | publish
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("block_entries.id"), nullable=True,
                                                 index=True)
    expression: Mapped[str | None] = mapped_column(String(EXPRESSION_MAX), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class BlockPublicationRow(Base):
    """One published list: the signed files themselves, so the next delta and a lost
    publication directory can always be rebuilt from the database."""

    __tablename__ = "block_publications"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(120))
    entry_count: Mapped[int] = mapped_column(Integer)
    expression_count: Mapped[int] = mapped_column(Integer)
    digests_added: Mapped[int] = mapped_column(Integer, default=0)
    digests_removed: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64))
    snapshot_sha256: Mapped[str] = mapped_column(String(64))
    delta_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    snapshot_file: Mapped[bytes] = mapped_column(LargeBinary)
    delta_file: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
