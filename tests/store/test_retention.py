"""Retention on both stores, driven by the clock: each rule deletes what is due and nothing
else, a legal hold keeps a case, a dry run deletes nothing, every deletion is audited
(ids and counts, no content) and the audit chain still verifies."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from childsafe.cli.main import app
from childsafe.core.errors import InvalidInput, NotFound, PermissionDenied
from childsafe.store import accounts, audit, casework, retention
from childsafe.store.backup import store_counts
from childsafe.store.models import AuditRow, CaseNoteRow, CaseRow, CaseShareRow
from childsafe.store.report_models import EvidenceRow, ReportRow
from childsafe.store.watch_models import AlertRow, WatchMessageRow
from childsafe.worker import housekeeping
from tests.store.store_factory import quiet_conversation, submit
from tests.watch.alert_factory import WatchFactory

DAY = timedelta(days=1)
POLICY = retention.RetentionPolicy.of_days(365, 30)


def _audit(db, action):
    with db.reading() as s:
        return list(s.scalars(select(AuditRow).where(AuditRow.action == action)
                              .order_by(AuditRow.seq)))


def _chain_ok(db):
    with db.reading() as s:
        report = audit.verify(s)
    assert report.ok, report.reason
    return report.checked


def _closed(db, settings, make_officer, clock, outcome="no_further_action", **kw):
    """A case with two reports' worth of evidence, a note and a share, closed at clock.now."""
    sup = kw.pop("sup", None) or make_officer(roles="supervisor")
    _, case_id = submit(db, settings, clock.now, files=2, **kw)
    with db.transaction() as s:
        who = accounts.principal_for(s, accounts.get_user(s, sup.username))
        casework.add_note(s, who, case_id, "spoke to the reporter", clock.now)
        casework.share(s, who, case_id, "US-DHS-HSI", "suspect may be in the US", clock.now)
        casework.close(s, who, case_id, outcome, clock.now)
    return case_id, sup


def _exists(db, row_type, key):
    with db.reading() as s:
        return s.get(row_type, key) is not None


def _evidence_of(db, case_id):
    with db.reading() as s:
        return list(s.scalars(select(EvidenceRow.id).join(ReportRow).where(
            ReportRow.case_id == case_id)))


def test_unverified_reports_go_after_72_hours(db, settings, clock):
    report_id, case_id = submit(db, settings, clock.now, verified=False)
    kept_id, _ = submit(db, settings, clock.now)  # verified at once: never purged
    assert case_id is None
    with db.reading() as s:
        evidence = list(s.scalars(select(EvidenceRow.id).where(EvidenceRow.report_id == report_id)))
    assert len(evidence) == 3
    done = retention.run(db, clock.now + timedelta(hours=71, minutes=59), POLICY)
    assert done.unverified_reports == [] and _exists(db, ReportRow, report_id)

    done = retention.run(db, clock.now + timedelta(hours=72, seconds=1), POLICY)
    assert done.unverified_reports == [report_id] and done.unverified_evidence == 3
    assert not _exists(db, ReportRow, report_id) and _exists(db, ReportRow, kept_id)
    assert not any(_exists(db, EvidenceRow, e) for e in evidence)
    [entry] = _audit(db, "report.purge_unverified")
    assert entry.detail["reports"] == [report_id] and entry.detail["count"] == 1
    assert entry.detail["evidence"] == 3 and entry.actor == "retention"
    assert "Kim" not in json.dumps(entry.detail) and "secret" not in json.dumps(entry.detail)
    _chain_ok(db)


