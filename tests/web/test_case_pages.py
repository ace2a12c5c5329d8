"""Case work in the console: claim, notes, advice to the reporter, escalation, close, evidence."""

import re

import pytest
from sqlalchemy import select

from childsafe.ratelimit import MemoryRateLimiter
from childsafe.reports import catalog, intake
from childsafe.reports.core import engine
from childsafe.reports.core.evidence.conversation import parse_conversation
from childsafe.reports.core.evidence.files import receive_file
from childsafe.reports.core.evidence.text import accept_pasted_text
from childsafe.reports.core.identity import parse_reporter
from childsafe.store import cases
from childsafe.store.case_models import PoliceStationRow
from childsafe.store.models import AuditRow, CaseRow
from childsafe.store.report_models import ReportRow, ReportUpdateRow
from tests.helpers import csrf_from
from tests.reports.conftest import Factories as F

XSS = "<script>window.__x=1</script>are you alone?"


@pytest.fixture
def filed(db, settings, clock):
    """A verified-contact-free (phone) report with text, a capture and an image: a P1 case."""
    clock.now = F.now
    ctx = intake.IntakeContext(settings.keyring, settings.verification_key,
                               "https://childsafe.example.com", MemoryRateLimiter())
    result = engine.evaluate(catalog.load_flow(), F.answers(danger="yes"), "en", now=F.now,
                             routing=catalog.load_routing())
    png = F.png()
    evidence = [accept_pasted_text(XSS), parse_conversation(F.conversation(), now=F.now),
                intake.FileUpload(receive_file(png, received_at=F.now, client_name="s.png"), png)]
    with db.transaction() as s:
        receipt = intake.submit_report(
            s, ctx, result=result, channel=intake.Channel.WEB, now=F.now, evidence=evidence,
            reporter=parse_reporter({"name": "Kim", "phone": "020 7946 0018", "country": "GB",
                                     "age_band": "13_15", "relationship": "self"}))
        s.add(PoliceStationRow(country="GB", name="Example Town Police", region="Test",
                               email="desk@police.example", phone="+44 20 7946 0000",
                               address="1 Example Road"))
    with db.transaction() as s:
        report = s.get(ReportRow, receipt.report_id)
        return report.case_id, receipt, png


def test_case_page_shows_everything_escaped_and_blurred(client, logged_in, filed):
    case_id, _receipt, _png = filed
    logged_in("ceop.case1")
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert "&lt;script&gt;window.__x=1&lt;/script&gt;" in page.text and "<script>window" not in page.text
    assert 'class="evidence-image"' in page.text and "Reveal image" in page.text
    assert "keep this chat our secret" in page.text  # transcript
    assert "P1 because:" in page.text


def test_evidence_view_checks_hash_and_is_audited(client, logged_in, filed, db):
    case_id, _receipt, png = filed
    logged_in("ceop.case2")
    src = re.search(r'src="(/cases/[^"]+/evidence/[^"]+)"', client.get(f"/cases/{case_id}").text)
    r = client.get(src.group(1))
    assert r.status_code == 200 and r.content == png
    assert r.headers["content-type"] == "image/png"
    assert "sandbox" in r.headers["content-security-policy"]
    with db.transaction() as s:
        assert s.scalar(select(AuditRow).where(AuditRow.action == "evidence.view")) is not None


def test_other_agency_gets_404_on_case_and_evidence(client, logged_in, filed):
    case_id, _receipt, _png = filed
    logged_in("hsi.case", agency="US-DHS-HSI")
    assert client.get(f"/cases/{case_id}").status_code == 404
    assert client.get(f"/cases/{case_id}/evidence/anything").status_code == 404
    assert client.get(f"/api/v1/cases/{case_id}").status_code == 404
    token = csrf_from(client.get("/").text)
    assert client.post(f"/cases/{case_id}/claim", data={"csrf": token}).status_code == 404


def test_claim_advise_escalate_close(client, logged_in, filed, db):
    case_id, receipt, _png = filed
    logged_in("ceop.case3")
    token = csrf_from(client.get(f"/cases/{case_id}").text)
    assert client.post(f"/cases/{case_id}/claim", data={"csrf": token},
                       follow_redirects=False).status_code == 303
    page = client.get(f"/cases/{case_id}?template=keep_safe_grooming")
    assert "Ceop.Case3 until" in page.text and "You are not in trouble" in page.text
    r = client.post(f"/cases/{case_id}/advise", data={"csrf": token, "advice": "Stop replying."},
                    follow_redirects=False)
    assert r.status_code == 303
    status = client.get(receipt.status_path)
    assert "Stop replying." in status.text
    with db.transaction() as s:
        station = s.scalar(select(PoliceStationRow))
    r = client.post(f"/cases/{case_id}/escalate",
                    data={"csrf": token, "station": station.id, "reason": "meeting today"},
                    follow_redirects=False)
    assert r.status_code == 303
    referral = client.get(f"/cases/{case_id}/referral")
    assert referral.status_code == 200 and "SHA-256" in referral.text
    client.post(f"/cases/{case_id}/note", data={"csrf": token, "note": "called the school"})
    r = client.post(f"/cases/{case_id}/close", data={"csrf": token, "outcome": "referred_police"},
                    follow_redirects=False)
    assert r.status_code == 303
    with db.transaction() as s:
        case = s.get(CaseRow, case_id)
        assert case.status == "closed" and case.outcome == "referred_police"
        actions = [a.action for a in s.scalars(select(AuditRow).where(
            AuditRow.object_id == case_id, AuditRow.actor == "ceop.case3"))]
        assert {"case.claim", "case.advise", "case.escalate", "case.export", "case.note",
                "case.close"} <= set(actions)
        assert s.scalar(select(ReportUpdateRow).where(ReportUpdateRow.kind == "advice")).body \
            == "Stop replying."
    page = client.get(f"/cases/{case_id}")
    assert "called the school" in page.text and "case.close" in page.text


