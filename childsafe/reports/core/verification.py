"""Email verification of a reporter: a 6-digit code and an unguessable link, stored as hashes.

Why keyed hashes: a 6-digit code has only a million values, so a plain hash in a leaked
database is reversed in a second. Both secrets are hashed with HMAC-SHA-256 under a server key
that is not in the database (and a per-record salt). Checks compare in constant time and
count attempts; the store persists the returned record and never sees the secrets.
Pure: the caller passes `now`, the key and (in tests) the random source.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from childsafe.reports.core.errors import VerificationFailed
from childsafe.reports.core.messages import message

CODE_TTL = timedelta(hours=24)
REPORT_TTL = timedelta(hours=72)  # an unverified report is discarded after this
MAX_ATTEMPTS = 5
CODE_DIGITS = 6


@dataclass(frozen=True, slots=True)
class VerificationSecrets:
    """Sent to the reporter by mail, then forgotten: never stored, never logged."""

    code: str
    link_token: str


@dataclass(frozen=True, slots=True)
class VerificationRecord:
    """What the store keeps."""

    salt: str
    code_hash: str
    link_hash: str
    created_at: datetime
    code_expires_at: datetime
    report_expires_at: datetime
    attempts: int = 0
    max_attempts: int = MAX_ATTEMPTS
    verified_at: datetime | None = None

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


class CheckResult(StrEnum):
    VERIFIED = "verified"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"


def _hash(key: bytes, salt: str, purpose: str, secret: str) -> str:
    msg = f"{purpose}\x00{salt}\x00{secret}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def issue(now: datetime, key: bytes, *, report_created_at: datetime | None = None,
          token_bytes: Callable[[int], bytes] = secrets.token_bytes,
          ) -> tuple[VerificationSecrets, VerificationRecord]:
    """New code + link for a report. Re-issuing (a "send me a new code") keeps the report's
    72 h deadline (pass `report_created_at`) and resets the attempt counter."""
    if len(key) < 16:
        raise ValueError("the verification key must be at least 16 bytes")
    code = f"{int.from_bytes(token_bytes(8), 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"
    token = token_bytes(32).hex()
    salt = token_bytes(16).hex()
    report_expires = (report_created_at or now) + REPORT_TTL
    record = VerificationRecord(
        salt=salt, code_hash=_hash(key, salt, "code", code),
        link_hash=_hash(key, salt, "link", token), created_at=now,
        code_expires_at=min(now + CODE_TTL, report_expires), report_expires_at=report_expires)
    return VerificationSecrets(code, token), record


def _check(record: VerificationRecord, candidate_hash: str, stored: str,
           now: datetime) -> tuple[CheckResult, VerificationRecord]:
    if record.verified:
        return CheckResult.VERIFIED, record
    if now >= record.code_expires_at:
        return CheckResult.EXPIRED, record
    if record.attempts >= record.max_attempts:
        return CheckResult.LOCKED, record
    if hmac.compare_digest(candidate_hash, stored):
        return CheckResult.VERIFIED, replace(record, verified_at=now)
    attempts = record.attempts + 1
    result = CheckResult.LOCKED if attempts >= record.max_attempts else CheckResult.WRONG
    return result, replace(record, attempts=attempts)


def check_code(record: VerificationRecord, code: str, now: datetime,
               key: bytes) -> tuple[CheckResult, VerificationRecord]:
    """Compare a typed code. Always persist the returned record (it counts the attempt)."""
    typed = "".join(ch for ch in str(code) if not ch.isspace())
    return _check(record, _hash(key, record.salt, "code", typed), record.code_hash, now)


def check_link(record: VerificationRecord, token: str, now: datetime,
               key: bytes) -> tuple[CheckResult, VerificationRecord]:
    """Compare the token from the emailed link; wrong tokens count as attempts too."""
    return _check(record, _hash(key, record.salt, "link", token), record.link_hash, now)


def report_expired(record: VerificationRecord, now: datetime) -> bool:
    """An unverified report past its deadline should be purged by the store."""
    return not record.verified and now >= record.report_expires_at


def raise_for(result: CheckResult, lang: str = "en") -> None:
    """Turn a failed result into the domain error the web layer shows."""
    if result is CheckResult.VERIFIED:
        return
    key = {"wrong": "code_wrong", "expired": "code_expired", "locked": "code_locked"}[result]
    raise VerificationFailed(result.value, message(key, lang))
