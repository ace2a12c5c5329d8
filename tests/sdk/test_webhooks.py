"""verify_webhook: what the platform signs verifies; a tampered body, a wrong secret, a stale
timestamp, a missing header or a non-event does not. Then real deliveries from the running
platform's outbox (an intervention, a badge change, a preservation request) to a provider
endpoint written with the SDK."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from childsafe.reports.core import webhooks as platform_webhooks
from childsafe.sdk import (
    ChildsafeError,
    Client,
    WebhookVerificationError,
    sign,
    verify_webhook,
)
from childsafe.store.report_models import ReportRow
from tests.sdk.platform import WebhookInbox
from tests.sdk.test_client import REPORTER, conversation
from tests.watch.alert_factory import WatchFactory

SECRET = "whsec_test-secret-for-the-sdk-0123456789"
BODY = json.dumps({"type": "intervention", "kind": "room_message", "room": "teen-lounge-3",
                   "alert": "WA-1A2B3C4D", "message": "This is the police. Stay safe.",
                   "target": None, "agency": "UK-NCA-CEOP", "agency_name": "CEOP",
                   "label": "Message from CEOP", "intervention": "17",
                   "sent_at": "2026-11-20T18:10:00+00:00", "from_police": True}).encode()


def platform_headers(body: bytes = BODY, secret: str = SECRET, at: datetime | None = None,
                     delivery: str = "watch-intervention:1") -> dict[str, str]:
    """Headers exactly as the platform's sender makes them."""
    return platform_webhooks.signed_headers(secret, body, delivery, at or datetime.now(UTC))


def test_a_platform_signature_verifies_and_parses():
    event = verify_webhook(BODY, platform_headers(), SECRET)
    assert event.type == "intervention" and event.delivery_id == "watch-intervention:1"
    assert abs(event.timestamp.timestamp() - time.time()) < 60
    intervention = event.intervention
    assert intervention is not None and event.badge is None and event.preservation is None
    assert intervention.kind == "room_message" and intervention.room == "teen-lounge-3"
    assert intervention.message == "This is the police. Stay safe." and intervention.from_police
    assert intervention.sent_at == datetime(2026, 11, 20, 18, 10, tzinfo=UTC)


def test_header_names_are_matched_whatever_their_case():
    lower = {k.lower(): v for k, v in platform_headers().items()}
    assert verify_webhook(BODY, lower, SECRET).type == "intervention"


def test_a_tampered_body_is_refused():
    headers = platform_headers()
    tampered = BODY.replace(b"Stay safe.", b"Send money")
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(tampered, headers, SECRET)
    assert caught.value.code == "bad_signature" and isinstance(caught.value, ChildsafeError)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(json.dumps(json.loads(BODY)).encode() + b" ", headers, SECRET)


def test_a_wrong_secret_is_refused():
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(BODY, platform_headers(), "whsec_someone-else")
    assert caught.value.code == "bad_signature"


def test_a_stale_or_future_timestamp_is_refused_even_when_signed():
    for at in (datetime.now(UTC) - timedelta(minutes=6), datetime.now(UTC) + timedelta(minutes=6)):
        with pytest.raises(WebhookVerificationError) as caught:
            verify_webhook(BODY, platform_headers(at=at), SECRET)
        assert caught.value.code == "stale"
    old = platform_headers(at=datetime.now(UTC) - timedelta(minutes=6))
    assert verify_webhook(BODY, old, SECRET, tolerance_s=600).type == "intervention"
    then = int(old[platform_webhooks.TIMESTAMP_HEADER])
    assert verify_webhook(BODY, old, SECRET, now=then + 10).type == "intervention"
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(BODY, old | {platform_webhooks.TIMESTAMP_HEADER: "yesterday"}, SECRET)
    assert caught.value.code == "stale"


