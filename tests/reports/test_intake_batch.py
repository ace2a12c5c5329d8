"""Reports prepared outside the transaction and written together (the API's group commit)
are stored exactly as one by one: evidence, keys, mail, duplicate links, cases, audit chain."""

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from childsafe.ratelimit import MemoryRateLimiter
from childsafe.reports import catalog, intake
from childsafe.reports.core import engine
from childsafe.reports.core.evidence.conversation import parse_conversation
from childsafe.reports.core.identity import parse_reporter
from childsafe.store import agencies, audit, providers
from childsafe.store.models import CaseRow, OutboxRow
from childsafe.store.report_models import DedupKeyRow, EvidenceRow, ReportRow, SuspectKeyRow
from childsafe.web.app import create_app


@pytest.fixture
def ctx(settings):
    return intake.IntakeContext(settings.keyring, settings.verification_key,
                                "https://childsafe.example.com", MemoryRateLimiter())


def _plan(db, ctx, f, *, capture=None, email="parent@example.com", **answers):
    result = engine.evaluate(catalog.load_flow(), f.answers(**answers), "en", now=f.now,
                             routing=catalog.load_routing())
    raw = {"name": "Pat Parent", "country": "GB", "age_band": "18_plus",
           "relationship": "parent_carer"}
    raw |= {"email": email} if email else {"phone": "020 7946 0018"}
    with db.reading() as s:
        routes = agencies.routes(s)
    return intake.prepare_report(
        ctx, routes, result=result, reporter=parse_reporter(raw),
        evidence=[capture or parse_conversation(f.conversation(), now=f.now)],
        channel=intake.Channel.API, now=f.now)


def _count(s, model):
    return s.scalar(select(func.count()).select_from(model))


def test_a_batch_stores_each_report_whole_with_one_chain(db, ctx, f):
    capture = parse_conversation(f.conversation(), now=f.now)
    plans = [_plan(db, ctx, f, capture=capture),  # an original
             _plan(db, ctx, f, capture=capture),  # same evidence and suspect: a duplicate
             _plan(db, ctx, f, suspect="alex_77", capture=parse_conversation(
                 f.conversation(room_id="room-7"), now=f.now))]
    with db.transaction() as s:
        receipts = intake.write_reports(s, plans)
    assert [r.report_id for r in receipts] == [p.id for p in plans]
    assert receipts[0].duplicate_of is None and receipts[1].duplicate_of == plans[0].id
    assert receipts[2].duplicate_of is None
    assert all(r.needs_verification and len(r.evidence) == 1 for r in receipts)
    with db.reading() as s:
        assert _count(s, ReportRow) == 3 and _count(s, EvidenceRow) == 3
        assert _count(s, OutboxRow) == 3  # one sealed verification mail each
        assert _count(s, DedupKeyRow) == sum(len(p.dedup_keys) for p in plans) > 0
        assert _count(s, SuspectKeyRow) == sum(len(p.suspect_keys) for p in plans) > 0
        row = s.get(ReportRow, plans[1].id)
        assert row.duplicate_of == plans[0].id and row.ver_code_hash and row.expires_at
        entries = list(audit.iter_entries(s))
        assert [e.event.object_id for e in entries if e.event.action == "report.receive"] == \
            [p.id for p in plans]
        assert entries[-2].event.detail["duplicate_of"] == plans[0].id
        assert audit.verify(s).ok


def test_a_batch_links_to_a_report_stored_before(db, ctx, f):
    capture = parse_conversation(f.conversation(), now=f.now)
    with db.transaction() as s:
        first = intake.write_reports(s, [_plan(db, ctx, f, capture=capture)])[0]
    with db.transaction() as s:
        again = intake.write_reports(s, [_plan(db, ctx, f, capture=capture)])[0]
    assert again.duplicate_of == first.report_id


def test_reports_for_officers_get_their_case_in_the_batch(db, ctx, f):
    plans = [_plan(db, ctx, f, danger="yes"), _plan(db, ctx, f, email=None),
             _plan(db, ctx, f)]
    with db.transaction() as s:
        receipts = intake.write_reports(s, plans)
    assert [r.state for r in receipts] == [intake.ReportState.WITH_OFFICERS] * 2 + [
        intake.ReportState.AWAITING_VERIFICATION]
    with db.reading() as s:
        cases = {r.id: r.case_id for r in s.scalars(select(ReportRow))}
        assert cases[plans[0].id] and cases[plans[1].id] and cases[plans[2].id] is None
        assert s.get(CaseRow, cases[plans[0].id]).priority == "P1"
        actions = [(e.event.action, e.event.object_id) for e in audit.iter_entries(s)]
        assert audit.verify(s).ok
    # Each report's own entries stay in order: received, then its case opened and triaged.
    start = actions.index(("report.receive", plans[0].id))
    assert [a for a, _ in actions[start:start + 3]] == ["report.receive", "case.create",
                                                         "case.triage"]


def test_concurrent_api_reports_are_all_durable_and_audited(settings, db, f):
    with db.transaction() as s:
        key = providers.issue_key(s, providers.create_provider(s, "BatchChat"),
                                  ["provider:report:write"]).plaintext
    app = create_app(settings, db)
    app.state.clock = lambda: f.now

    def body(i):
        conversation = f.conversation(room_id=f"room-{i}")
        conversation["participants"][1]["user_id"] = conversation["messages"][0]["sender"]
        return {"answers": f.answers(suspect=f"user{i}"), "conversation": conversation,
                "reporter": {"name": "Kim Young", "email": f"kim{i}@example.com",
                             "country": "GB", "age_band": "13_15", "relationship": "self"}}

    async def file_all():
        transport = httpx.ASGITransport(app=app, client=("192.0.2.1", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            return await asyncio.gather(*(c.post("/api/v1/reports", json=body(i), headers={
                "authorization": f"Bearer {key}"}) for i in range(12)))

    responses = asyncio.run(file_all())
    assert [r.status_code for r in responses] == [201] * 12, responses[0].text
    with db.reading() as s:
        assert _count(s, ReportRow) == 12 and _count(s, EvidenceRow) == 12
        assert {r.json()["reference"] for r in responses} == set(
            s.scalars(select(ReportRow.reference)))
        assert audit.verify(s).ok
