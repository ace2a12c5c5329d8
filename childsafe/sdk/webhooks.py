"""Receive childsafe's webhooks: verify the signature, then read a typed event.

Every delivery is a POST whose headers carry

    X-Childsafe-Timestamp: <unix seconds>
    X-Childsafe-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
    X-Childsafe-Delivery:  <delivery id; the same on a repeat>

`verify_webhook` checks the signature over the *raw* body bytes (before any JSON parsing) in
constant time, refuses timestamps more than `tolerance_s` away from your clock (replays), and
returns a `WebhookEvent`. Delivery is at least once: keep the delivery ids you have acted on
and answer 2xx to a repeat without acting twice. Answer 2xx once the event is safely stored;
anything else is retried by the platform with backoff.

    event = verify_webhook(request_body, request_headers, secret=os.environ["CHILDSAFE_WEBHOOK_SECRET"])
    if event.intervention:            # officers act in one of your rooms
        ...
    elif event.preservation:          # keep these accounts' and messages' data
        ...
    elif event.badge:                 # a room's monitored badge changed
        ...
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from childsafe.sdk.errors import WebhookVerificationError
from childsafe.sdk.models import AgencyRef, parse_time

__all__ = [
    "BadgeChange", "BadgeText", "DEFAULT_TOLERANCE_S", "DELIVERY_HEADER", "Intervention",
    "PreservationRequest", "PreservedReport", "SIGNATURE_HEADER", "TIMESTAMP_HEADER",
    "WebhookEvent", "sign", "verify_webhook",
]

SIGNATURE_HEADER = "X-Childsafe-Signature"
TIMESTAMP_HEADER = "X-Childsafe-Timestamp"
DELIVERY_HEADER = "X-Childsafe-Delivery"
DEFAULT_TOLERANCE_S = 300
MAX_SIGNATURES = 8


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return value if isinstance(value, str) else None


def sign(secret: str | bytes, timestamp: int | str, raw_body: bytes) -> str:
    """The signature header value for a body (what the platform sends; useful in tests)."""
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, str(timestamp).encode() + b"." + raw_body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_webhook(raw_body: bytes, headers: Mapping[str, str], secret: str | bytes, *,
                   tolerance_s: float = DEFAULT_TOLERANCE_S, now: float | None = None
                   ) -> WebhookEvent:
    """Verify a delivery and parse it.

    Args:
        raw_body: the request body exactly as received (bytes, not re-serialised JSON).
        headers: the request headers (any mapping; names are matched case-insensitively).
        secret: the provider webhook secret (`whsec_…`) shown when the webhook was set.
        tolerance_s: how far the timestamp may be from `now`, either side.
        now: Unix time to check against (default: this machine's clock).

    Raises:
        WebhookVerificationError: code `missing_header`, `stale` (timestamp outside the
            tolerance), `bad_signature` (no signature matches: wrong secret or a tampered
            body) or `bad_payload` (not a JSON object with a `type`).
    """
    if not isinstance(raw_body, bytes | bytearray | memoryview):
        raise TypeError("raw_body must be the raw request bytes")
    body = bytes(raw_body)
    timestamp = _header(headers, TIMESTAMP_HEADER)
    presented = _header(headers, SIGNATURE_HEADER)
    if not timestamp or not presented:
        missing = TIMESTAMP_HEADER if not timestamp else SIGNATURE_HEADER
        raise WebhookVerificationError(f"The {missing} header is missing.",
                                       code="missing_header")
    timestamp = timestamp.strip()
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise WebhookVerificationError("The timestamp is not Unix seconds.", code="stale")
    moment = time.time() if now is None else now
    if abs(moment - int(timestamp)) > tolerance_s:
        raise WebhookVerificationError(
            f"The timestamp is more than {tolerance_s:g} s away from this clock (a replay, "
            "or a clock to set right).", code="stale")
    expected = sign(secret, timestamp, body).encode()
    # Several comma-separated signatures: the sender is rotating its secret; one suffices.
    # Every candidate is compared (constant time each), so timing tells nothing.
    candidates = [p.strip() for p in presented.split(",")][:MAX_SIGNATURES]
    matched = False
    for candidate in candidates:
        if candidate.isascii() and hmac.compare_digest(expected, candidate.encode()):
            matched = True
    if not matched:
        raise WebhookVerificationError("The signature does not match this body and secret.",
                                       code="bad_signature")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookVerificationError("The body is not JSON.", code="bad_payload") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str):
        raise WebhookVerificationError("The body is not an event (no `type`).",
                                       code="bad_payload")
    return WebhookEvent(type=doc["type"], delivery_id=_header(headers, DELIVERY_HEADER) or "",
                        timestamp=datetime.fromtimestamp(int(timestamp), UTC), body=doc)


# ---- typed events -------------------------------------------------------------------------

def _s(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key)
    return "" if value is None else str(value)


def _list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class Intervention:
    """Officers act in one of your rooms. `kind`:

    - `room_message`: post `message` into `room` as a clearly marked message from the police
      (`label` is the marking text, `agency_name` who sends it);
    - `private_advice`: show `message` privately to the user `target`;
    - `suspend`: suspend the account `target`;
    - `preserve`: keep the data of `accounts` and `message_ids`.

    `room` is your own room id (the `external_id` you registered); `alert` the officers'
    reference; `intervention` the id to quote back."""

    kind: str
    room: str
    alert: str
    message: str
    target: str | None
    agency: str
    agency_name: str
    label: str
    intervention: str
    sent_at: datetime | None
    from_police: bool = True
    accounts: list[str] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Intervention:
        target = doc.get("target")
        return cls(_s(doc, "kind"), _s(doc, "room"), _s(doc, "alert"), _s(doc, "message"),
                   str(target) if target is not None else None, _s(doc, "agency"),
                   _s(doc, "agency_name"), _s(doc, "label"), _s(doc, "intervention"),
                   parse_time(doc.get("sent_at")), bool(doc.get("from_police", True)),
                   _list(doc.get("accounts")), _list(doc.get("message_ids")))


@dataclass(frozen=True, slots=True)
class PreservedReport:
    """What to preserve for one report your app filed."""

    report: str
    rooms: list[str]
    message_ids: list[str]
    reported_accounts: list[str]

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> PreservedReport:
        return cls(_s(doc, "report"), _list(doc.get("rooms")), _list(doc.get("message_ids")),
                   _list(doc.get("reported_accounts")))


@dataclass(frozen=True, slots=True)
class PreservationRequest:
    """An agency asks you to preserve data about reports your app filed (case `case`)."""

    case: str
    agency: str
    requested_at: datetime | None
    reports: list[PreservedReport]

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> PreservationRequest:
        return cls(_s(doc, "case"), _s(doc, "agency"), parse_time(doc.get("requested_at")),
                   [PreservedReport.from_json(r) for r in doc.get("reports") or []
                    if isinstance(r, Mapping)])


@dataclass(frozen=True, slots=True)
class BadgeText:
    label: str
    message: str
    help: str


@dataclass(frozen=True, slots=True)
class BadgeChange:
    """A room's monitored badge changed (a shift started or ended, an agency chose or dropped
    the room). `room` is the platform's id (rm_…), `external_id` yours; `text` has the words
    in every language."""

    room: str
    external_id: str
    state: str
    monitored: bool
    on_duty: list[AgencyRef]
    monitoring: list[AgencyRef]
    next_review_at: datetime | None
    text: dict[str, BadgeText]
    digest: str
    changed_at: datetime | None
    badge_path: str
    svg_path: str

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> BadgeChange:
        def refs(raw: Any) -> list[AgencyRef]:
            return [AgencyRef.from_json(a) for a in raw or [] if isinstance(a, Mapping)]
        texts = doc.get("text") if isinstance(doc.get("text"), Mapping) else {}
        assert isinstance(texts, Mapping)
        return cls(_s(doc, "room"), _s(doc, "external_id"), _s(doc, "state"),
                   bool(doc.get("monitored")), refs(doc.get("on_duty")),
                   refs(doc.get("monitoring")), parse_time(doc.get("next_review_at")),
                   {str(lang): BadgeText(_s(t, "label"), _s(t, "message"), _s(t, "help"))
                    for lang, t in texts.items() if isinstance(t, Mapping)},
                   _s(doc, "digest"), parse_time(doc.get("changed_at")),
                   _s(doc, "badge_path"), _s(doc, "svg_path"))


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified delivery. `type` is `intervention`, `preservation_request` or `room.badge`
    (others may come: ignore what you do not handle, answering 2xx). `delivery_id` is the
    same on a repeat; `body` is the whole JSON document."""

    type: str
    delivery_id: str
    timestamp: datetime
    body: dict[str, Any]

    @property
    def intervention(self) -> Intervention | None:
        return Intervention.from_json(self.body) if self.type == "intervention" else None

    @property
    def preservation(self) -> PreservationRequest | None:
        return PreservationRequest.from_json(self.body) \
            if self.type == "preservation_request" else None

    @property
    def badge(self) -> BadgeChange | None:
        return BadgeChange.from_json(self.body) if self.type == "room.badge" else None