def test_missing_headers_and_non_events():
    headers = platform_headers()
    for name in (platform_webhooks.SIGNATURE_HEADER, platform_webhooks.TIMESTAMP_HEADER):
        with pytest.raises(WebhookVerificationError) as caught:
            verify_webhook(BODY, {k: v for k, v in headers.items() if k != name}, SECRET)
        assert caught.value.code == "missing_header"
    for body in (b"not json", b"[1, 2]", b'{"kind": "no type"}'):
        with pytest.raises(WebhookVerificationError) as caught:
            verify_webhook(body, platform_headers(body), SECRET)
        assert caught.value.code == "bad_payload"
    with pytest.raises(TypeError):
        verify_webhook(BODY.decode(), headers, SECRET)  # type: ignore[arg-type]


def test_a_secret_rotation_sends_two_signatures_and_one_suffices():
    ts = str(int(time.time()))
    both = f"{sign('whsec_old', ts, BODY)}, {sign(SECRET, ts, BODY)}"
    assert verify_webhook(BODY, {"X-Childsafe-Timestamp": ts, "X-Childsafe-Signature": both},
                          SECRET).type == "intervention"
    assert sign(SECRET, ts, BODY) == platform_webhooks.signature(SECRET, ts, BODY)


# ---- real deliveries from the running platform -------------------------------------------

@pytest.fixture
def inbox(platform):
    box = WebhookInbox()
    box.secret = platform.set_webhook(box.url)
    yield box
    box.close()


def test_the_platform_delivers_every_event_type_to_an_sdk_receiver(platform, inbox):
    from childsafe.reports.preservation import request_preservation
    from childsafe.watch.interventions import intervene

    client = Client(platform.url, api_key=platform.key)
    # 1. a badge change: an agency starts monitoring a room the provider registered
    room = client.rooms.register("webhook-room", "Teen lounge", audience="teen", language="en",
                                 region="GB")
    platform.monitor(room.id)
    # 2. an intervention: officers post a message into one of the provider's rooms
    officer = platform.principal(platform.officers("ceop.webhooks").username)
    alert = WatchFactory(platform.db, platform.keyring).alert(provider_id=platform.provider_id)
    with platform.db.transaction() as s:
        intervene(s, platform.keyring, officer, alert.id,
                  "room_message", now=datetime.now(UTC),
                  message="This is CEOP. Never share personal details here.")
    # 3. a preservation request about a report the provider's app filed (immediate: a case)
    report = client.reports.create(answers={"danger": "yes", "who": "young_person",
                                            "country": "GB", "what": "contact",
                                            "cues": ["asked_age", "asked_alone"]},
                                   reporter=REPORTER, conversation=conversation())
    client.close()
    assert report.state == "with_officers"
    with platform.db.transaction() as s:
        case_id = s.scalar(select(ReportRow.case_id).where(
            ReportRow.reference == report.reference))
        request_preservation(s, platform.keyring, officer, case_id, datetime.now(UTC))
    platform.deliver()

    assert inbox.refused == []
    (badge_event,) = [e for e in inbox.of_type("room.badge") if e.body["room"] == room.id]
    change = badge_event.badge
    assert change is not None and change.external_id == "webhook-room"
    assert change.state == "monitored" and [a.code for a in change.on_duty] == ["UK-NCA-CEOP"]
    assert change.text["en"].label == "Monitored by police" and change.text["fr"].label

    (event,) = inbox.of_type("intervention")
    act = event.intervention
    assert act is not None and act.kind == "room_message" and act.room == alert.room_external_id
    assert act.message == "This is CEOP. Never share personal details here."
    assert act.agency == "UK-NCA-CEOP" and act.alert == alert.reference and act.label
    assert event.delivery_id.startswith("watch-intervention:")

    (event,) = inbox.of_type("preservation_request")
    keep = event.preservation
    assert keep is not None and keep.agency == "UK-NCA-CEOP" and keep.case.startswith("CS-")
    (item,) = keep.reports
    assert item.report == report.reference and "u-77" in item.reported_accounts
    assert item.rooms == ["teen-lounge-3"] and "m-0" in item.message_ids
