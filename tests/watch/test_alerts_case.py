"""Opening a case from an alert: routed to the alert's agency, triaged, the conversation as
immutable evidence whose hashes are those taken at ingestion."""

import hashlib
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from childsafe.core.errors import Conflict, NotFound
from childsafe.reports import intake
from childsafe.store import accounts, cases
from childsafe.store.models import CaseRow
from childsafe.store.report_models import EvidenceRow, ReportRow
from childsafe.store.watch_models import AlertFeedbackRow, AlertRow
from childsafe.watch import alert_cases
from tests.watch.alert_factory import ADULT, CHILD, WatchFactory

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def watch(db, keyring):
    return WatchFactory(db, keyring)


def _principal(db, make_officer, username, agency="UK-NCA-CEOP"):
    make_officer(username, agency=agency)
    with db.transaction() as s:
        return accounts.principal_for(s, accounts.get_user(s, username))


def test_case_carries_the_conversation_with_its_hashes(db, keyring, watch, make_officer):
    officer = _principal(db, make_officer, "ceop.case")
    made = watch.alert()
    with db.transaction() as s:
        case_id = alert_cases.open_case(s, keyring, officer, made.id, NOW).id
    with db.transaction() as s:
        case = cases.get_case(s, officer, case_id)
        assert case.source == "watch_alert" and case.priority == "P2"
        assert case.triage and case.sla_due_at is not None
        assert made.reference in case.title
        (report,) = s.scalars(select(ReportRow).where(ReportRow.case_id == case_id))
        assert (report.channel, report.category, report.provider_id) == \
            ("watch", "grooming", made.provider_id)
        (evidence,) = s.scalars(select(EvidenceRow).where(EvidenceRow.report_id == report.id))
        data = intake.read_evidence(keyring, evidence)  # re-checks the hash at receipt
        alert = s.get(AlertRow, made.id)
        assert alert.case_id == case_id and alert.state == "actioned"
        assert s.scalar(select(AlertFeedbackRow.reason)) == "case_opened"
        reporter = intake.read_reporter(keyring, report)
    assert evidence.kind == "conversation" and evidence.source == "watch"
    assert evidence.sha256 == hashlib.sha256(data).hexdigest()
    assert evidence.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()
    capture = json.loads(data)
    assert [m[3] for m in capture["messages"]] == made.texts
    assert [m[4] for m in capture["messages"]] == made.hashes  # each message's ingest hash
    assert [hashlib.sha256(m[3].encode()).hexdigest() for m in capture["messages"]] == made.hashes
    assert capture["room_id"] == made.room_external_id
    roles = {p[0]: (p[2], p[3]) for p in capture["participants"]}
    assert roles == {ADULT: (31, "reported"), CHILD: (13, "other")}
    assert evidence.meta["messages"] == len(made.texts) and evidence.meta["alert"] == made.reference
    assert "Ceop.Case" in reporter["name"]


def test_once_per_alert_and_only_for_the_agency(db, keyring, watch, make_officer):
    officer = _principal(db, make_officer, "ceop.once")
    us = _principal(db, make_officer, "hsi.case", agency="US-DHS-HSI")
    made = watch.alert()
    with pytest.raises(NotFound), db.transaction() as s:
        alert_cases.open_case(s, keyring, us, made.id, NOW)
    with db.transaction() as s:
        first = alert_cases.open_case(s, keyring, officer, made.id, NOW).reference
    with pytest.raises(Conflict, match=first), db.transaction() as s:
        alert_cases.open_case(s, keyring, officer, made.id, NOW)
    with db.transaction() as s:
        assert len(list(s.scalars(select(CaseRow)))) == 1


def test_a_repeat_author_raises_the_second_case(db, keyring, watch, make_officer):
    officer = _principal(db, make_officer, "ceop.rep")
    provider = watch.provider("ExampleChat")
    one, two = watch.alert(provider_id=provider), watch.alert(provider_id=provider)
    key = b"k" * 32
    with db.transaction() as s:
        alert_cases.open_case(s, keyring, officer, one.id, NOW, suspect_key=key)
    with db.transaction() as s:
        second = alert_cases.open_case(s, keyring, officer, two.id, NOW, suspect_key=key)
        assert second.priority == "P1"
        assert any("already named" in r for r in second.triage["reasons"])
