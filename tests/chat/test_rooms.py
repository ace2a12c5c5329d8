"""Rooms, direct messages, live delivery over the WebSocket, bounds, escaping, rate limits."""

from __future__ import annotations

from childsafe.chat.hub import dm_channel
from childsafe.chat.store import parse_iso

ROOM = "teen-lounge-3"
HOSTILE = ('<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
           '"><svg onload=alert(1)> javascript:alert(1) \u202eevil')


def test_lobby_lists_rooms_and_joining_shows_membership(chat):
    chat.sign_up("kim", 13)
    lobby = chat.client.get("/rooms").text
    assert "Teen lounge" in lobby and "Homework help" in lobby
    assert "Direct messages</a>" not in lobby  # the DM carrier room is not a room to join
    page = chat.client.get(f"/rooms/{ROOM}").text
    assert "Join room" in page and 'id="compose"' not in page
    r = chat.client.post(f"/rooms/{ROOM}/join", data={"csrf": chat.csrf()}, follow_redirects=False)
    assert r.status_code == 303
    page = chat.client.get(f"/rooms/{ROOM}").text
    assert 'id="compose"' in page and "Leave room" in page
    assert "1 member · joined" in chat.client.get("/rooms").text
    chat.client.post(f"/rooms/{ROOM}/leave", data={"csrf": chat.csrf()})
    assert not chat.store.is_member(ROOM, chat.store.user_by_name("kim").id)


def test_posts_get_unique_ids_and_ordered_timestamps(chat):
    chat.sign_up("kim", 13)
    chat.sign_up("dan", 31)
    ids = [chat.say("kim" if i % 2 else "dan", ROOM, f"message {i}") for i in range(20)]
    assert len(set(ids)) == 20
    stored = chat.store.room_messages(ROOM)
    assert [m.id for m in stored] == ids
    times = [parse_iso(m.sent_at) for m in stored]
    assert times == sorted(times) and len(set(times)) == 20
    page = chat.as_("kim").client.get(f"/rooms/{ROOM}").text
    assert all(f'id="{i}"' in page for i in ids)


