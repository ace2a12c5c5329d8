"""The CSP report endpoint: every page's policy names it; reports are counted and logged,
bounded in size and rate, and the log keeps no token, query or typed text."""

from __future__ import annotations

import json
import logging

import pytest

from childsafe.web import csp_report
from childsafe.web.csp_report import violations_of
from childsafe.web.security import CSP

LEGACY = {"csp-report": {
    "document-uri": "https://childsafe.example.com/report/status/"
                    "Zk3xQ9vLr2T8mN4pW6yB1cD5fG7hJ0kA?lang=en&secret=1",
    "referrer": "", "violated-directive": "script-src-elem",
    "effective-directive": "script-src-elem", "original-policy": CSP,
    "blocked-uri": "inline", "disposition": "enforce", "status-code": 200}}
BATCH = [
    {"type": "csp-violation", "age": 10, "url": "https://childsafe.example.com/cases/abc",
     "user_agent": "Chromium", "body": {
         "documentURL": "https://childsafe.example.com/cases/abc?tab=notes",
         "effectiveDirective": "img-src", "disposition": "enforce",
         "blockedURL": "https://tracker.example.com/pixel.gif?case=abc", "statusCode": 200}},
    {"type": "deprecation", "url": "https://childsafe.example.com/", "body": {"id": "x"}},
]


def post(client, body, kind="application/csp-report", **kwargs):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/csp-report", content=data, headers={"content-type": kind}, **kwargs)


def test_every_page_names_the_endpoint(client):
    for path in ("/login", "/report", "/api/v1/agencies", "/no-such-page"):
        r = client.get(path)
        assert r.headers["content-security-policy"].endswith("; report-uri /csp-report"), path


def test_legacy_report_is_counted_and_logged_without_secrets(app, client, caplog):
    caplog.set_level(logging.WARNING, logger="childsafe.web.csp")
    r = post(client, LEGACY)
    assert r.status_code == 204 and r.content == b""
    counted = violations_of(app)
    assert counted.total == 1 and counted.by_directive == {"script-src-elem": 1}
    violation = counted.recent[-1]
    assert violation.page == "/report/status/:token" and violation.blocked == "inline"
    logged = caplog.text
    assert "csp violation: script-src-elem blocked inline on /report/status/:token" in logged
    assert "Zk3xQ9" not in logged and "secret" not in logged and "lang=" not in logged


def test_reporting_api_batch_counts_csp_reports_only(app, client, caplog):
    caplog.set_level(logging.WARNING, logger="childsafe.web.csp")
    assert post(client, BATCH, "application/reports+json").status_code == 204
    counted = violations_of(app)
    assert counted.total == 1 and counted.by_directive == {"img-src": 1}
    assert counted.recent[-1].blocked == "https://tracker.example.com"
    assert "pixel" not in caplog.text and "tab=notes" not in caplog.text


def test_hostile_reports_are_bounded_in_the_log(app, client, caplog):
    caplog.set_level(logging.WARNING, logger="childsafe.web.csp")
    body = {"csp-report": {"document-uri": "/x\n" + "<script>" * 500,
                           "effective-directive": "script-src\r\nINJECTED: 1",
                           "blocked-uri": "javascript:alert(1)"}}
    assert post(client, body).status_code == 204
    v = violations_of(app).recent[-1]
    assert v.directive == "unknown" and v.blocked == "javascript"
    assert len(v.page) <= 200 and "\n" not in v.page and "<" in v.page
    assert "INJECTED" not in caplog.text and "\n" not in caplog.records[-1].getMessage()


@pytest.mark.parametrize(("body", "kind", "status", "code"), [
    (LEGACY, "text/plain", 415, "unsupported_media_type"),
    (b"\xff{", "application/csp-report", 400, "bad_request"),
    ({"not": "a report"}, "application/csp-report", 422, "invalid_input"),
    ([{"type": "csp-violation"}] * (csp_report.MAX_REPORTS + 1), "application/reports+json",
     422, "invalid_input"),
    (b"[" + b"0," * csp_report.MAX_BODY_BYTES + b"0]", "application/reports+json", 413,
     "too_large"),
])
def test_refusals_are_problems(app, client, body, kind, status, code):
    r = post(client, body, kind)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code
    assert violations_of(app).total == 0


def test_a_body_over_the_limit_without_a_length_is_refused(client):
    def chunks():
        yield b'{"csp-report": {"document-uri": "'
        for _ in range(40):
            yield b"a" * 1024
        yield b'"}}'

    r = client.post("/csp-report", content=chunks(),
                    headers={"content-type": "application/csp-report"})
    assert r.status_code == 413


def test_rate_limited_per_client(app, client):
    for _ in range(csp_report.PER_CLIENT_PER_MINUTE):
        assert post(client, LEGACY).status_code == 204
    r = post(client, LEGACY)
    assert r.status_code == 429 and r.headers["retry-after"] == "60"
    assert violations_of(app).total == csp_report.PER_CLIENT_PER_MINUTE


def test_documented_in_the_api_schema(app):
    op = app.openapi()["paths"]["/csp-report"]["post"]
    assert set(op["requestBody"]["content"]) == {"application/csp-report",
                                                 "application/reports+json"}
    assert {"204", "400", "413", "415", "422", "429"} <= set(op["responses"])
