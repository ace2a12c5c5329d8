"""Signed webhooks: how childsafe signs a delivery and how a receiver checks it.

Every POST carries

    X-Childsafe-Timestamp: <unix seconds>
    X-Childsafe-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
    X-Childsafe-Delivery:  <idempotency key, e.g. case:<id>:channel:<n>>
    Idempotency-Key:       <the same key>

Receivers must (1) verify the signature over the *raw* body bytes before parsing them, with
`verify_signature` or its equivalent, (2) refuse timestamps outside a few minutes of their
clock (replays), and (3) treat a delivery key they have seen before as a repeat: delivery is
at least once, so the same case can arrive twice (after a crash or a lost response).
Answer 2xx once the case is safely stored; any other answer, or no answer within the
timeout, is retried with exponential backoff.

The secret is shown once when the channel is added (`childsafe admin add-channel`); it is
used as UTF-8 bytes for the HMAC key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

SIGNATURE_HEADER = "X-Childsafe-Signature"
TIMESTAMP_HEADER = "X-Childsafe-Timestamp"
DELIVERY_HEADER = "X-Childsafe-Delivery"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SCHEME = "sha256"
DEFAULT_TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - a label, not a secret


def new_secret() -> str:
    """A fresh channel secret (256 bits), printable so an operator can paste it."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def signature(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """The header value: `sha256=` and the hex HMAC over `<timestamp>.<body>`."""
    mac = hmac.new(_key(secret), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def signed_headers(secret: str | bytes, body: bytes, delivery_key: str,
                   now: datetime) -> dict[str, str]:
    """Every header a delivery carries besides the content type."""
    timestamp = str(int(now.timestamp()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body),
            DELIVERY_HEADER: delivery_key, IDEMPOTENCY_HEADER: delivery_key}


def verify_signature(secret: str | bytes, timestamp: str | None, body: bytes,
                     header: str | None, *, tolerance: int = DEFAULT_TOLERANCE_SECONDS,
                     now: datetime | None = None) -> bool:
    """True only if `header` signs `<timestamp>.<body>` with `secret` and the timestamp is
    within `tolerance` seconds of `now` (either side).

    `header` may hold several comma-separated signatures (a sender mid-way through a secret
    rotation); one valid signature suffices. Comparison is constant-time. Never raises on
    malformed input: anything unparseable is simply not valid.
    """
    if not header or not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    moment = (now or datetime.now(UTC)).timestamp()
    if abs(moment - int(timestamp)) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected.encode(), part.strip().encode())
               for part in header.split(",") if part.strip().isascii())
