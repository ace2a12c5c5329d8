"""Interventions: signed webhooks received once by a loopback provider that checks the HMAC;
refusals (repeat, dismissed alert, another agency, no webhook, bad target); advice data."""

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from childsafe.core.errors import Conflict, InvalidInput, NotFound
from childsafe.mail import MemorySender
from childsafe.reports import preservation
from childsafe.store import accounts
from childsafe.store.models import AuditRow, OutboxRow, ProviderRow
from childsafe.store.watch_models import AlertFeedbackRow, AlertRow, InterventionRow
from childsafe.watch import alerts, interventions
from childsafe.watch.handlers import ProviderWebhookHandler
from childsafe.watch.provider_webhooks import TOPIC
from childsafe.worker import default_handlers, drain_once
from tests.reports.webhook_receiver import Receiver
from tests.watch.alert_factory import ADULT, CHILD, WatchFactory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def watch(db, keyring):
    return WatchFactory(db, keyring)


def _principal(db, make_officer, username, agency="UK-NCA-CEOP"):
    make_officer(username, agency=agency)
    with db.transaction() as s:
        return accounts.principal_for(s, accounts.get_user(s, username))


def _hook(db, keyring, provider_id, url):
    with db.transaction() as s:
        return preservation.set_webhook(s, keyring, s.get(ProviderRow, provider_id), url,
                                        actor="test")


def _drain(db, keyring):
    return drain_once(db, default_handlers(MemorySender(), keyring=keyring,
                                           http=lambda: httpx.Client(timeout=5)),
                      keyring=keyring)


def test_four_kinds_signed_and_received_once(db, keyring, watch, make_officer):
    officer = _principal(db, make_officer, "ceop.int")
    made = watch.alert()
    with Receiver("placeholder") as receiver:
        receiver.secret = _hook(db, keyring, made.provider_id, receiver.url)
        with db.transaction() as s:
            for kind in ("room_message", "private_advice", "suspend", "preserve"):
                interventions.intervene(s, keyring, officer, made.id, kind, now=NOW)
        first, again = _drain(db, keyring), _drain(db, keyring)
        bodies = {b["kind"]: b for b in receiver.cases.values()}
        seen, rejected = list(receiver.seen), receiver.rejected
    assert first.retried == 0 and again.sent == 0 and rejected == 0
    assert len(seen) == 4 == len(set(seen)) and set(bodies) == {
        "room_message", "private_advice", "suspend", "preserve"}
    room = bodies["room_message"]
    assert room["type"] == "intervention" and room["room"] == made.room_external_id
    assert room["alert"] == made.reference and room["agency"] == "UK-NCA-CEOP"
    assert room["from_police"] is True and room["label"].startswith("Police — ")
    assert "police" in room["message"] and room["target"] is None
    assert bodies["private_advice"]["target"] == CHILD
    assert bodies["suspend"]["target"] == ADULT
    assert bodies["preserve"]["accounts"] == sorted([ADULT, CHILD])
    assert len(bodies["preserve"]["message_ids"]) == len(made.texts)
    assert not any(t in str(bodies) for t in made.texts)  # never the chat itself
    with db.transaction() as s:
        rows = list(s.scalars(select(InterventionRow)))
        assert {r.status for r in rows} == {"delivered"} and len(rows) == 4
        alert = s.get(AlertRow, made.id)
        assert alert.state == "actioned" and alert.closed_by == officer.user_id
        (verdict,) = s.scalars(select(AlertFeedbackRow))
        assert verdict.label == "grooming" and verdict.reason == "intervened:room_message"
        assert s.scalar(select(func.count()).select_from(AuditRow)
                        .where(AuditRow.action == "watch.alert.intervene")) == 4


def test_officer_text_is_sent_and_a_repeat_refused(db, keyring, watch, make_officer):
    officer = _principal(db, make_officer, "ceop.rep")
    made = watch.alert()
    _hook(db, keyring, made.provider_id, "https://provider.example/hook")
    with db.transaction() as s:
        row = interventions.intervene(s, keyring, officer, made.id, "room_message",
                                      message="  Police here: stay safe.  ", now=NOW)
        assert row.body == "Police here: stay safe." and row.status == "queued"
    with pytest.raises(Conflict, match="already sent"), db.transaction() as s:
        interventions.intervene(s, keyring, officer, made.id, "room_message",
                                message="Police here: stay safe.", now=NOW)
    with db.transaction() as s:  # another text is another message
        interventions.intervene(s, keyring, officer, made.id, "room_message",
                                message="Second notice.", now=NOW)
        assert s.scalar(select(func.count()).select_from(OutboxRow)
                        .where(OutboxRow.topic == TOPIC)) == 2


