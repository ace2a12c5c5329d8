"""Intake on both stores: verification gate, immediate bypass, evidence at rest, dedup, purge."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from childsafe.core.errors import InvalidInput
from childsafe.mail import MemorySender
from childsafe.ratelimit import MemoryRateLimiter
from childsafe.reports import catalog, intake
from childsafe.reports.core import engine
from childsafe.reports.core.evidence.conversation import parse_conversation
from childsafe.reports.core.evidence.files import receive_file
from childsafe.reports.core.evidence.text import accept_pasted_text
from childsafe.reports.core.identity import parse_reporter
from childsafe.store import audit
from childsafe.store.models import CaseRow
from childsafe.store.report_models import EvidenceRow, ReportRow
from childsafe.worker import default_handlers, drain_once

HOSTILE = "<script>alert('x')</script> hi\u202e\r\n  are you alone?  "


@pytest.fixture
def ctx(settings):
    return intake.IntakeContext(settings.keyring, settings.verification_key,
                                "https://childsafe.example.com", MemoryRateLimiter(),
                                per_ip_per_hour=3, per_contact_per_day=3)


def _result(f, **overrides):
    flow = catalog.load_flow()
    return engine.evaluate(flow, f.answers(**overrides), "en", now=f.now,
                           routing=catalog.load_routing())


def _reporter(email="parent@example.com", phone=None, country="GB"):
    raw = {"name": "Pat Parent", "country": country, "age_band": "18_plus",
           "relationship": "parent_carer"}
    if email:
        raw["email"] = email
    if phone:
        raw["phone"] = phone
    return parse_reporter(raw)


def _submit(db, ctx, f, *, reporter=None, evidence=None, ip="192.0.2.10", **answers):
    with db.transaction() as s:
        return intake.submit_report(
            s, ctx, result=_result(f, **answers), reporter=reporter or _reporter(),
            evidence=evidence if evidence is not None else [accept_pasted_text(HOSTILE)],
            channel=intake.Channel.WEB, now=f.now, ip=ip)


def _mail_code(db, settings):
    sender = MemorySender()
    drain_once(db, default_handlers(sender), keyring=settings.keyring)
    mail = sender.outbox[-1][0]
    code = [w for w in mail.body.split() if w.isdigit() and len(w) == 6][0]
    link = [w for w in mail.body.split() if "/report/verify/" in w][0]
    return mail, code, link


def test_waits_for_email_verification_then_reaches_officers(db, ctx, settings, f):
    receipt = _submit(db, ctx, f)
    assert receipt.state == intake.ReportState.AWAITING_VERIFICATION
    assert receipt.agency_code == "UK-NCA-CEOP" and receipt.reference.startswith("R-")
    with db.transaction() as s:
        assert s.scalar(select(CaseRow)) is None
        row = s.get(ReportRow, receipt.report_id)
        assert b"Pat Parent" not in row.reporter_enc
        assert intake.read_reporter(settings.keyring, row)["name"] == "Pat Parent"
    mail, code, _link = _mail_code(db, settings)
    assert mail.to == "parent@example.com" and receipt.reference in mail.subject
    with db.transaction() as s:
        assert intake.verify_with_code(s, ctx, receipt.status_token, "000000" if code != "000000"
                                       else "111111", f.now).value == "wrong"
    with db.transaction() as s:
        assert intake.verify_with_code(s, ctx, receipt.status_token, code, f.now).value == \
            "verified"
    with db.transaction() as s:
        row = s.get(ReportRow, receipt.report_id)
        assert row.state == "with_officers" and row.case_id
        assert s.get(CaseRow, row.case_id).agency_id == row.agency_id


def test_link_verification(db, ctx, settings, f):
    receipt = _submit(db, ctx, f)
    _mail, _code, link = _mail_code(db, settings)
    report_id, token = link.rsplit("/", 2)[-2:]
    with db.transaction() as s:
        assert intake.verify_with_link(s, ctx, report_id, token, f.now).value == "verified"
    with db.transaction() as s:
        assert s.get(ReportRow, receipt.report_id).state == "with_officers"


def test_immediate_report_reaches_officers_at_once_as_p1(db, ctx, f):
    receipt = _submit(db, ctx, f, danger="yes")
    assert receipt.immediate and receipt.state == intake.ReportState.WITH_OFFICERS
    with db.transaction() as s:
        row = s.get(ReportRow, receipt.report_id)
        assert s.get(CaseRow, row.case_id).priority == "P1"


def test_routing_by_country_with_interpol_fallback(db, ctx, f):
    assert _submit(db, ctx, f, country="US").agency_code == "US-DHS-HSI"
    assert _submit(db, ctx, f, country="FR", ip="192.0.2.11").agency_code == "INT-INTERPOL"


def test_evidence_byte_exact_encrypted_and_immutable(db, ctx, settings, f):
    png = f.png()
    upload = intake.FileUpload(receive_file(png, received_at=f.now, client_name="../../x.png"),
                               png)
    capture = parse_conversation(f.conversation(), now=f.now)
    receipt = _submit(db, ctx, f, evidence=[accept_pasted_text(HOSTILE), upload, capture])
    with db.transaction() as s:
        rows = s.scalars(select(EvidenceRow).where(EvidenceRow.report_id == receipt.report_id)
                         .order_by(EvidenceRow.kind)).all()
        by_kind = {r.kind: r for r in rows}
        assert intake.read_evidence(settings.keyring, by_kind["text"]) == HOSTILE.encode()
        assert intake.read_evidence(settings.keyring, by_kind["file"]) == png
        assert HOSTILE.encode() not in by_kind["text"].blob_enc
        assert by_kind["file"].server_name.endswith(".png") and "/" not in by_kind["file"].server_name
        assert by_kind["conversation"].meta["room_id"] == "room-42"
        assert len(by_kind["file"].md5) == 32
    with pytest.raises((DBAPIError, IntegrityError)), db.engine.begin() as conn:
        conn.execute(text("UPDATE evidence SET size = 1"))


def test_duplicate_within_24h_is_linked_not_new_case(db, ctx, settings, f):
    capture = parse_conversation(f.conversation(), now=f.now)
    first = _submit(db, ctx, f, danger="yes", evidence=[capture])
    second = _submit(db, ctx, f, danger="yes", evidence=[capture], ip="192.0.2.12",
                     reporter=_reporter("other@example.com"))
    assert second.duplicate_of == first.report_id
    with db.transaction() as s:
        a, b = s.get(ReportRow, first.report_id), s.get(ReportRow, second.report_id)
        assert a.case_id == b.case_id
        assert len(s.scalars(select(CaseRow)).all()) == 1


def test_out_of_scope_and_too_much_evidence_leave_nothing(db, ctx, f):
    with pytest.raises(InvalidInput), db.transaction() as s:
        intake.submit_report(s, ctx, result=_result(f, what="spam", cues=None), reporter=_reporter(),
                             evidence=[], channel=intake.Channel.WEB, now=f.now)
    with pytest.raises(InvalidInput), db.transaction() as s:
        intake.submit_report(s, ctx, result=_result(f), reporter=_reporter(),
                             evidence=[accept_pasted_text("x")] * 21,
                             channel=intake.Channel.WEB, now=f.now)
    with db.transaction() as s:
        assert s.scalar(select(ReportRow)) is None


def test_rate_limits_per_ip_and_contact(db, ctx, f):
    for _ in range(3):
        _submit(db, ctx, f, ip="192.0.2.50", reporter=_reporter(f"p{_}@example.com"))
    with pytest.raises(intake.RateLimited):
        _submit(db, ctx, f, ip="192.0.2.50", reporter=_reporter("new@example.com"))
    for i in range(3):
        try:
            _submit(db, ctx, f, ip=f"192.0.2.{60 + i}", reporter=_reporter("same@example.com"))
        except intake.RateLimited:
            pytest.fail("limit hit too early")
    with pytest.raises(intake.RateLimited):
        _submit(db, ctx, f, ip="192.0.2.70", reporter=_reporter("same@example.com"))


def test_unverified_reports_purged_after_72h(db, ctx, f):
    receipt = _submit(db, ctx, f)
    verified_later = _submit(db, ctx, f, danger="yes", ip="192.0.2.13")
    with db.transaction() as s:
        assert intake.purge_unverified(s, f.now + timedelta(hours=71)) == 0
    with db.transaction() as s:
        assert intake.purge_unverified(s, f.now + timedelta(hours=72, seconds=1)) == 1
    with db.transaction() as s:
        assert s.get(ReportRow, receipt.report_id) is None
        assert s.get(ReportRow, verified_later.report_id) is not None
        assert s.scalar(select(EvidenceRow).where(EvidenceRow.report_id == receipt.report_id)) \
            is None
        assert audit.verify(s).ok


def test_phone_only_reporter_goes_to_officers_unverified(db, ctx, f):
    receipt = _submit(db, ctx, f, reporter=_reporter(email=None, phone="020 7946 0018"))
    assert receipt.state == intake.ReportState.WITH_OFFICERS and not receipt.needs_verification


def test_add_evidence_later(db, ctx, settings, f):
    receipt = _submit(db, ctx, f, danger="yes")
    with db.transaction() as s:
        report = intake.report_by_status_token(s, receipt.status_token)
        rows = intake.add_evidence(s, ctx, report, [accept_pasted_text("later message")],
                                   now=f.now, source="reporter")
        assert rows[0].sha256
    with db.transaction() as s:
        assert len(s.scalars(select(EvidenceRow).where(
            EvidenceRow.report_id == receipt.report_id)).all()) == 2
