"""Security headers on every response, a strict CSP, no stack traces, size limits."""

import pytest
from fastapi import APIRouter

from childsafe.web.deps import public
from childsafe.web.security import CSP


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/agencies", "/nope",
                                  "/api/v1/nope", "/static/app.css", "/api/docs"])
def test_headers_everywhere(client, path):
    r = client.get(path)
    assert r.headers["content-security-policy"] == CSP
    assert "'unsafe-inline'" not in CSP and "script-src 'self'" in CSP
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "max-age" in r.headers["strict-transport-security"]


def test_no_inline_script_in_pages(client):
    for path in ("/login", "/api/docs"):
        assert "<script" not in client.get(path).text


def test_unexpected_error_is_a_problem_without_trace(app, client):
    router = APIRouter()

    @router.get("/api/v1/boom", dependencies=[public()])
    def boom():
        raise RuntimeError("secret internal detail")

    app.include_router(router)
    r = client.get("/api/v1/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "internal_error" and "incident" in body["detail"]
    assert "secret internal detail" not in r.text and "Traceback" not in r.text
    assert r.headers["content-security-policy"] == CSP


def test_browser_gets_friendly_error_page(client):
    r = client.get("/no-such-page", headers={"accept": "text/html"})
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "Not found" in r.text


def test_oversized_body_refused(client, settings):
    big = "x" * (settings.max_request_bytes + 1)
    r = client.post("/login", content=big,
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def test_oversized_form_field_refused(client):
    page = client.get("/login")
    from tests.helpers import csrf_from
    r = client.post("/login", data={"username": "a" * 5000, "password": "x",
                                    "csrf": csrf_from(page.text)},
                    headers={"accept": "application/json"})
    assert r.status_code == 422