def test_bad_actions_show_inline_errors(client, logged_in, filed):
    case_id, _receipt, _png = filed
    logged_in("ceop.case4")
    token = csrf_from(client.get(f"/cases/{case_id}").text)
    r = client.post(f"/cases/{case_id}/advise", data={"csrf": token, "advice": "  "})
    assert r.status_code == 422 and 'role="alert"' in r.text
    r = client.post(f"/cases/{case_id}/close", data={"csrf": token, "outcome": "bogus"})
    assert r.status_code == 422
    r = client.post(f"/cases/{case_id}/escalate", data={"csrf": token, "station": 999999,
                                                        "reason": "x"})
    assert r.status_code == 422


def test_claim_conflict_and_queue_order(client, app, clock, logged_in, make_officer, filed, db):
    from fastapi.testclient import TestClient

    from tests.web.conftest import login
    case_id, _receipt, _png = filed
    logged_in("ceop.case5")
    token = csrf_from(client.get("/").text)
    client.post(f"/cases/{case_id}/claim", data={"csrf": token})
    other = TestClient(app, base_url="https://testserver")
    login(other, clock, make_officer("ceop.case6"))
    r = other.post(f"/cases/{case_id}/claim", data={"csrf": csrf_from(other.get("/").text)})
    assert r.status_code == 409 and "Another officer" in r.text
    with db.transaction() as s:
        from childsafe.store import agencies
        cases.create_case(s, agency=agencies.get_by_code(s, "UK-NCA-CEOP"), title="later P3",
                          priority="P3")
    queue = client.get("/").text
    assert queue.index("P1") < queue.index("later P3")
    assert re.search(r"\d+ (min|h|d)[^<]* (left|over)", queue)


def test_supervisor_bulk_assign(client, logged_in, make_officer, filed, db):
    case_id, _receipt, _png = filed
    logged_in("ceop.sup", roles="supervisor")
    target = make_officer("ceop.worker")
    token = csrf_from(client.get("/").text)
    r = client.post("/cases/bulk-assign", data={"csrf": token, "case_ids": [case_id],
                                                "officer": target.id}, follow_redirects=False)
    assert r.status_code == 303
    with db.transaction() as s:
        assert s.get(CaseRow, case_id).assigned_to == target.id


def test_supervisor_shares_then_transfers(client, app, clock, logged_in, make_officer, filed, db):
    from fastapi.testclient import TestClient

    from tests.web.conftest import login
    case_id, _receipt, _png = filed
    logged_in("ceop.sup2", roles="supervisor")
    token = csrf_from(client.get(f"/cases/{case_id}").text)
    hsi = TestClient(app, base_url="https://testserver")
    login(hsi, clock, make_officer("hsi.reader", agency="US-DHS-HSI"))
    assert hsi.get(f"/cases/{case_id}").status_code == 404
    r = client.post(f"/cases/{case_id}/transfer", data={"csrf": token, "agency": "US-DHS-HSI",
                                                        "mode": "share", "reason": ""})
    assert r.status_code == 422
    client.post(f"/cases/{case_id}/transfer", data={"csrf": token, "agency": "US-DHS-HSI",
                                                    "mode": "share", "reason": "suspect in US"})
    page = hsi.get(f"/cases/{case_id}")
    assert page.status_code == 200 and "Claim" not in page.text  # read-only for them
    client.post(f"/cases/{case_id}/transfer", data={"csrf": token, "agency": "AU-AFP-ACCCE",
                                                    "mode": "transfer", "reason": "child in AU"})
    assert client.get(f"/cases/{case_id}").status_code == 404
    with db.transaction() as s:
        case = s.get(CaseRow, case_id)
        from childsafe.store.models import AgencyRow
        assert s.get(AgencyRow, case.agency_id).code == "AU-AFP-ACCCE"
        details = [a.detail for a in s.scalars(select(AuditRow).where(
            AuditRow.action.in_(["case.share", "case.transfer"])))]
    assert {"to": "AU-AFP-ACCCE", "reason": "child in AU"} in details


def test_officer_cannot_transfer(client, logged_in, filed):
    case_id, _receipt, _png = filed
    logged_in("ceop.plain2")
    token = csrf_from(client.get(f"/cases/{case_id}").text)
    r = client.post(f"/cases/{case_id}/transfer", data={"csrf": token, "agency": "US-DHS-HSI",
                                                        "mode": "transfer", "reason": "x"})
    assert r.status_code == 403
