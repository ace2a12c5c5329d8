"""Account security policy: passwords, TOTP, lockout and session lifetimes (CJIS / ASVS L2).

Pure decisions over values the store passes in; the store persists the results.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from childsafe.core.errors import InvalidInput

# argon2id, RFC 9106 second recommended option scaled for a 2-core server.
_hasher = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=2)
# Verified against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
_COMMON = {"password1234", "123456789012", "qwertyuiop12", "childsafe123", "letmein12345",
           "passwordpassword", "administrator"}


@dataclass(frozen=True, slots=True)
class SecurityPolicy:
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=10)
    session_idle: timedelta = timedelta(minutes=30)
    session_absolute: timedelta = timedelta(hours=12)
    mfa_pending: timedelta = timedelta(minutes=5)


def check_password_strength(password: str, *, username: str = "") -> None:
    """ASVS 2.1: length over composition rules, a small deny list, no username inside."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Password must be at least {MIN_PASSWORD_LENGTH} characters.",
                           field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"Password must be at most {MAX_PASSWORD_LENGTH} characters.",
                           field="password")
    lowered = password.lower()
    if lowered in _COMMON or len(set(password)) < 4:
        raise InvalidInput("Password is too easy to guess.", field="password")
    if username and username.lower() in lowered:
        raise InvalidInput("Password must not contain the username.", field="password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# --- lockout -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LockState:
    failures: int
    locked_until: datetime | None


def is_locked(state: LockState, now: datetime) -> bool:
    return state.locked_until is not None and now < state.locked_until


def after_failure(state: LockState, now: datetime, policy: SecurityPolicy) -> LockState:
    """Count a failure; the `max_failures`-th consecutive one locks for `policy.lockout`."""
    if state.locked_until is not None and now >= state.locked_until:
        state = LockState(0, None)
    failures = state.failures + 1
    if failures >= policy.max_failures:
        return LockState(0, now + policy.lockout)
    return LockState(failures, state.locked_until)


def after_success() -> LockState:
    return LockState(0, None)


# --- sessions ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SessionTimes:
    created_at: datetime
    last_seen_at: datetime
    mfa_verified: bool


def session_expired(times: SessionTimes, now: datetime, policy: SecurityPolicy) -> str | None:
    """Why a session is no longer valid, or None if it is."""
    if now - times.created_at >= policy.session_absolute:
        return "absolute"
    if not times.mfa_verified and now - times.created_at >= policy.mfa_pending:
        return "mfa_pending"
    if now - times.last_seen_at >= policy.session_idle:
        return "idle"
    return None


def new_token() -> str:
    """A session, CSRF or link token: 256 bits from the OS CSPRNG."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Stored instead of the token, so a database read does not hand out live sessions."""
    return hashlib.sha256(token.encode()).hexdigest()


# --- TOTP ----------------------------------------------------------------------------------

TOTP_ISSUER = "childsafe"


def new_totp_secret() -> str:
    return pyotp.random_base32(32)


def totp_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=TOTP_ISSUER)


def verify_totp(secret: str, code: str, *, last_step: int | None,
                at: float | None = None) -> int | None:
    """The time step the code belongs to (for replay protection), or None if it is wrong.

    One step of clock drift either way is accepted; a step at or before `last_step` is a
    replay and is refused.
    """
    code = (code or "").strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time() if at is None else at
    current = int(now // totp.interval)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if last_step is not None and step <= last_step:
                return None
            return step
    return None


# --- provider API keys ---------------------------------------------------------------------

API_KEY_PREFIX = "csk"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    secret_digest: str
    plaintext: str  # shown once, never stored


def issue_api_key() -> IssuedKey:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return IssuedKey(key_id, token_digest(secret), f"{API_KEY_PREFIX}_{key_id}_{secret}")


def parse_api_key(presented: str) -> tuple[str, str] | None:
    """(key_id, secret_digest) from a presented key, or None if it is not of our form."""
    parts = (presented or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(parts[2]) < 20 or len(parts[2]) > 100:
        return None
    key_id, secret = parts[1], parts[2]
    if len(key_id) != 12 or any(c not in "0123456789abcdef" for c in key_id):
        return None
    return key_id, token_digest(secret)
