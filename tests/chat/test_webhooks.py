"""The platform's webhooks: signatures, idempotency, and each intervention taking effect.
Police messages are marked by the server alone: no user text can carry the marking."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from starlette.websockets import WebSocketDisconnect

from childsafe.chat.store import ChatStore
from tests.chat.helpers import PASSWORD, intervention, message_items

ROOM = "teen-lounge-3"
ADVICE = "You did nothing wrong. Do not share where you live. Tell an adult you trust."


def test_unsigned_forged_and_stale_deliveries_are_refused(chat):
    body = intervention("room_message", message="Hello from the police")
    raw = json.dumps(body).encode()
    assert chat.client.post("/platform/webhook", content=raw).status_code == 401
    assert chat.webhook(body, secret="whsec_someone-else").status_code == 401
    assert chat.webhook(body, timestamp=int(time.time()) - 3600).status_code == 401
    r = chat.client.post("/platform/webhook", content=raw + b" ", headers={
        "x-childsafe-timestamp": str(int(time.time())),
        "x-childsafe-signature": "sha256=" + "0" * 64})
    assert r.status_code == 401
    assert chat.store.room_messages(ROOM) == []


def test_a_repeated_delivery_is_applied_once(chat):
    body = intervention("room_message", message="Hello from the police")
    first = chat.webhook(body, delivery="watch-intervention:a1:room_message:x")
    again = chat.webhook(body, delivery="watch-intervention:a1:room_message:x")
    assert first.status_code == 200 and not first.json()["duplicate"]
    assert again.status_code == 200 and again.json()["duplicate"]
    assert len(chat.store.room_messages(ROOM)) == 1
    other = chat.webhook(body, delivery="watch-intervention:a2:room_message:y")
    assert other.status_code == 200 and len(chat.store.room_messages(ROOM)) == 2


def test_police_room_message_is_marked_and_arrives_live(chat):
    chat.sign_up("kim", 13)
    with chat.live("kim", f"room:{ROOM}") as socket:
        r = chat.webhook(intervention("room_message", message="This room is watched by CEOP."))
        event = socket.receive_json()
    assert r.status_code == 200
    assert event["kind"] == "police" and event["label"] == "Police message — CEOP"
    assert event["text"] == "This room is watched by CEOP." and "sender" not in event
    items = message_items(chat.client.get(f"/rooms/{ROOM}").text)
    assert len(items) == 1 and 'class="msg msg-police"' in items[0]
    assert "Police message — CEOP" in items[0]


def test_users_cannot_spoof_the_police_marking(chat):
    chat.sign_up("kim", 13)
    chat.sign_up("eve", 30)
    spoof = ('Police message — CEOP\n</p></li><li class="msg msg-police" data-kind="police">'
             '<p class="police-label">Police message — CEOP</p>')
    with chat.live("kim", f"room:{ROOM}") as socket:
        message_id = chat.say("eve", ROOM, spoof)
        event = socket.receive_json()
    assert event["kind"] == "user" and "label" not in event
    stored = chat.store.message(message_id)
    assert stored.kind == "user" and stored.label is None and not stored.is_police
    items = message_items(chat.as_("kim").client.get(f"/rooms/{ROOM}").text)
    assert len(items) == 1 and "msg-police" not in items[0].split(">")[0]
    assert 'class="police-label"' not in items[0]
    # Names that pass for the police are not given out either.
    chat.client.cookies.delete("chat_session")
    r = chat.client.post("/signup", data={"username": "police", "password": PASSWORD,
                                          "birth_year": "1990", "country": "GB",
                                          "csrf": chat.csrf()})
    assert r.status_code == 400


def test_the_store_never_makes_a_user_message_a_police_one(tmp_path):
    store = ChatStore(tmp_path / "c.db")
    store.sync_rooms([])
    with pytest.raises(ValueError, match="needs its sender"):
        store.add_message(text="x")
    store.create_user("eve", "Eve", "h", 1990, "GB")
    with pytest.raises(sqlite3.IntegrityError):  # the schema refuses a police message with an author
        store._conn.execute("INSERT INTO messages (id, sender_id, kind, text, label, sent_at, "
                            "room_slug) VALUES ('m_x', 1, 'police', 't', 'Police', 'now', NULL)")
    store.close()


def test_private_advice_reaches_the_child_only(chat):
    chat.sign_up("kim", 13)
    chat.sign_up("dan", 31)
    with chat.live("kim", f"room:{ROOM}") as socket:
        r = chat.webhook(intervention("private_advice", target="kim", message=ADVICE))
        event = socket.receive_json()
    assert r.status_code == 200
    assert event["type"] == "notice" and event["text"] == ADVICE
    assert event["label"] == "Private safety advice — CEOP"
    assert ADVICE in chat.as_("kim").client.get("/rooms").text
    assert ADVICE in chat.client.get("/notices").text
    assert ADVICE not in chat.as_("dan").client.get("/rooms").text
    assert ADVICE not in chat.client.get(f"/rooms/{ROOM}").text


def test_suspension_ends_sessions_and_stops_posting(chat):
    chat.sign_up("kim", 13)
    chat.sign_up("dan", 31)
    chat.say("dan", ROOM, "hi")
    with chat.live("dan", f"room:{ROOM}") as socket:
        r = chat.webhook(intervention("suspend", target="dan"))
        assert socket.receive_json() == {"type": "ended", "reason": "suspended"}
        with pytest.raises(WebSocketDisconnect):
            socket.receive_json()
    assert r.status_code == 200 and "suspended dan; 1 session(s) ended" in r.json()["detail"]
    dan = chat.store.user_by_name("dan")
    assert dan.suspended and chat.store.session_count(dan.id) == 0
    r = chat.as_("dan").post(f"/rooms/{ROOM}/messages", "still here?")
    assert r.status_code == 401
    assert chat.post(f"/rooms/{ROOM}/messages", "x", json_=False).headers["location"].startswith(
        "/login")
    chat.client.cookies.delete("chat_session")
    r = chat.client.post("/login", data={"username": "dan", "password": PASSWORD,
                                         "csrf": chat.csrf()})
    assert r.status_code == 400 and "suspended" in r.text
    assert chat.as_("kim").post("/dm/dan/messages", "hello?").status_code == 404
    assert chat.post(f"/rooms/{ROOM}/messages", "kim still can").status_code == 201


def test_preservation_exports_the_accounts_data(chat, chat_settings):
    chat.sign_up("kim", 13)
    chat.sign_up("dan", 31)
    ids = [chat.say("dan", ROOM, "how old are you?"), chat.dm("dan", "kim", "are you alone?")]
    r = chat.webhook(intervention("preserve", target="dan", accounts=["dan"],
                                  message_ids=ids[:1]), delivery="watch-intervention:p:1")
    assert r.status_code == 200 and "preserved 2 message(s) of 1 account(s)" in r.json()["detail"]
    [record] = chat.store.preservations()
    data = json.loads(Path(record["path"]).read_text(encoding="utf-8"))
    assert [m["id"] for m in data["messages"]] == ids
    assert data["accounts"][0]["username"] == "dan" and record["accounts"] == ["dan"]
    assert record["path"].startswith(str(chat_settings.data_dir / "preservations"))
    r = chat.webhook({"type": "preservation_request", "case": "CS-1", "agency": "UK-NCA-CEOP",
                      "reports": [{"report": "R-1", "rooms": [ROOM], "message_ids": ids[1:],
                                   "reported_accounts": ["dan"]}]}, delivery="preserve:c:1")
    assert r.status_code == 200 and len(chat.store.preservations()) == 2


def test_unknown_events_are_acknowledged_and_ignored(chat):
    r = chat.webhook({"type": "something.new", "x": 1})
    assert r.status_code == 200 and r.json()["detail"].startswith("ignored")
    r = chat.webhook(intervention("room_message", room="no-such-room", message="hi"))
    assert r.status_code == 200 and r.json()["detail"] == "no room and no target"
