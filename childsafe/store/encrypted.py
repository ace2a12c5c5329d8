"""Every encrypted column, in one place, so key rotation cannot forget one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from childsafe.core.crypto import Keyring, rewrap, split_envelope
from childsafe.store.case_models import AgencyChannelRow
from childsafe.store.handoff_models import ReportHandoffRow, payload_aad
from childsafe.store.models import ProviderRow, UserRow
from childsafe.store.report_models import EvidenceRow, ReportRow
from childsafe.store.watch_models import WatchMessageRow


@dataclass(frozen=True, slots=True)
class EncryptedField:
    name: str
    count: Callable[[Session], int]
    rewrap_rows: Callable[[Session, Keyring], Iterator[None]]


def _totp(session: Session, ring: Keyring) -> Iterator[None]:
    for row in session.scalars(select(UserRow).where(UserRow.totp_secret_enc.is_not(None))):
        assert row.totp_secret_enc is not None
        row.totp_secret_enc = rewrap(ring, row.totp_secret_enc, f"user:{row.id}:totp")
        yield None


def _reporters(session: Session, ring: Keyring) -> Iterator[None]:
    for row in session.scalars(select(ReportRow)):
        row.reporter_enc = rewrap(ring, row.reporter_enc, f"report:{row.id}:reporter")
        yield None


def _evidence(session: Session, ring: Keyring) -> Iterator[None]:
    # Only the wrapped data key changes; the immutable payload column is never written.
    for row in session.scalars(select(EvidenceRow)):
        head, payload = split_envelope(rewrap(ring, row.key_enc + row.blob_enc,
                                              f"evidence:{row.id}"))
        assert payload == row.blob_enc
        if head != row.key_enc:
            row.key_enc = head
        yield None


def _channel_secrets(session: Session, ring: Keyring) -> Iterator[None]:
    for row in session.scalars(select(AgencyChannelRow).where(
            AgencyChannelRow.secret_enc.is_not(None))):
        assert row.secret_enc is not None
        row.secret_enc = rewrap(ring, row.secret_enc, f"agency_channel:{row.id}:secret")
        yield None


def _provider_webhooks(session: Session, ring: Keyring) -> Iterator[None]:
    for row in session.scalars(select(ProviderRow).where(
            ProviderRow.webhook_secret_enc.is_not(None))):
        assert row.webhook_secret_enc is not None
        row.webhook_secret_enc = rewrap(ring, row.webhook_secret_enc,
                                        f"provider:{row.id}:webhook")
        yield None


def message_aad(room_id: str, message_id: str) -> str:
    """Binds a watched message's text to its room and provider message id."""
    return f"watch_message:{room_id}:{message_id}"


def _watch_messages(session: Session, ring: Keyring) -> Iterator[None]:
    for row in session.scalars(select(WatchMessageRow)):
        sealed = rewrap(ring, row.text_enc, message_aad(row.room_id, row.message_id))
        if sealed != row.text_enc:
            row.text_enc = sealed
        yield None


def _handoffs(session: Session, ring: Keyring) -> Iterator[None]:
    for row in session.scalars(select(ReportHandoffRow).where(
            ReportHandoffRow.payload_enc.is_not(None))):
        assert row.payload_enc is not None
        row.payload_enc = rewrap(ring, row.payload_enc, payload_aad(row.id))
        yield None


FIELDS = [
    EncryptedField("officer TOTP secrets", lambda s: int(s.scalar(
        select(func.count()).select_from(UserRow).where(UserRow.totp_secret_enc.is_not(None)))
        or 0), _totp),
    EncryptedField("reporter identities", lambda s: int(s.scalar(
        select(func.count()).select_from(ReportRow)) or 0), _reporters),
    EncryptedField("evidence items", lambda s: int(s.scalar(
        select(func.count()).select_from(EvidenceRow)) or 0), _evidence),
    EncryptedField("delivery channel secrets", lambda s: int(s.scalar(
        select(func.count()).select_from(AgencyChannelRow)
        .where(AgencyChannelRow.secret_enc.is_not(None))) or 0), _channel_secrets),
    EncryptedField("provider webhook secrets", lambda s: int(s.scalar(
        select(func.count()).select_from(ProviderRow)
        .where(ProviderRow.webhook_secret_enc.is_not(None))) or 0), _provider_webhooks),
    EncryptedField("watched messages", lambda s: int(s.scalar(
        select(func.count()).select_from(WatchMessageRow)) or 0), _watch_messages),
    EncryptedField("report hand-offs", lambda s: int(s.scalar(
        select(func.count()).select_from(ReportHandoffRow)
        .where(ReportHandoffRow.payload_enc.is_not(None))) or 0), _handoffs),
]


def total(session: Session) -> int:
    return sum(f.count(session) for f in FIELDS)


def rewrap_all(session: Session, ring: Keyring,
               on_row: Callable[[str], None] = lambda _name: None) -> int:
    done = 0
    for field in FIELDS:
        for _ in field.rewrap_rows(session, ring):
            on_row(field.name)
            done += 1
    session.flush()
    return done
