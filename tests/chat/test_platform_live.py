"""The chat against a real running platform on loopback, through the SDK only: rooms
registered, every message streamed into Watch (room and direct), the badge, a report
hand-off with the conversation, and officers' interventions arriving as signed webhooks."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from childsafe.store import accounts
from childsafe.store.watch_models import AlertRow, ConversationRow, RoomRow, WatchMessageRow
from childsafe.watch import interventions
from tests.chat.live import MONITORED, wait_for
from tests.watch.alert_factory import GROOMING_CHAT

ADULT, CHILD = "dan", "kim"
NAMES = {"u_sam": ADULT, "u_kim": CHILD}


def _watched(platform, ids):
    with platform.db.transaction() as s:
        rows = list(s.scalars(select(WatchMessageRow).where(WatchMessageRow.message_id.in_(ids))
                              .order_by(WatchMessageRow.id)))
        for row in rows:
            s.expunge(row)
        return rows


def _groom(dan, kim):
    ids = []
    for author, _age, text in GROOMING_CHAT:
        ids.append((dan if NAMES[author] == ADULT else kim).say(MONITORED, text))
    return ids


def test_rooms_are_registered_and_messages_streamed_into_watch(live_chat):
    platform = live_chat.platform
    with platform.db.transaction() as s:
        external = set(s.scalars(select(RoomRow.external_id)))
    assert {"teen-lounge-3", "homework-help", "music-fans", "direct-messages"} <= external
    assert live_chat.store.room(MONITORED).platform_id == live_chat.platform_room(MONITORED).id

    dan, kim = live_chat.user(ADULT, 31), live_chat.user(CHILD, 13)
    ids = _groom(dan, kim)
    dm = [dan.dm(CHILD, "add me on another app, it's more private"), kim.dm(ADULT, "ok")]
    rows = wait_for(lambda: (r := _watched(platform, ids + dm)) and len(r) == 12 and r,
                    "the messages in watch_messages")
    by_id = {r.message_id: r for r in rows}
    assert [by_id[i].author_id for i in ids] == [NAMES[a] for a, _, _ in GROOMING_CHAT]
    assert {by_id[i].declared_age for i in ids} == {31, 13}
    assert [by_id[i].seq for i in ids] == list(range(1, 11))  # in order, each once
    assert by_id[dm[0]].recipient_id == CHILD and by_id[dm[1]].recipient_id == ADULT
    with platform.db.transaction() as s:
        kinds = {c.key: c.kind for c in s.scalars(select(ConversationRow))}
    assert kinds.get(f"direct:{ADULT} {CHILD}") == "direct"
    stored = live_chat.store
    wait_for(lambda: stored.unstreamed_count() == 0, "the chat to mark them streamed")


def test_badge_shows_in_the_room_header(live_chat):
    kim = live_chat.user(CHILD, 13)
    live_chat.push_badge(MONITORED)  # a signed room.badge webhook; the chat fetches the badge
    page = kim.http.get(f"/rooms/{MONITORED}").text
    room = live_chat.platform_room(MONITORED)
    assert f"{live_chat.platform.url}/api/v1/rooms/{room.id}/badge.svg" in page
    assert 'data-state="monitored"' in page
    assert 'data-state="not_monitored"' in kim.http.get("/rooms/homework-help").text


def test_report_abuse_hands_the_conversation_to_the_platform(live_chat):
    dan, kim = live_chat.user(ADULT, 31), live_chat.user(CHILD, 13, email="kim@example.com")
    _groom(dan, kim)
    r = kim.post_form(f"/rooms/{MONITORED}/report", reported=ADULT)
    assert r.status_code == 303
    url = r.headers["location"]
    assert url.startswith(f"{live_chat.platform.url}/report/start/")
    with httpx.Client(follow_redirects=True, timeout=10) as browser:
        page = browser.get(url)
    assert page.status_code == 200
    assert "The conversation from Chatty is attached (10 messages)." in page.text


def test_officers_interventions_reach_the_chat(live_chat, tmp_path):
    platform = live_chat.platform
    dan, kim = live_chat.user(ADULT, 31), live_chat.user(CHILD, 13)
    _groom(dan, kim)
    room_id = live_chat.platform_room(MONITORED).id

    def alert():
        with platform.db.transaction() as s:
            return s.scalar(select(AlertRow.id).where(AlertRow.room_id == room_id))

    alert_id = wait_for(alert, "the grooming alert")
    platform.officers("ceop.watch")
    with platform.db.transaction() as s:
        officer = accounts.principal_for(s, accounts.get_user(s, "ceop.watch"))
        from childsafe.store.models import utcnow

        for kind, message in (("room_message", "This room is watched by the police."),
                              ("private_advice", "You did nothing wrong. Talk to an adult "
                                                 "you trust."),
                              ("suspend", ""), ("preserve", "")):
            interventions.intervene(s, platform.officers.keyring, officer, alert_id, kind,
                                    now=utcnow(), message=message)
    result = live_chat.deliver()
    assert result.sent >= 4 and result.retried == 0
    police = [m for m in live_chat.store.room_messages(MONITORED) if m.is_police]
    assert [m.text for m in police] == ["This room is watched by the police."]
    assert police[0].label.startswith("Police message — ")
    assert "msg-police" in kim.http.get(f"/rooms/{MONITORED}").text
    kim_id = live_chat.store.user_by_name(CHILD).id
    assert [n.text for n in live_chat.store.notices(kim_id)] == [
        "You did nothing wrong. Talk to an adult you trust."]
    assert live_chat.store.user_by_name(ADULT).suspended
    r = dan.http.post(f"/rooms/{MONITORED}/messages", data={"text": "hello?",
                                                            "csrf": dan.csrf()},
                      headers={"accept": "application/json"})
    assert r.status_code == 401
    [record] = live_chat.store.preservations()
    assert set(record["accounts"]) == {ADULT, CHILD} and record["message_count"] >= 10
    assert live_chat.deliver().sent == 0  # nothing left; a repeat would be ignored anyway
