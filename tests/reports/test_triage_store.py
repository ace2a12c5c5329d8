"""Triage wired into intake on both stores: priority, reasons, SLA clock, suspect history."""

from datetime import timedelta

import pytest

from childsafe.ratelimit import MemoryRateLimiter
from childsafe.reports import catalog, intake
from childsafe.reports.core import engine
from childsafe.reports.core.evidence.conversation import parse_conversation
from childsafe.reports.core.identity import parse_reporter
from childsafe.store.models import CaseRow
from childsafe.store.report_models import ReportRow, SuspectKeyRow


@pytest.fixture
def ctx(settings):
    return intake.IntakeContext(settings.keyring, settings.verification_key,
                                "https://childsafe.example.com", MemoryRateLimiter())


def file(db, ctx, f, *, reporter_age="13_15", relationship="self", conversation=None,
         **answers):
    result = engine.evaluate(catalog.load_flow(), f.answers(**answers), "en", now=f.now,
                             routing=catalog.load_routing())
    reporter = parse_reporter({"name": "Kim", "phone": "020 7946 0018", "country": "GB",
                               "age_band": reporter_age, "relationship": relationship})
    evidence = [parse_conversation(conversation, now=f.now)] if conversation else []
    with db.transaction() as s:
        receipt = intake.submit_report(s, ctx, result=result, reporter=reporter,
                                       evidence=evidence, channel=intake.Channel.API,
                                       now=f.now)
    with db.transaction() as s:
        report = s.get(ReportRow, receipt.report_id)
        return report, s.get(CaseRow, report.case_id)


def test_meeting_tomorrow_is_p1_with_reasons(db, ctx, f):
    meeting = (f.now + timedelta(days=1)).date().isoformat()
    _, case = file(db, ctx, f, cues=["asked_age", "asked_meet"], meeting="yes",
                   meeting_when=meeting)
    assert case.priority == "P1"
    assert any("meeting arranged" in r for r in case.triage["reasons"])
    assert case.triage["version"] == "triage@1"
    assert case.sla_due_at - case.created_at == timedelta(minutes=15)


def test_young_reporter_raises_priority(db, ctx, f):
    _, older = file(db, ctx, f, reporter_age="16_17")
    _, younger = file(db, ctx, f, reporter_age="under_13", suspect="other_user")
    assert older.priority == "P2" and younger.priority == "P1"
    assert "victim aged under 13" in younger.triage["reasons"]


def test_declared_age_in_capture_counts(db, ctx, f):
    _, case = file(db, ctx, f, reporter_age="18_plus", relationship="parent_carer",
                   conversation=f.conversation())
    assert case.priority == "P1" and "victim aged 12" in case.triage["reasons"]


def test_repeat_suspect_raises_and_is_stored_hashed(db, ctx, f):
    _, first = file(db, ctx, f, reporter_age="16_17", suspect="Sam_99")
    _, second = file(db, ctx, f, reporter_age="16_17", suspect="@sam_99")
    assert first.priority == "P2" and second.priority == "P1"
    assert any("1 other case" in r for r in second.triage["reasons"])
    with db.transaction() as s:
        keys = [k.key for k in s.query(SuspectKeyRow).all()]
    assert keys and all("sam" not in k for k in keys) and len(set(keys)) == 1


def test_case_page_explains_priority(app_client_for_case):
    text = app_client_for_case
    assert "P1 because:" in text and "meeting arranged for" in text


@pytest.fixture
def app_client_for_case(db, ctx, f, settings, make_officer, clock):
    from fastapi.testclient import TestClient

    from childsafe.web.app import create_app
    from tests.web.conftest import login

    meeting = (f.now + timedelta(days=1)).date().isoformat()
    clock.now = f.now
    _, case = file(db, ctx, f, cues=["asked_age", "asked_meet"], meeting="yes",
                   meeting_when=meeting)
    app = create_app(settings, db)
    app.state.clock = clock
    with TestClient(app, base_url="https://testserver") as client:
        login(client, clock, make_officer("ceop.triage"))
        return client.get(f"/cases/{case.id}").text
