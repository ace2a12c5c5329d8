"""What the fuzzer found (tests/fuzz): the OpenAPI document says what the app really answers,
and no id, however large, reaches the store as an overflow (500)."""

from __future__ import annotations

import pytest

from childsafe.reports import pooling
from childsafe.store import accounts
from childsafe.store.models import utcnow
from tests.helpers import csrf_from
from tests.reports.case_factory import context, file_report

HUGE = str(2**64 + 1)  # past any 64-bit column: SQLite and PostgreSQL both overflow on it


def _operations(spec):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_error_answers_are_documented_as_problem_json(app):
    spec = app.openapi()
    problems = 0
    for label, operation in _operations(spec):
        for status, response in operation["responses"].items():
            content = response.get("content", {})
            if status.startswith("4") and "application/problem+json" in content:
                problems += 1
            refs = [v.get("schema", {}).get("$ref", "") for v in content.values()]
            if any(r.endswith("/Problem") for r in refs):
                assert list(content) == ["application/problem+json"], (label, status)
    assert problems > 50


def test_a_body_that_cannot_be_parsed_is_a_documented_400(app, client, db):
    spec = app.openapi()
    for label, operation in _operations(spec):
        if "requestBody" in operation:
            assert "400" in operation["responses"], label
    r = client.post("/api/v1/rooms", content=b"\xff\xfe{", headers={
        "content-type": "application/json", "authorization": "Bearer csk_x"})
    # Authentication runs first; either way the answer is a documented problem, not a 500.
    assert r.status_code in (400, 401)
    assert r.headers["content-type"] == "application/problem+json"


@pytest.fixture
def supervisor(client, logged_in):
    return logged_in("ceop.sup", roles="officer,supervisor")


def test_huge_ids_are_refused_on_the_json_api(client, supervisor):
    token = csrf_from(client.get("/").text)
    for method, path in (("GET", f"/api/v1/officers/{HUGE}"),
                         ("POST", f"/api/v1/sharing-requests/{HUGE}/approve"),
                         ("POST", f"/api/v1/sharing-requests/{HUGE}/refuse"),
                         ("GET", "/api/v1/officers/0")):
        r = client.request(method, path, headers={"x-csrf-token": token})
        assert r.status_code == 422, (path, r.text)
        assert r.json()["code"] == "invalid_input"


@pytest.mark.parametrize(("roles", "path", "data"), [
    ("officer,supervisor", f"/sharing/{HUGE}/approve", {}),
    ("agency-admin", f"/admin/officers/{HUGE}/roles", {"role": "officer"}),
    ("agency-admin", f"/admin/officers/{HUGE}/disable", {}),
    ("list-editor", f"/block/entries/{HUGE}/remove", {"reason": "gone"}),
])
def test_huge_ids_are_refused_on_console_forms(client, logged_in, roles, path, data):
    logged_in("ceop.forms", roles=roles)
    token = csrf_from(client.get("/").text)
    r = client.post(path, data=data | {"csrf": token}, headers={"accept": "text/html"})
    assert r.status_code == 422, r.text
    assert "incident" not in r.text


def test_deciding_twice_is_a_documented_conflict(app, client, db, settings, supervisor,
                                                 make_officer):
    spec = app.openapi()
    for path in ("/api/v1/sharing-requests/{request_id}/approve",
                 "/api/v1/sharing-requests/{request_id}/refuse", "/api/v1/sharing-requests"):
        assert "409" in spec["paths"][path]["post"]["responses"], path
    ctx = context(settings)
    file_report(db, ctx, suspect="u2", room="gb-1")
    _, theirs = file_report(db, ctx, agency="US-DHS-HSI", suspect="u2", room="us-1")
    make_officer("hsi.sup", agency="US-DHS-HSI", roles="supervisor")
    with db.transaction() as s:
        hsi = accounts.principal_for(s, accounts.get_user(s, "hsi.sup"))
        request_id = pooling.request_sharing(s, hsi, theirs.id, "UK-NCA-CEOP", "same suspect",
                                             utcnow()).id
    token = csrf_from(client.get("/").text)
    url = f"/api/v1/sharing-requests/{request_id}"
    assert client.post(url + "/refuse", headers={"x-csrf-token": token}).status_code == 200
    again = client.post(url + "/approve", headers={"x-csrf-token": token})
    assert again.status_code == 409 and again.json()["code"] == "conflict"