def test_closed_unfounded_cases_go_after_the_period_with_everything_of_theirs(
        db, settings, make_officer, clock):
    case_id, sup = _closed(db, settings, make_officer, clock)
    malicious, _ = _closed(db, settings, make_officer, clock, outcome="malicious", sup=sup)
    founded, _ = _closed(db, settings, make_officer, clock, outcome="referred_police", sup=sup)
    _, open_case = submit(db, settings, clock.now)
    evidence = _evidence_of(db, case_id)
    assert len(evidence) == 4

    done = retention.run(db, clock.now + 364 * DAY, POLICY)
    assert done.cases == [] and _exists(db, CaseRow, case_id)

    done = retention.run(db, clock.now + 366 * DAY, POLICY)
    assert sorted(c.id for c in done.cases) == sorted([case_id, malicious])
    for gone in (case_id, malicious):
        assert not _exists(db, CaseRow, gone)
        with db.reading() as s:
            assert s.scalar(select(func.count()).select_from(ReportRow)
                            .where(ReportRow.case_id == gone)) == 0
            assert s.scalar(select(func.count()).select_from(CaseNoteRow)
                            .where(CaseNoteRow.case_id == gone)) == 0
            assert s.scalar(select(func.count()).select_from(CaseShareRow)
                            .where(CaseShareRow.case_id == gone)) == 0
    assert not any(_exists(db, EvidenceRow, e) for e in evidence)
    for kept in (founded, open_case):
        assert _exists(db, CaseRow, kept) and _evidence_of(db, kept)

    entries = _audit(db, "case.retention_delete")
    assert sorted(e.object_id for e in entries) == sorted([case_id, malicious])
    entry = next(e for e in entries if e.object_id == case_id)
    assert entry.detail["rule"] == "closed_unfounded" and entry.detail["evidence"] == 4
    assert entry.detail["outcome"] == "no_further_action" and len(entry.detail["reports"]) == 1
    assert entry.agency == "UK-NCA-CEOP"
    assert "spoke to" not in json.dumps(entry.detail)
    _chain_ok(db)


def test_later_activity_restarts_the_clock(db, settings, make_officer, clock):
    case_id, sup = _closed(db, settings, make_officer, clock)
    with db.transaction() as s:
        who = accounts.principal_for(s, accounts.get_user(s, sup.username))
        casework.share(s, who, case_id, "AU-AFP-ACCCE", "asked by the AFP",
                       clock.now + 200 * DAY)
    assert retention.run(db, clock.now + 366 * DAY, POLICY).cases == []
    assert [c.id for c in retention.run(db, clock.now + 566 * DAY, POLICY).cases] == [case_id]


def test_legal_hold_keeps_a_case_until_lifted(db, settings, make_officer, clock):
    case_id, sup = _closed(db, settings, make_officer, clock)
    officer = make_officer()
    other_sup = make_officer(roles="supervisor", agency="US-DHS-HSI")
    with db.transaction() as s:
        case = retention.find_case(s, s.get(CaseRow, case_id).reference.lower())
        for who in (officer, other_sup):
            principal = accounts.principal_for(s, accounts.get_user(s, who.username))
            with pytest.raises(PermissionDenied, match="supervisor"):
                retention.set_legal_hold(s, case, True, "order 12", clock.now, by=principal)
        with pytest.raises(InvalidInput, match="reason"):
            retention.set_legal_hold(s, case, True, "  ", clock.now)
        principal = accounts.principal_for(s, accounts.get_user(s, sup.username))
        assert retention.set_legal_hold(s, case, True, "Court order 2027/114", clock.now,
                                        by=principal)
        assert not retention.set_legal_hold(s, case, True, "again", clock.now, by=principal)
    with db.transaction() as s, pytest.raises(NotFound):
        retention.find_case(s, "CS-NOPE-NOPE")

    for years in (2, 5, 10):
        done = retention.run(db, clock.now + years * 366 * DAY, POLICY)
        assert done.cases == [] and [c.id for c in done.held] == [case_id]
        assert done.held[0].hold_reason == "Court order 2027/114"
        assert _exists(db, CaseRow, case_id) and len(_evidence_of(db, case_id)) == 4
    assert len(_audit(db, "retention.kept_on_hold")) == 1  # logged once, not every run

    with db.transaction() as s:
        case = s.get(CaseRow, case_id)
        assert case.legal_hold and case.legal_hold_by == sup.username
        retention.set_legal_hold(s, case, False, "Order discharged", clock.now)
    done = retention.run(db, clock.now + 3700 * DAY, POLICY)
    assert [c.id for c in done.cases] == [case_id] and not _exists(db, CaseRow, case_id)
    placed, = _audit(db, "case.legal_hold")
    lifted, = _audit(db, "case.legal_hold_lifted")
    assert placed.actor == sup.username and placed.detail["reason"] == "Court order 2027/114"
    assert placed.object_id == case_id and lifted.actor == "cli"
    _chain_ok(db)