def test_a_plain_form_post_redirects_back_to_the_room(chat):
    chat.sign_up("kim", 13)
    r = chat.post(f"/rooms/{ROOM}/messages", "hello there", json_=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/rooms/{ROOM}#m_")
    assert "hello there" in chat.client.get(f"/rooms/{ROOM}").text


def test_messages_are_bounded_and_cleaned(chat):
    chat.sign_up("kim", 13)
    r = chat.post(f"/rooms/{ROOM}/messages", "x" * 1001)
    assert r.status_code == 400 and "at most 1000" in r.json()["error"]
    assert chat.post(f"/rooms/{ROOM}/messages", "   \n\x00 ").status_code == 400
    r = chat.post(f"/rooms/{ROOM}/messages", "hi\x07 there\u202e!")
    assert chat.store.message(r.json()["id"]).text == "hi there!"
    r = chat.client.post(f"/rooms/{ROOM}/messages", content=b"text=" + b"a" * 70_000,
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def test_posting_is_rate_limited_per_user(chat, chat_settings):
    chat.sign_up("kim", 13)
    chat.sign_up("dan", 31)
    statuses = [chat.as_("kim").post(f"/rooms/{ROOM}/messages", f"m{i}").status_code
                for i in range(chat_settings.messages_per_window + 1)]
    assert statuses[:-1] == [201] * chat_settings.messages_per_window
    r = chat.as_("kim").post(f"/rooms/{ROOM}/messages", "again")
    assert r.status_code == 429 and "too fast" in r.json()["error"]
    assert chat.as_("dan").post(f"/rooms/{ROOM}/messages", "me too").status_code == 201


def test_hostile_text_is_escaped_in_every_page(chat):
    chat.sign_up("kim", 13)
    chat.sign_up("eve", 30, display='<b onmouseover="x()">Eve</b>')
    chat.say("eve", ROOM, HOSTILE)
    chat.dm("eve", "kim", HOSTILE)
    for path in (f"/rooms/{ROOM}", "/dm/eve", "/rooms"):
        page = chat.as_("kim").client.get(path).text
        assert "<script>window" not in page and "<img src=x" not in page
        assert "<svg onload" not in page and '<b onmouseover' not in page
    page = chat.client.get(f"/rooms/{ROOM}").text
    assert "&lt;img src=x onerror=&#34;window.__pwned=1&#34;&gt;" in page
    assert "&lt;b onmouseover=&#34;x()&#34;&gt;Eve&lt;/b&gt;" in page


def test_pages_forbid_inline_script_and_style(chat):
    chat.sign_up("kim", 13)
    r = chat.client.get(f"/rooms/{ROOM}")
    csp = r.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert "script-src 'self' http://127.0.0.1:8000" in csp
    assert "<style" not in r.text and " style=" not in r.text
    assert "<script>" not in r.text and "onclick" not in r.text
    assert r.headers["x-frame-options"] == "DENY"


def test_direct_messages_are_private_to_the_two(chat):
    chat.sign_up("kim", 13)
    chat.sign_up("dan", 31)
    chat.sign_up("lee", 42, parent=True)
    first = chat.dm("dan", "kim", "hi kim")
    chat.dm("kim", "dan", "hi dan")
    page = chat.as_("kim").client.get("/dm/dan").text
    assert "hi kim" in page and "hi dan" in page and f'id="{first}"' in page
    assert "@dan" in chat.client.get("/rooms").text  # listed as a conversation
    assert "hi kim" not in chat.as_("lee").client.get("/dm/dan").text
    assert "hi kim" not in chat.client.get(f"/rooms/{ROOM}").text
    assert chat.as_("kim").post("/dm/kim/messages", "me").status_code == 404
    assert chat.post("/dm/nobody/messages", "hi").status_code == 404


def test_room_messages_arrive_live_on_the_websocket(chat):
    chat.sign_up("kim", 13)
    chat.sign_up("dan", 31)
    with chat.live("kim", f"room:{ROOM}") as socket:
        message_id = chat.say("dan", ROOM, HOSTILE)
        event = socket.receive_json()
    assert event == {"type": "message", "conversation": f"room:{ROOM}", "id": message_id,
                     "kind": "user", "text": chat.store.message(message_id).text,
                     "sent_at": event["sent_at"], "sender": "dan", "sender_name": "Dan"}
    assert "label" not in event


def test_direct_messages_arrive_live_only_for_the_two(chat):
    chat.sign_up("kim", 13)
    chat.sign_up("dan", 31)
    chat.sign_up("lee", 42)
    channel = dm_channel("kim", "dan")
    with chat.live("lee", channel) as spy:  # not lee's conversation: not subscribed
        with chat.live("kim", channel) as socket:
            chat.dm("dan", "kim", "are you there?")
            assert socket.receive_json()["text"] == "are you there?"
        chat.say("lee", ROOM, "ping")  # lee hears nothing of the DM; the next event is...
        spy.send_text("ping")
        assert spy.receive_json() == {"type": "pong"}  # ...only the answer to the ping


def test_websocket_needs_a_session_and_our_origin(chat):
    import pytest
    from starlette.websockets import WebSocketDisconnect

    chat.client.cookies.delete("chat_session")
    with pytest.raises(WebSocketDisconnect) as closed, \
            chat.client.websocket_connect(f"/ws?c=room:{ROOM}"):
        pass
    assert closed.value.code == 4401
    chat.sign_up("kim", 13)
    with pytest.raises(WebSocketDisconnect), chat.client.websocket_connect(
            f"/ws?c=room:{ROOM}", headers={"origin": "http://evil.test"}):
        pass


def test_report_abuse_without_messages_opens_the_plain_form(chat):
    chat.sign_up("kim", 13)
    r = chat.client.post(f"/rooms/{ROOM}/report", data={"csrf": chat.csrf()},
                         follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == ("http://127.0.0.1:8000/report?via=embed&provider=Chatty"
                                     "&lang=en")


def test_report_abuse_when_the_platform_is_unreachable_says_so(chat):
    chat.sign_up("kim", 13)
    chat.say("kim", ROOM, "hello")
    r = chat.client.post(f"/rooms/{ROOM}/report", data={"csrf": chat.csrf()})
    assert r.status_code == 503 and "could not be opened just now" in r.text
    assert 'href="http://127.0.0.1:8000/report"' in r.text
    assert chat.client.post(f"/rooms/{ROOM}/report", data={}).status_code == 403


def test_conversation_pages_offer_report_abuse_and_the_tips_tab(chat):
    chat.sign_up("kim", 13)
    chat.sign_up("dan", 31)
    chat.say("dan", ROOM, "hi")
    page = chat.as_("kim").client.get(f"/rooms/{ROOM}").text
    assert 'id="report-abuse"' in page and 'target="_blank"' in page
    assert '<option value="dan">Dan (@dan)</option>' in page
    assert ('<script src="http://127.0.0.1:8000/static/embed.js" data-provider="Chatty" '
            'data-lang="en" data-audience="young_person" defer></script>') in page
    dm = chat.client.get("/dm/dan").text
    assert 'action="/dm/dan/report"' in dm and "embed.js" in dm
