"""Provider API: file a report with a captured conversation, add evidence files, errors."""

import pytest
from sqlalchemy import func, select

from childsafe.store import providers
from childsafe.store.report_models import EvidenceRow, ReportRow
from tests.reports.conftest import Factories as F

SCRIPT = "<script>alert(1)</script> are you alone?"


@pytest.fixture
def api_key(db):
    with db.transaction() as s:
        p = providers.create_provider(s, "ExampleChat")
        return providers.issue_key(s, p, ["provider:report:write",
                                          "provider:evidence:write"]).plaintext


@pytest.fixture
def auth(api_key):
    return {"authorization": f"Bearer {api_key}"}


def body(**over):
    doc = {"language": "en", "answers": F.answers(when="2026-11-20"),
           "reporter": {"name": "Kim Young", "email": "kim@example.com", "country": "GB",
                        "age_band": "13_15", "relationship": "self"},
           "conversation": F.conversation(), "pasted_text": SCRIPT}
    doc["conversation"]["messages"] = [
        m | {"sent_at": f"2026-11-20T10:0{i}:00+00:00"}
        for i, m in enumerate(doc["conversation"]["messages"])]
    doc.update(over)
    return doc


def count(db, model):
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_file_report_with_conversation_then_files(client, auth, db):
    r = client.post("/api/v1/reports", json=body(), headers=auth)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["filed"] and out["reference"].startswith("R-")
    assert out["agency"] == "UK-NCA-CEOP" and out["needs_verification"]
    assert out["state"] == "awaiting_verification"
    assert {e["kind"] for e in out["evidence"]} == {"text", "conversation"}
    assert "/report/status/" in out["status_url"]
    ref = out["reference"]
    png = F.png()
    r = client.post(f"/api/v1/reports/{ref}/evidence", headers=auth,
                    files=[("files", ("shot.png", png, "image/png")),
                           ("files", ("notes.txt", b"username sam_99 on 20 Nov", "text/plain"))])
    assert r.status_code == 201, r.text
    import hashlib
    assert r.json()[0]["sha256"] == hashlib.sha256(png).hexdigest()
    state = client.get(f"/api/v1/reports/{ref}", headers=auth).json()
    assert state == {"reference": ref, "state": "awaiting_verification", "immediate": False,
                     "evidence_items": 4}


def test_out_of_scope_is_not_filed(client, auth, db):
    answers = F.answers(what="spam", cues=None, when=None, suspect=None, check="no")
    r = client.post("/api/v1/reports", json=body(answers=answers), headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["filed"] is False and r.json()["classification"]["signposts"]
    assert count(db, ReportRow) == 0


def test_invalid_answers_list_every_problem(client, auth, db):
    r = client.post("/api/v1/reports", json=body(answers={"danger": "maybe", "who": "alien"}),
                    headers=auth)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in r.json()["errors"]}
    assert "danger" in fields
    assert count(db, ReportRow) == 0


def test_bad_reporter_and_bad_evidence_leave_nothing(client, auth, db):
    r = client.post("/api/v1/reports", json=body(reporter={"name": "", "country": "ZZZ"}),
                    headers=auth)
    assert r.status_code == 422 and len(r.json()["errors"]) >= 2
    bad_capture = body()
    bad_capture["conversation"]["messages"][1]["id"] = "m0"  # duplicate id
    r = client.post("/api/v1/reports", json=bad_capture, headers=auth)
    assert r.status_code == 422 and r.json()["code"] == "duplicate_id"
    r = client.post("/api/v1/reports", json=body(pasted_text="x" * 200_001), headers=auth)
    assert r.status_code == 422
    r = client.post("/api/v1/reports", json=body(unknown_field=1), headers=auth)
    assert r.status_code == 422
    assert count(db, ReportRow) == 0 and count(db, EvidenceRow) == 0


def test_evidence_errors_are_specific_and_atomic(client, auth, db):
    ref = client.post("/api/v1/reports", json=body(), headers=auth).json()["reference"]
    before = count(db, EvidenceRow)
    r = client.post(f"/api/v1/reports/{ref}/evidence", headers=auth,
                    files=[("files", ("ok.png", F.png(), "image/png")),
                           ("files", ("evil.exe", b"MZ\x90\x00binary", "image/png"))])
    assert r.status_code == 415 and r.json()["code"] == "unsupported_type"
    r = client.post(f"/api/v1/reports/{ref}/evidence", headers=auth,
                    files=[("files", ("x.png", F.png(), "application/pdf"))])
    assert r.status_code == 415 and r.json()["code"] == "type_mismatch"
    r = client.post(f"/api/v1/reports/{ref}/evidence", headers=auth,
                    files=[("files", ("big.txt", b"a" * (10 * 1024 * 1024 + 2), "text/plain"))])
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    r = client.post(f"/api/v1/reports/{ref}/evidence", headers=auth, data={})
    assert r.status_code == 422
    assert count(db, EvidenceRow) == before


def test_scopes_and_ownership(client, db, auth):
    with db.transaction() as s:
        other = providers.create_provider(s, "OtherChat")
        read_only = providers.issue_key(s, other, ["provider:room:write"]).plaintext
        other_key = providers.issue_key(s, other, ["provider:report:write",
                                                   "provider:evidence:write"]).plaintext
    r = client.post("/api/v1/reports", json=body(),
                    headers={"authorization": f"Bearer {read_only}"})
    assert r.status_code == 403
    ref = client.post("/api/v1/reports", json=body(), headers=auth).json()["reference"]
    r = client.get(f"/api/v1/reports/{ref}", headers={"authorization": f"Bearer {other_key}"})
    assert r.status_code == 404
    assert client.post("/api/v1/reports", json=body()).status_code == 401


def test_immediate_report_goes_straight_to_officers(client, auth):
    r = client.post("/api/v1/reports", json=body(answers=F.answers(danger="yes",
                                                                   when="2026-11-20")),
                    headers=auth)
    out = r.json()
    assert r.status_code == 201 and out["state"] == "with_officers"
    assert out["classification"]["immediate"] and "999" in out["classification"]["emergency"]


def test_flow_questions_for_native_clients(client, auth):
    r = client.get("/api/v1/reports/flow/questions?lang=fr", headers=auth)
    assert r.status_code == 200
    first = r.json()["questions"][0]
    assert first["id"] == "danger" and "danger" in first["text"]