def test_watched_messages_without_alert_go_after_30_days(db, settings, clock):
    watch = WatchFactory(db, settings.keyring)
    provider_id = watch.provider()
    base = clock.now
    old_conv, _ = quiet_conversation(db, settings.keyring, provider_id, received=base,
                                     messages=5, scored=3)  # 4 and 5 not yet scored
    recent_conv, _ = quiet_conversation(db, settings.keyring, provider_id,
                                        received=base + 20 * DAY)
    alerted = watch.alert("UK-NCA-CEOP", provider_id=provider_id)
    with db.reading() as s:
        alert_msgs = s.scalar(select(func.count()).select_from(WatchMessageRow).where(
            WatchMessageRow.conversation_id == alerted.conversation_id))
    assert alert_msgs == 10

    assert retention.run(db, base + 29 * DAY, POLICY).watch_messages == {}
    far = max(base, _latest_receipt(db)) + 45 * DAY
    done = retention.run(db, far, POLICY)
    assert done.watch_messages == {old_conv: 3, recent_conv: 4}
    with db.reading() as s:
        left = dict(s.execute(select(WatchMessageRow.conversation_id, func.count())
                              .group_by(WatchMessageRow.conversation_id)).all())
        assert s.get(AlertRow, alerted.id) is not None
    assert left == {old_conv: 2, alerted.conversation_id: 10}
    [entry] = _audit(db, "watch.retention_delete")
    assert entry.detail["count"] == 7 and sorted(entry.detail["conversations"]) == sorted(
        [old_conv, recent_conv])
    _chain_ok(db)


def _latest_receipt(db):
    with db.reading() as s:
        return s.scalar(select(func.max(WatchMessageRow.received_at)))


def test_dry_run_deletes_nothing_and_writes_no_audit(db, settings, make_officer, clock):
    submit(db, settings, clock.now, verified=False)
    case_id, _ = _closed(db, settings, make_officer, clock)
    quiet_conversation(db, settings.keyring, WatchFactory(db, settings.keyring).provider(),
                       received=clock.now)
    before = store_counts(db.url)
    entries = _chain_ok(db)
    plan = retention.run(db, clock.now + 400 * DAY, POLICY, dry_run=True)
    summary = plan.summary()
    assert summary["unverified_reports"] == 1 and summary["unfounded_cases"] == 1
    assert summary["watch_messages"] == 4 and summary["evidence"] == 3 + 4
    assert store_counts(db.url) == before and _chain_ok(db) == entries
    done = retention.run(db, clock.now + 400 * DAY, POLICY)
    assert done.summary() == summary and not _exists(db, CaseRow, case_id)


def test_housekeeping_runs_retention(db, settings, make_officer, clock):
    submit(db, settings, clock.now, verified=False)
    case_id, _ = _closed(db, settings, make_officer, clock)
    short = retention.RetentionPolicy.of_days(10, 30)
    # Every minute: the unverified-report rule only; the others hourly (all_rules).
    assert housekeeping(db, clock.now + 11 * DAY, settings.keyring, short,
                        all_rules=False) == 1
    assert _exists(db, CaseRow, case_id)
    assert housekeeping(db, clock.now + 11 * DAY, settings.keyring, short) == 0
    assert not _exists(db, CaseRow, case_id)
    _chain_ok(db)


def test_cli_retention_and_legal_hold(db, settings, make_officer, clock, monkeypatch):
    """The commands use the real clock: the case is closed well in the past."""
    monkeypatch.setenv("CHILDSAFE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CHILDSAFE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("CHILDSAFE_KEYS", settings.keyring.to_json())
    monkeypatch.setenv("CHILDSAFE_RETENTION_UNFOUNDED_DAYS", "30")
    clock.now = clock.now.replace(year=2001)
    case_id, sup = _closed(db, settings, make_officer, clock)
    with db.reading() as s:
        reference = s.get(CaseRow, case_id).reference
    runner = CliRunner()

    def said(*args):
        r = runner.invoke(app, list(args))
        return r.exit_code, " ".join(r.output.split())

    code, out = said("admin", "legal-hold", reference, "--on", "--reason", "Order 7",
                     "--by", sup.username)
    assert code == 0 and f"Legal hold on for {reference}" in out
    code, out = said("admin", "retention", "--dry-run")
    assert code == 0 and "would delete 0; kept under legal hold 1" in out and "Dry run" in out
    assert reference in out
    code, out = said("admin", "legal-hold", reference, "--off", "--reason", "Order ended")
    assert code == 0
    code, out = said("admin", "retention", "--dry-run")
    assert code == 0 and "would delete 1; kept under legal hold 0" in out
    assert _exists(db, CaseRow, case_id)
    code, out = said("admin", "retention")
    assert code == 0 and "deleted 1" in out and not _exists(db, CaseRow, case_id)
    code, out = said("admin", "legal-hold", "CS-NONE-NONE", "--on", "--reason", "x")
    assert code == 1 and "No case" in out and "Traceback" not in out
    code, out = said("admin", "verify-audit")
    assert code == 0 and "OK" in out
