"""Badge changes reach the provider by signed webhook, once per change (real loopback receiver)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import func, select

from childsafe.mail import MemorySender
from childsafe.reports import preservation
from childsafe.store.models import OutboxRow
from childsafe.store.watch_models import RoomRow
from childsafe.watch import housekeeping
from childsafe.worker import default_handlers, drain_once
from tests.reports.webhook_receiver import Receiver
from tests.watch import room_factory as rf


def _drain(db, settings):
    handlers = default_handlers(MemorySender(), keyring=settings.keyring,
                                http=lambda: httpx.Client(timeout=5))
    return drain_once(db, handlers, keyring=settings.keyring)


def _outbox(db):
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(OutboxRow)
                        .where(OutboxRow.topic == "watch.provider_webhook"))


def test_badge_changes_are_pushed_signed_and_once(db, settings, make_officer):
    keyring, t0 = settings.keyring, rf.MONDAY_9
    provider_id, _ = rf.provider(db)
    room_id = rf.room(db, provider_id)
    quiet_id, _ = rf.provider(db, "NoHookChat")
    quiet_room = rf.room(db, quiet_id, "lobby")
    make_officer("ceop.hook", roles="supervisor")
    ceop = rf.principal(db, "ceop.hook")
    with Receiver("placeholder") as receiver:
        with db.transaction() as s:
            receiver.secret = preservation.set_webhook(
                s, keyring, preservation.provider_by_name(s, "ExampleChat"), receiver.url,
                actor="test")
        rf.monitor(db, ceop, room_id, keyring, now=t0)  # monitored, no shift yet: off duty
        rf.monitor(db, ceop, quiet_room, keyring, now=t0)  # no webhook: skipped
        rf.shift(db, ceop, "Europe/London", "mon-fri", "08:00", "16:00", keyring, now=t0)
        assert _outbox(db) == 2  # the assignment and the shift, pushed at once
        assert housekeeping.run(db, t0 + timedelta(minutes=1), keyring) == 0  # nothing new
        assert housekeeping.run(db, t0 + timedelta(hours=8), keyring) == 1  # shift over
        assert housekeeping.run(db, t0 + timedelta(hours=8, minutes=1), keyring) == 0
        assert housekeeping.run(db, t0 + timedelta(days=1), keyring) == 1  # on duty again
        assert _drain(db, settings).retried == 0
        assert _drain(db, settings).sent == 0
        assert receiver.rejected == 0 and len(receiver.seen) == len(set(receiver.seen)) == 4
        bodies = list(receiver.cases.values())
    assert [b["type"] for b in bodies] == ["room.badge"] * 4
    assert {b["room"] for b in bodies} == {room_id}
    assert [b["state"] for b in bodies] == ["monitored_off_duty", "monitored",
                                            "monitored_off_duty", "monitored"]
    assert bodies[0]["next_review_at"] is None and bodies[0]["external_id"] == "teen-lounge-3"
    assert bodies[2]["next_review_at"] == "2026-11-24T08:00:00+00:00"
    assert bodies[1]["digest"] == bodies[3]["digest"]  # same badge, two changes: both sent
    assert bodies[1]["text"]["fr"]["label"] == "Surveillé par la police"
    assert bodies[1]["on_duty"] == [{"code": "UK-NCA-CEOP",
                                     "name": "National Crime Agency - CEOP Command"}]
    with db.transaction() as s:
        assert s.get(RoomRow, room_id).badge_digest == bodies[3]["digest"]
        assert s.get(RoomRow, quiet_room).badge_digest is None


def test_dropping_a_room_pushes_not_monitored(db, settings, make_officer):
    keyring, t0 = settings.keyring, rf.MONDAY_9
    provider_id, _ = rf.provider(db)
    room_id = rf.room(db, provider_id)
    make_officer("ceop.drop", roles="supervisor")
    ceop = rf.principal(db, "ceop.drop")
    with Receiver("placeholder") as receiver:
        with db.transaction() as s:
            receiver.secret = preservation.set_webhook(
                s, keyring, preservation.provider_by_name(s, "ExampleChat"), receiver.url,
                actor="test")
        rf.shift(db, ceop, "UTC", "daily", "00:00", "00:00", keyring, now=t0)  # 24 h
        rf.monitor(db, ceop, room_id, keyring, now=t0)
        rf.monitor(db, ceop, room_id, keyring, now=t0 + timedelta(minutes=5), on=False)
        _drain(db, settings)
        states = [b["state"] for b in receiver.cases.values()]
    assert states == ["monitored", "not_monitored"] and receiver.rejected == 0


def test_without_keyring_housekeeping_does_nothing(db):
    provider_id, _ = rf.provider(db)
    rf.room(db, provider_id)
    assert housekeeping.run(db, rf.MONDAY_9, None) == 0 and _outbox(db) == 0
