"""Chat/IM providers and their API keys (stored as SHA-256 digests, scoped)."""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from childsafe.core.accounts import IssuedKey, issue_api_key, parse_api_key
from childsafe.core.audit import AuditEvent
from childsafe.core.errors import Conflict, InvalidInput, NotFound
from childsafe.core.permissions import Permission, parse_scopes
from childsafe.core.principal import ProviderPrincipal
from childsafe.store import audit
from childsafe.store.models import ApiKeyRow, ProviderRow, utcnow

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{1,119}$")


def create_provider(session: Session, name: str, *, contact_email: str = "",
                    abuse_desk_url: str = "", actor: str = "system") -> ProviderRow:
    name = (name or "").strip()
    if not _NAME.match(name):
        raise InvalidInput("Provider name must be 2-120 characters of letters, digits, "
                           "space, '.', '_' or '-'.", field="name")
    if abuse_desk_url and not abuse_desk_url.startswith("https://"):
        raise InvalidInput("Abuse desk URL must start with https://", field="abuse_desk_url")
    if session.scalar(select(ProviderRow.id).where(ProviderRow.name == name)) is not None:
        raise Conflict(f"Provider {name!r} already exists.")
    row = ProviderRow(name=name, contact_email=contact_email.strip(),
                      abuse_desk_url=abuse_desk_url, disabled=False)
    session.add(row)
    session.flush()
    audit.append(session, AuditEvent("provider.create", actor=actor, object_type="provider",
                                     object_id=str(row.id), detail={"name": name}))
    return row


def get_provider(session: Session, name: str) -> ProviderRow:
    row = session.scalar(select(ProviderRow).where(ProviderRow.name == name.strip()))
    if row is None:
        raise NotFound(f"No provider {name!r}.")
    return row


def issue_key(session: Session, provider: ProviderRow, scopes: list[str] | str, *,
              label: str = "", actor: str = "system") -> IssuedKey:
    """Create a key; its plaintext is returned once and only its digest is stored."""
    parsed = parse_scopes(scopes)
    issued = issue_api_key()
    session.add(ApiKeyRow(key_id=issued.key_id, provider_id=provider.id,
                          secret_digest=issued.secret_digest,
                          scopes=",".join(sorted(s.value for s in parsed)), label=label[:120]))
    session.flush()
    audit.append(session, AuditEvent("provider.key_issue", actor=actor, object_type="provider",
                                     object_id=str(provider.id),
                                     detail={"key_id": issued.key_id,
                                             "scopes": sorted(s.value for s in parsed)}))
    return issued


def revoke_key(session: Session, key_id: str, *, actor: str = "system") -> None:
    row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
    if row is None:
        raise NotFound(f"No API key {key_id!r}.")
    row.revoked_at = utcnow()
    audit.append(session, AuditEvent("provider.key_revoke", actor=actor, object_type="provider",
                                     object_id=str(row.provider_id), detail={"key_id": key_id}))


def authenticate_key(session: Session, presented: str, *,
                     now: datetime | None = None) -> ProviderPrincipal | None:
    """The principal of a valid, unrevoked key of an enabled provider; None otherwise.

    Records the use (`last_used_at`) at most once a minute, in the caller's transaction."""
    found = lookup_key(session, presented)
    if found is None:
        return None
    principal, last_used_at = found
    now = now or utcnow()
    if key_use_stale(last_used_at, now):
        touch_key(session, principal.key_id, now)
    return principal


_KEY = (select(ApiKeyRow.secret_digest, ApiKeyRow.revoked_at, ApiKeyRow.scopes,
               ApiKeyRow.last_used_at, ProviderRow.id, ProviderRow.name, ProviderRow.disabled)
        .join(ProviderRow, ProviderRow.id == ApiKeyRow.provider_id)
        .where(ApiKeyRow.key_id == bindparam("key_id")))  # built once: every API call runs it


def lookup_key(session: Session | Connection, presented: str
               ) -> tuple[ProviderPrincipal, datetime | None] | None:
    """Read-only check of a presented key: its principal and when it was last used."""
    parsed = parse_api_key(presented)
    if parsed is None:
        return None
    key_id, digest = parsed
    row = session.execute(_KEY, {"key_id": key_id}).first()
    if row is None or row.revoked_at is not None or row.disabled:
        return None
    if not hmac.compare_digest(row.secret_digest, digest):
        return None
    return ProviderPrincipal(row.id, row.name, key_id,
                             frozenset(Permission(s) for s in row.scopes.split(",") if s)
                             ), row.last_used_at


def key_use_stale(last_used_at: datetime | None, now: datetime) -> bool:
    """True when the use should be recorded: at most once a minute, no write per API call."""
    return last_used_at is None or now - last_used_at > timedelta(minutes=1)


def touch_key(session: Session, key_id: str, now: datetime) -> None:
    session.execute(update(ApiKeyRow).where(ApiKeyRow.key_id == key_id)
                    .values(last_used_at=now))
