"""POST /api/v1/rooms/{id}/messages: counts, idempotency, every error as problem+json, and a
batch reaching an alert through the in-process consumer."""

import json
import time

import pytest
from sqlalchemy import func, select

from childsafe.store.watch_models import AlertRow, WatchMessageRow
from childsafe.watch.core.ingestion import MAX_BATCH_BYTES, MAX_MESSAGES
from tests.watch import stream_factory as sf


@pytest.fixture
def chat(db):
    provider_id, key = sf.provider(db)
    return {"auth": {"authorization": f"Bearer {key}"}, "room": sf.room(db, provider_id),
            "provider_id": provider_id}


def url(room_id):
    return f"/api/v1/rooms/{room_id}/messages"


def post(client, chat, docs, **kw):
    return client.post(url(kw.pop("room", chat["room"])), json={"messages": docs},
                       headers=kw.pop("headers", chat["auth"]), **kw)


def stored(db):
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(WatchMessageRow))


def problem(r, status, code):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code and body["type"] == f"/problems/{code}"
    return body


def test_batch_is_accepted_then_repeats_are_duplicates(client, chat, db):
    docs = sf.chat(sf.BENIGN) + sf.direct(sf.GROOMING[:2], "u-adult", "u-kid", prefix="d")
    docs.sort(key=lambda d: d["sent_at"])
    r = post(client, chat, docs)
    assert r.status_code == 202, r.text
    out = r.json()
    assert (out["accepted"], out["duplicates"], out["ignored"]) == (6, 0, 0)
    assert {c["key"]: c["accepted"] for c in out["conversations"]} == {
        "room": 4, "direct:u-adult u-kid": 2}
    r = post(client, chat, docs)
    assert (r.json()["accepted"], r.json()["duplicates"]) == (0, 6)
    assert stored(db) == 6


def test_malformed_batch_names_each_field_and_stores_nothing(client, chat, db):
    docs = sf.chat(sf.BENIGN)
    docs[1]["sent_at"] = "soon"
    del docs[3]["author_id"]
    body = problem(post(client, chat, docs), 422, "invalid_input")
    assert [e["field"] for e in body["errors"]] == ["messages[1].sent_at", "messages[3].author_id"]
    assert body["errors"][0]["reason"] == "format" and body["errors"][0]["message"]
    assert stored(db) == 0


def test_not_json_and_oversized(client, chat):
    r = client.post(url(chat["room"]), content=b"{nope", headers=chat["auth"] |
                    {"content-type": "application/json"})
    assert problem(r, 422, "invalid_input")["errors"][0]["field"] == "body"
    r = client.post(url(chat["room"]), content=b"messages", headers=chat["auth"] |
                    {"content-type": "text/plain"})
    problem(r, 415, "unsupported_media_type")
    many = [sf.message(i, "u-a", "hi") for i in range(MAX_MESSAGES + 1)]
    problem(post(client, chat, many), 413, "too_large")
    huge = json.dumps({"messages": [sf.message(0, "u-a", "x" * 4000)] * 1100})
    assert len(huge) > MAX_BATCH_BYTES
    r = client.post(url(chat["room"]), content=huge, headers=chat["auth"] |
                    {"content-type": "application/json"})
    problem(r, 413, "too_large")


def test_out_of_order(client, chat, db):
    docs = sf.chat(sf.BENIGN)
    docs[1], docs[2] = docs[2], docs[1]
    body = problem(post(client, chat, docs), 422, "out_of_order")
    assert body["errors"][0]["field"] == "messages[2].sent_at"
    assert post(client, chat, sf.chat(sf.BENIGN, start=10)).status_code == 202
    body = problem(post(client, chat, sf.chat(sf.BENIGN[:1], prefix="old")), 422, "out_of_order")
    assert "last message already received" in body["errors"][0]["message"]
    assert stored(db) == 4


def test_conflicting_duplicate(client, chat):
    docs = sf.chat(sf.BENIGN)
    assert post(client, chat, docs).status_code == 202
    docs[2]["text"] = "something else"
    body = problem(post(client, chat, docs), 409, "message_conflict")
    assert body["errors"][0]["field"] == "messages[2].message_id"
    assert "text" in body["errors"][0]["message"]


def test_wrong_room_provider_key_or_scope(client, chat, db):
    other_id, other_key = sf.provider(db, "OtherChat")
    theirs = sf.room(db, other_id)
    docs = sf.chat(sf.BENIGN)
    problem(post(client, chat, docs, room=theirs), 404, "not_found")
    problem(post(client, chat, docs, room="rm_" + "0" * 24), 404, "not_found")
    problem(post(client, chat, docs, headers={}), 401, "authentication_failed")
    _, rooms_only = sf.provider(db, "ThirdChat", scopes="provider:room:write")
    body = problem(post(client, chat, docs, headers={"authorization": f"Bearer {rooms_only}"}),
                   403, "permission_denied")
    assert "provider:message:write" in body["detail"]
    assert stored(db) == 0


def test_unmonitored_room_is_ignored_with_a_reason(client, chat, db):
    quiet = sf.room(db, chat["provider_id"], monitors=())
    r = post(client, chat, sf.chat(sf.BENIGN), room=quiet)
    assert r.status_code == 202
    assert (r.json()["ignored"], r.json()["ignored_reason"]) == (4, "not_monitored")
    assert stored(db) == 0


def test_openapi_documents_the_batch(client):
    spec = client.get("/api/openapi.json").json()
    op = spec["paths"]["/api/v1/rooms/{room_id}/messages"]["post"]
    body = op["requestBody"]["content"]["application/json"]
    assert set(body["examples"]) == {"room", "direct"}
    item = body["schema"]["properties"]["messages"]["items"]
    assert {"message_id", "author_id", "sent_at", "text", "recipient_id"} <= set(item["properties"])
    assert {"202", "409", "413", "422"} <= set(op["responses"])
    assert "Data minimisation" in op["description"]


def test_a_grooming_chat_reaches_an_alert_in_the_background(client, chat, db, clock):
    sf.shift(db, "UK-NCA-CEOP", 0, 0)
    docs = sf.direct(sf.GROOMING, "u-adult", "u-kid", at=clock.now)
    for i in range(0, len(docs), 3):  # as a chat app streams it
        assert post(client, chat, docs[i:i + 3]).status_code == 202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        alerts = sf.rows(db, AlertRow)
        scored = sf.rows(db, WatchMessageRow, WatchMessageRow.score.is_not(None))
        if alerts and len(scored) == len(docs):
            break
        time.sleep(0.05)
    assert len(scored) == len(docs)
    [alert] = alerts
    assert alert.agency_id == sf.agency_id(db, "UK-NCA-CEOP") and alert.message_seq == sf.alert_seq()
