"""Report hand-off over HTTP on both stores: a provider files a conversation and the prefill,
the reporter's browser (a client without JavaScript) opens the single-use link, answers the
questions and sends; the report carries the conversation (hashed at receipt) and the provider.

Synthetic, non-explicit material only: grooming *cues* in plain words, reserved names.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from childsafe.core.crypto import key_id, open_sealed
from childsafe.reports.core.evidence.conversation import parse_conversation
from childsafe.reports.intake import read_evidence, read_reporter
from childsafe.store import encrypted, providers
from childsafe.store.audit import recent
from childsafe.store.handoff_models import ReportHandoffRow, payload_aad
from childsafe.store.report_models import EvidenceRow, ReportRow
from tests.reports.conftest import Factories as F

ANSWERS = ("no", "young_person", "GB", "contact", ["asked_age", "asked_secret"], "Chatty",
           "2026-11-20", "sam_99")


@pytest.fixture
def provider_key(db):
    with db.transaction() as s:
        p = providers.create_provider(s, "ExampleChat")
        key = providers.issue_key(s, p, ["provider:report:write"]).plaintext
        rooms_only = providers.issue_key(s, p, ["provider:room:write"]).plaintext
        return key, rooms_only, p.id


@pytest.fixture
def auth(provider_key):
    return {"authorization": f"Bearer {provider_key[0]}"}


def handoff_body(**over: Any) -> dict[str, Any]:
    body = {"conversation": F.conversation(),
            "reporter": {"name": "Kim Young", "email": "kim@example.com", "country": "GB",
                         "age_band": "13_15", "relationship": "self"},
            "language": "en", "audience": "young_person", "room_title": "Teen lounge"}
    body.update(over)
    return body


def field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} field"
    return html.unescape(match.group(1))


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def heading(page: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert match
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


class Browser:
    """A reporter's browser without JavaScript, posting each page's own csrf and state."""

    def __init__(self, client: TestClient, url: str) -> None:
        self.client = client
        self.page = client.get(path_of(url))

    def answer(self, value: Any) -> Any:
        self.page = self.client.post("/report", data={
            "csrf": field(self.page.text, "csrf"), "state": field(self.page.text, "state"),
            "q": field(self.page.text, "q"), "action": "next", "answer": value})
        assert self.page.status_code == 200, text_of(self.page.text)[:600]
        return self.page

    def details(self, **values: str) -> Any:
        self.page = self.client.post("/report/details", data={
            "csrf": field(self.page.text, "csrf"), "state": field(self.page.text, "state"),
            "action": "next", **values})
        return self.page

    def send(self, text: str = "") -> Any:
        self.page = self.client.post(
            "/report/evidence", data={"csrf": field(self.page.text, "csrf"),
                                      "state": field(self.page.text, "state"),
                                      "action": "send", "text": text},
            files=[("files", ("", b"", "application/octet-stream"))], follow_redirects=False)
        return self.page


def new_client(app) -> TestClient:
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)


def create(client, auth, **over):
    r = client.post("/api/v1/report-handoffs", json=handoff_body(**over), headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


def test_handoff_to_receipt_attaches_the_conversation_and_the_provider(app, client, auth, db,
                                                                      settings, clock,
                                                                      provider_key):
    out = create(client, auth)
    capture = parse_conversation(F.conversation(), now=clock.now)
    assert out["messages"] == 6 and out["conversation_sha256"] == capture.sha256
    assert out["url"].startswith(settings.base_url + "/report/start/")
    assert out["expires_at"].startswith((clock.now + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    token = out["url"].rsplit("/", 1)[1]
    with db.transaction() as s:
        row = s.scalar(select(ReportHandoffRow))
        assert row.token_digest == hashlib.sha256(token.encode()).hexdigest()
        assert b"how old" not in row.payload_enc and b"Kim" not in row.payload_enc
        assert row.provider_id == provider_key[2]

    with new_client(app) as browser_client:
        b = Browser(browser_client, out["url"])
        page = b.page.text
        assert b.page.status_code == 200, text_of(page)[:500]
        assert heading(page) == "Are you or someone else in danger right now?"
        assert "The conversation from ExampleChat is attached (6 messages)" in text_of(page)
        assert b.page.headers["referrer-policy"] == "no-referrer"
        b.answer("no")
        assert 'value="young_person" checked' in b.page.text  # preselected, still asked
        b.answer("young_person")
        assert 'value="GB" selected' in b.page.text
        for value in ANSWERS[2:]:
            b.answer(value)
        assert heading(b.page.text) == "About you"
        assert 'value="Kim Young"' in b.page.text and 'value="kim@example.com"' in b.page.text
        # The reporter corrects the prefilled name.
        b.details(name="Kim Y. Young", email="kim@example.com", phone="", country="GB",
                  age_band="13_15", relationship="self")
        assert heading(b.page.text) == "The messages", text_of(b.page.text)[:600]
        assert "is attached (6 messages)" in text_of(b.page.text)
        r = b.send("they also said: don't tell your parents")
        assert r.status_code == 303, text_of(r.text)[:800]
        receipt = browser_client.get(r.headers["location"])
        assert heading(receipt.text) == "Your report has been sent"

        again = browser_client.get(path_of(out["url"]))
        assert again.status_code == 410 and "already been sent" in text_of(again.text)

    with db.transaction() as s:
        report = s.scalar(select(ReportRow))
        assert report.provider_id == provider_key[2] and report.channel == "embed"
        assert read_reporter(settings.keyring, report)["name"] == "Kim Y. Young"
        rows = {r.kind: r for r in s.scalars(select(EvidenceRow))}
        conv = rows["conversation"]
        assert conv.sha256 == capture.sha256
        data = read_evidence(settings.keyring, conv)
        assert hashlib.md5(data).hexdigest() == conv.md5 and data == capture.canonical_json()
        assert conv.meta["platform"] == "chatty.test" and conv.meta["messages"] == 6
        assert read_evidence(settings.keyring, rows["text"]) == b"they also said: don't tell your parents"
        row = s.scalar(select(ReportHandoffRow))
        assert row.used_at is not None and row.report_id == report.id and row.payload_enc is None
        actions = [e.action for e in recent(s, limit=50)]
    assert {"report_handoff.create", "report_handoff.open", "report_handoff.use",
            "report.receive"} <= set(actions)


def test_handoff_language_and_french_notice(app, client, auth):
    out = create(client, auth, language="fr", audience="parent_carer")
    with new_client(app) as c:
        page = c.get(path_of(out["url"]))
        assert '<html lang="fr">' in page.text
        assert "La conversation de ExampleChat est jointe (6 messages)" in text_of(page.text)


def test_the_link_works_in_one_browser_only_and_may_be_reopened_there(app, client, auth):
    out = create(client, auth)
    with new_client(app) as first, new_client(app) as second:
        assert first.get(path_of(out["url"])).status_code == 200
        assert first.get(path_of(out["url"])).status_code == 200  # a reload
        other = second.get(path_of(out["url"]))
        assert other.status_code == 409 and "opened in another browser" in text_of(other.text)
        assert "Make a report" in other.text and "<script" not in other.text


def test_unknown_and_expired_links_show_a_friendly_page(app, client, auth, clock, db):
    with new_client(app) as c:
        unknown = c.get("/report/start/not-a-real-token")
        assert unknown.status_code == 404 and "does not work" in text_of(unknown.text)
        too_long = c.get("/report/start/" + "x" * 300)
        assert too_long.status_code == 404
    out = create(client, auth)
    clock.advance(minutes=31)
    with new_client(app) as c:
        late = c.get(path_of(out["url"]))
        assert late.status_code == 410 and "has expired" in text_of(late.text)
        assert late.headers["content-type"].startswith("text/html")
    # the next hand-off of the provider wipes the expired capture
    create(client, auth)
    with db.transaction() as s:
        rows = list(s.scalars(select(ReportHandoffRow).order_by(ReportHandoffRow.created_at)))
        assert rows[0].payload_enc is None and rows[1].payload_enc is not None
        denied = [e for e in recent(s, limit=20) if e.action == "report_handoff.open"]
        assert denied and denied[0].outcome == "denied"


def test_an_opened_link_lapses_if_the_report_is_not_sent_in_time(app, client, auth, clock):
    out = create(client, auth)
    with new_client(app) as c:
        b = Browser(c, out["url"])
        for value in ANSWERS:
            b.answer(value)
        b.details(name="Kim Young", email="kim@example.com", phone="", country="GB",
                  age_band="13_15", relationship="self")
        clock.advance(hours=7)
        r = b.send("")
        assert r.status_code == 409 and "could not be attached" in text_of(r.text)
        r = b.send("sending without the app's conversation")  # the state no longer carries it
        assert r.status_code == 303


def test_invalid_capture_names_the_field(client, auth):
    capture = F.conversation()
    capture["messages"][2]["sender"] = "nobody"
    r = client.post("/api/v1/report-handoffs", json=handoff_body(conversation=capture),
                    headers=auth)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [{"field": "messages[2].sender",
                                   "message": "The sender is not one of the participants."}]
    future = F.conversation()
    future["messages"][0]["sent_at"] = "2099-01-01T00:00:00Z"
    r = client.post("/api/v1/report-handoffs", json=handoff_body(conversation=future),
                    headers=auth)
    assert r.status_code == 422 and r.json()["code"] == "future_timestamp"


def test_invalid_prefill_lists_every_field(client, auth):
    r = client.post("/api/v1/report-handoffs", headers=auth, json=handoff_body(reporter={
        "email": "not-an-email", "country": "Atlantis", "age_band": "ancient", "shoe": "42"}))
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"reporter.email", "reporter.country", "reporter.age_band", "reporter.shoe"}
    r = client.post("/api/v1/report-handoffs", headers=auth,
                    json=handoff_body(audience="wizard"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "audience"


def test_keys_and_scopes(client, provider_key):
    r = client.post("/api/v1/report-handoffs", json=handoff_body())
    assert r.status_code == 401
    r = client.post("/api/v1/report-handoffs", json=handoff_body(),
                    headers={"authorization": "Bearer csk_nope_nope"})
    assert r.status_code == 401 and r.json()["code"] == "authentication_failed"
    r = client.post("/api/v1/report-handoffs", json=handoff_body(),
                    headers={"authorization": f"Bearer {provider_key[1]}"})
    assert r.status_code == 403 and "provider:report:write" in r.json()["detail"]


def test_rate_limited_per_provider_with_retry_after(app, client, auth, db):
    app.state.handoffs_per_provider_per_hour = 2
    create(client, auth)
    create(client, auth)
    r = client.post("/api/v1/report-handoffs", json=handoff_body(), headers=auth)
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= 3600
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ReportHandoffRow)) == 2


def test_key_rotation_rewraps_a_waiting_handoff(client, auth, db, keyring):
    create(client, auth)
    ring = keyring.with_new_key()
    with db.transaction() as s:
        assert encrypted.rewrap_all(s, ring) >= 1
        row = s.scalar(select(ReportHandoffRow))
        assert key_id(row.payload_enc) == ring.active
        doc = json.loads(open_sealed(ring, row.payload_enc, payload_aad(row.id)))
    assert doc["reporter"]["name"] == "Kim Young" and len(doc["conversation"]["messages"]) == 6


def test_openapi_documents_the_handoff_with_examples(client):
    spec = client.get("/api/openapi.json").json()
    op = spec["paths"]["/api/v1/report-handoffs"]["post"]
    assert {"201", "401", "403", "422", "429"} <= set(op["responses"])
    schema = spec["components"]["schemas"]["HandoffIn"]
    assert schema["examples"][0]["conversation"]["messages"]
    assert "/report/start/{token}" not in spec["paths"]
