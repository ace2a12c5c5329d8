"""Rooms API (provider key) and the public monitored badge (JSON + SVG), both stores."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from tests.watch import room_factory as rf

ROOM = {"external_id": "teen-lounge-3", "title": "Teen lounge", "audience": "teen",
        "language": "en", "region": "GB"}
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def key(db):
    return rf.provider(db)[1]


def _auth(key):
    return {"authorization": f"Bearer {key}"}


def test_register_is_an_upsert_on_the_providers_room_id(client, key):
    r = client.post("/api/v1/rooms", json=ROOM, headers=_auth(key))
    assert r.status_code == 201, r.text
    room = r.json()
    assert room["id"].startswith("rm_") and room["region"] == "GB"
    assert room["badge_svg_url"].endswith(f"/api/v1/rooms/{room['id']}/badge.svg")
    again = client.post("/api/v1/rooms", json=ROOM | {"title": "Teen lounge (UK)"},
                        headers=_auth(key))
    assert again.status_code == 200 and again.json()["id"] == room["id"]
    assert again.json()["title"] == "Teen lounge (UK)"
    listed = client.get("/api/v1/rooms", headers=_auth(key)).json()
    assert [i["id"] for i in listed["items"]] == [room["id"]] and listed["next_cursor"] is None


def test_list_is_paginated_and_scoped_to_the_provider(client, db, key):
    for n in range(5):
        client.post("/api/v1/rooms", json=ROOM | {"external_id": f"room-{n}"}, headers=_auth(key))
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/rooms", params={"limit": 2} | (
            {"cursor": cursor} if cursor else {}), headers=_auth(key)).json()
        seen += [i["external_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"room-{n}" for n in range(5)]
    one = client.get("/api/v1/rooms", params={"external_id": "room-3"}, headers=_auth(key))
    assert [i["external_id"] for i in one.json()["items"]] == ["room-3"]
    _, other_key = rf.provider(db, "OtherChat")
    assert client.get("/api/v1/rooms", headers=_auth(other_key)).json()["items"] == []
    room_id = one.json()["items"][0]["id"]
    r = client.get(f"/api/v1/rooms/{room_id}", headers=_auth(other_key))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("change", "field"), [
    ({"audience": "kids"}, "audience"),
    ({"region": "XX"}, "region"),
    ({"region": "GBR"}, "region"),
    ({"language": "English"}, "language"),
    ({"external_id": "has space"}, "external_id"),
    ({"title": ""}, "title"),
    ({"colour": "red"}, "colour"),
])
def test_invalid_rooms_get_a_precise_problem(client, key, change, field):
    r = client.post("/api/v1/rooms", json=ROOM | change, headers=_auth(key))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "invalid_input"
    assert field in [e["field"] for e in problem["errors"]], problem


def test_the_key_needs_the_room_scope(client, db):
    _, key = rf.provider(db, "ReportOnly", scopes="provider:report:write")
    assert client.post("/api/v1/rooms", json=ROOM, headers=_auth(key)).status_code == 403
    assert client.get("/api/v1/rooms").status_code == 401


def _setup_monitored(client, db, key, make_officer):
    room_id = client.post("/api/v1/rooms", json=ROOM, headers=_auth(key)).json()["id"]
    make_officer("ceop.rooms", roles="supervisor")
    who = rf.principal(db, "ceop.rooms")
    rf.monitor(db, who, room_id)
    rf.shift(db, who, "Europe/London", "mon-fri", "08:00", "16:00")
    return room_id


def test_badge_follows_the_roster_over_time(client, db, key, clock, make_officer):
    room_id = client.post("/api/v1/rooms", json=ROOM, headers=_auth(key)).json()["id"]
    clock.now = rf.MONDAY_9
    assert client.get(f"/api/v1/rooms/{room_id}/badge").json()["state"] == "not_monitored"
    _setup_monitored(client, db, key, make_officer)
    on = client.get(f"/api/v1/rooms/{room_id}/badge").json()
    assert on["state"] == "monitored" and on["monitored"] is True
    assert [a["code"] for a in on["on_duty"]] == ["UK-NCA-CEOP"]
    assert "National Crime Agency" in on["message"] and on["help"]["url"].endswith("lang=en")
    clock.now = rf.MONDAY_9 + timedelta(hours=8)  # 17:00: the shift has ended
    off = client.get(f"/api/v1/rooms/{room_id}/badge").json()
    assert off["state"] == "monitored_off_duty" and off["on_duty"] == []
    assert off["next_review_at"] == "2026-11-24T08:00:00+00:00"
    assert "next shift starts (Tue 24 Nov, 08:00 UTC)" in off["message"]
    clock.now = rf.MONDAY_9 + timedelta(days=4, hours=8)  # Friday 17:00 → Monday 08:00
    weekend = client.get(f"/api/v1/rooms/{room_id}/badge").json()
    assert weekend["next_review_at"] == "2026-11-30T08:00:00+00:00"
    detail = client.get(f"/api/v1/rooms/{room_id}", headers=_auth(key)).json()
    assert detail["monitoring"]["state"] == "monitored_off_duty"


def test_badge_text_in_french(client, db, key, clock, make_officer):
    clock.now = rf.MONDAY_9
    room_id = _setup_monitored(client, db, key, make_officer)
    by_query = client.get(f"/api/v1/rooms/{room_id}/badge?lang=fr").json()
    by_header = client.get(f"/api/v1/rooms/{room_id}/badge",
                           headers={"accept-language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert by_query["label"] == "Surveillé par la police" and by_query["lang"] == "fr"
    assert by_header.json()["message"] == by_query["message"]
    assert by_header.headers["content-language"] == "fr"
    assert client.get(f"/api/v1/rooms/{room_id}/badge",
                      headers={"accept-language": "de, en;q=0.3"}).json()["lang"] == "en"


def test_badge_is_public_cached_briefly_and_embeddable(client, db, key, clock, make_officer):
    clock.now = rf.MONDAY_9
    room_id = _setup_monitored(client, db, key, make_officer)
    r = client.get(f"/api/v1/rooms/{room_id}/badge")
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=30"
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"
    again = client.get(f"/api/v1/rooms/{room_id}/badge", headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content
    body = r.text
    assert "Teen lounge" not in body and "ExampleChat" not in body and "teen-lounge" not in body


def test_svg_badge_is_accessible_and_inert(client, db, key, clock, make_officer):
    clock.now = rf.MONDAY_9
    room_id = _setup_monitored(client, db, key, make_officer)
    r = client.get(f"/api/v1/rooms/{room_id}/badge.svg?lang=fr")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.headers["etag"] and r.headers["cache-control"] == "public, max-age=30"
    root = ET.fromstring(r.content)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Surveillé par la police"
    assert "surveillent ce salon" in root.find(f"{SVG}desc").text
    for element in root.iter():
        assert element.tag.split("}")[1] not in {"script", "foreignObject", "image", "use", "a"}
        assert not [k for k in element.attrib if k.lower().startswith("on") or "href" in k]
    not_modified = client.get(f"/api/v1/rooms/{room_id}/badge.svg?lang=fr",
                              headers={"if-none-match": r.headers["etag"]})
    assert not_modified.status_code == 304


@pytest.mark.parametrize("room_id", ["rm_000000000000000000000000", "nope", "rm_%3Cscript%3E"])
def test_unknown_room_badge_is_a_404_problem(client, room_id):
    for suffix in ("badge", "badge.svg"):
        r = client.get(f"/api/v1/rooms/{room_id}/{suffix}")
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
        assert r.headers["cache-control"] == "no-store"


def test_retired_room_has_no_badge(client, key):
    room_id = client.post("/api/v1/rooms", json=ROOM, headers=_auth(key)).json()["id"]
    client.post("/api/v1/rooms", json=ROOM | {"active": False}, headers=_auth(key))
    assert client.get(f"/api/v1/rooms/{room_id}/badge").status_code == 404


def test_openapi_documents_rooms_and_badge(client):
    spec = client.get("/api/openapi.json").json()
    post = spec["paths"]["/api/v1/rooms"]["post"]
    assert "201" in post["responses"] and "200" in post["responses"]
    assert spec["paths"]["/api/v1/rooms/{room_id}/badge"]["get"]["description"]
    schema = spec["components"]["schemas"]["RoomIn"]["properties"]
    assert schema["audience"]["examples"] == ["teen"]