def test_refusals_write_nothing(db, keyring, watch, make_officer):
    officer = _principal(db, make_officer, "ceop.ref")
    us = _principal(db, make_officer, "hsi.ref", agency="US-DHS-HSI")
    made = watch.alert()
    with pytest.raises(InvalidInput, match="no webhook"), db.transaction() as s:
        interventions.intervene(s, keyring, officer, made.id, "suspend", now=NOW)
    _hook(db, keyring, made.provider_id, "https://provider.example/hook")
    with pytest.raises(NotFound), db.transaction() as s:
        interventions.intervene(s, keyring, us, made.id, "suspend", now=NOW)
    with pytest.raises(InvalidInput) as bad, db.transaction() as s:
        interventions.intervene(s, keyring, officer, made.id, "ban_forever", now=NOW)
    assert bad.value.field == "kind"
    with pytest.raises(InvalidInput) as stranger, db.transaction() as s:
        interventions.intervene(s, keyring, officer, made.id, "private_advice",
                                target="someone_else", now=NOW)
    assert stranger.value.field == "target"
    with pytest.raises(InvalidInput) as long, db.transaction() as s:
        interventions.intervene(s, keyring, officer, made.id, "room_message",
                                message="x" * 2001, now=NOW)
    assert long.value.field == "message"
    with db.transaction() as s:
        alerts.dismiss(s, officer, made.id, "false_alarm", "", NOW)
    with pytest.raises(Conflict, match="dismissed"), db.transaction() as s:
        interventions.intervene(s, keyring, officer, made.id, "room_message", now=NOW)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(InterventionRow)) == 0
        assert s.scalar(select(func.count()).select_from(OutboxRow)
                        .where(OutboxRow.topic == TOPIC)) == 0


def test_private_advice_needs_a_child(db, keyring, watch, make_officer):
    officer = _principal(db, make_officer, "ceop.kid")
    made = watch.alert(lines=[("u_a", None, "how old are you? are you alone?"),
                              ("u_b", None, "why"),
                              ("u_a", None, "don't tell anyone, add me on snapchat")])
    _hook(db, keyring, made.provider_id, "https://provider.example/hook")
    with pytest.raises(InvalidInput, match="No child") as bad, db.transaction() as s:
        interventions.intervene(s, keyring, officer, made.id, "private_advice", now=NOW)
    assert bad.value.field == "target"
    with db.transaction() as s:
        row = interventions.intervene(s, keyring, officer, made.id, "private_advice",
                                      target="u_b", now=NOW)
        assert row.target_id == "u_b"


def test_failed_delivery_is_marked_when_the_outbox_gives_up(db, keyring, watch, make_officer):
    officer = _principal(db, make_officer, "ceop.fail")
    made = watch.alert()
    _hook(db, keyring, made.provider_id, "https://provider.example/hook")
    with db.transaction() as s:
        key = interventions.intervene(s, keyring, officer, made.id, "suspend",
                                      now=NOW).idempotency_key
    handler = ProviderWebhookHandler(lambda: httpx.Client())
    with db.transaction() as s:
        handler.on_failure(s, key, RuntimeError("503"), gave_up=False)
        assert s.scalar(select(InterventionRow.status)) == "queued"
        handler.on_failure(s, key, RuntimeError("503"), gave_up=True)
        assert s.scalar(select(InterventionRow.status)) == "failed"


@pytest.mark.parametrize("language", interventions.advice_languages())
def test_advice_files_are_complete(language):
    texts = interventions.load_advice(language)
    assert texts.language == language
    for kind in interventions.Kind:
        rendered = texts.render(kind.value, agency="Example Police", reference="WA-1")
        assert "Example Police" in rendered and "{" not in rendered


def test_advice_file_errors_name_the_key():
    good = {"language": "en", "version": 1, "label": "Police", "room_message": "a",
            "private_advice": "b", "suspend": "c", "preserve": "d"}
    with pytest.raises(interventions.AdviceError, match="preserve"):
        interventions.parse_advice(good | {"preserve": ""}, "x.yaml")
    with pytest.raises(interventions.AdviceError, match="placeholders"):
        interventions.parse_advice(good | {"suspend": "{secret}"}, "x.yaml")
    assert interventions.load_advice("xx").language == "en"
