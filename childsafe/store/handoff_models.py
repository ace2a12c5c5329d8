"""Report hand-offs: a chat app's server files a captured conversation and the reporter's
prefill, and the reporter's browser opens a single-use link to the web form.

Only the digest of the link's token is stored. The capture and the prefill are one sealed
envelope (`payload_enc`, AES-GCM bound to the hand-off id), wiped once the report is sent or
the hand-off expires; the row itself (no personal data) stays for the audit trail until the
purge.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from childsafe.store.models import Base, UTCDateTime, utcnow


class ReportHandoffRow(Base):
    __tablename__ = "report_handoffs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"),
                                             index=True)
    key_id: Mapped[str] = mapped_column(String(12))  # the API key that filed it
    language: Mapped[str] = mapped_column(String(8))
    audience: Mapped[str | None] = mapped_column(String(24), nullable=True)
    messages: Mapped[int] = mapped_column(Integer)
    conversation_sha256: Mapped[str] = mapped_column(String(64))
    payload_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Opening binds the hand-off to the first browser (digest of its pre-session value).
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    browser_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    report_id: Mapped[str | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"),
                                                  nullable=True)


def payload_aad(handoff_id: str) -> str:
    """Binds the sealed capture and prefill to their hand-off."""
    return f"report_handoff:{handoff_id}"
