"""Webhook signatures: the pure check, and a real loopback receiver verifying deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from childsafe.mail import MemorySender
from childsafe.reports import deliveries
from childsafe.reports.core import webhooks
from childsafe.worker import default_handlers, drain_once
from tests.reports.case_factory import context, file_report
from tests.reports.webhook_receiver import Receiver

SECRET = "whsec_test-secret"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BODY = b'{"case":{"reference":"CS-ABCD-EFGH"}}'


def headers(body: bytes = BODY, now: datetime = NOW) -> dict[str, str]:
    return webhooks.signed_headers(SECRET, body, "case:c1:channel:1", now)


def check(h: dict[str, str], body: bytes = BODY, secret: str = SECRET, **kwargs) -> bool:
    return webhooks.verify_signature(secret, h.get(webhooks.TIMESTAMP_HEADER), body,
                                     h.get(webhooks.SIGNATURE_HEADER), now=NOW, **kwargs)


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    import hashlib
    import hmac

    h = headers()
    expected = hmac.new(SECRET.encode(), f"{int(NOW.timestamp())}.".encode() + BODY,
                        hashlib.sha256).hexdigest()
    assert h[webhooks.SIGNATURE_HEADER] == f"sha256={expected}"
    assert h[webhooks.DELIVERY_HEADER] == h[webhooks.IDEMPOTENCY_HEADER] == "case:c1:channel:1"
    assert check(h)


def test_tampering_fails():
    h = headers()
    assert not check(h, BODY.replace(b"ABCD", b"ABCE"))  # body changed
    assert not check(h, secret="whsec_other")  # wrong secret
    moved = dict(h, **{webhooks.TIMESTAMP_HEADER: str(int(NOW.timestamp()) + 1)})
    assert not check(moved)  # timestamp changed
    assert not check(dict(h, **{webhooks.SIGNATURE_HEADER: "sha256=" + "0" * 64}))


def test_replays_outside_the_tolerance_fail():
    assert not check(headers(now=NOW - timedelta(minutes=6)))
    assert not check(headers(now=NOW + timedelta(minutes=6)))
    assert check(headers(now=NOW - timedelta(minutes=4)))
    assert check(headers(now=NOW - timedelta(minutes=9)), tolerance=600)


@pytest.mark.parametrize("bad", [None, "", "sha256=", "md5=abc", "sha256=zz,garbage", "é"])
def test_malformed_headers_are_simply_invalid(bad):
    assert not check(dict(headers(), **{webhooks.SIGNATURE_HEADER: bad}))
    assert not check(dict(headers(), **{webhooks.TIMESTAMP_HEADER: bad or "x"}))


def test_several_signatures_during_rotation():
    h = headers()
    other = webhooks.signature("whsec_new", h[webhooks.TIMESTAMP_HEADER], BODY)
    assert check(dict(h, **{webhooks.SIGNATURE_HEADER: f"{other}, {h[webhooks.SIGNATURE_HEADER]}"}))


def test_secrets_are_fresh():
    a, b = webhooks.new_secret(), webhooks.new_secret()
    assert a != b and a.startswith("whsec_") and len(a) > 40


def test_real_receiver_verifies_delivery_and_refuses_tampered_body(db, settings):
    ctx = context(settings)
    with db.transaction() as s:
        channel, secret = deliveries.add_channel(s, settings.keyring, "UK-NCA-CEOP", "webhook",
                                                 "http://127.0.0.1:1/placeholder")
        channel_id = channel.id
    with Receiver(secret) as receiver:
        with db.transaction() as s:
            s.get(type(channel), channel_id).target = receiver.url
        _, case = file_report(db, ctx)
        handlers = default_handlers(MemorySender(), keyring=settings.keyring)
        assert drain_once(db, handlers).sent == 1
        key = f"case:{case.id}:channel:{channel_id}"
        assert receiver.seen == [key] and receiver.rejected == 0
        assert receiver.cases[key]["case"]["id"] == case.id
        # The same signed headers on a changed body: refused by the receiver.
        body = b'{"case":{"id":"forged"}}'
        signed = webhooks.signed_headers(secret, b'{"case":{"id":"real"}}', key,
                                         datetime.now(UTC))
        r = httpx.post(receiver.url, content=body, headers=signed)
        assert r.status_code == 401 and receiver.rejected == 1
        assert len(receiver.cases) == 1
