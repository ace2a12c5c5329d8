"""Pooling in the console: a match shows only agency + count; the other agency decides."""

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from childsafe.ratelimit import MemoryRateLimiter
from childsafe.reports import catalog, intake
from childsafe.reports.core import engine
from childsafe.reports.core.identity import parse_reporter
from childsafe.store.report_models import ReportRow
from tests.helpers import csrf_from
from tests.reports.conftest import Factories as F
from tests.web.conftest import login


def _file(db, settings, country, suspect="shared_suspect"):
    ctx = intake.IntakeContext(settings.keyring, settings.verification_key,
                               "https://childsafe.example.com", MemoryRateLimiter())
    result = engine.evaluate(catalog.load_flow(), F.answers(country=country, suspect=suspect),
                             "en", now=F.now, routing=catalog.load_routing())
    with db.transaction() as s:
        receipt = intake.submit_report(
            s, ctx, result=result, evidence=[], channel=intake.Channel.WEB, now=F.now,
            reporter=parse_reporter({"name": "P", "phone": "+1 202 555 0147", "country": country,
                                     "age_band": "18_plus", "relationship": "parent_carer"}))
    with db.transaction() as s:
        return s.scalar(select(ReportRow.case_id).where(ReportRow.id == receipt.report_id))


def test_match_request_approve(client, app, clock, logged_in, make_officer, db, settings):
    clock.now = F.now
    ours = _file(db, settings, "GB")
    theirs = _file(db, settings, "US")
    _file(db, settings, "US", suspect="someone_else")
    logged_in("ceop.pool", roles="supervisor")
    page = client.get(f"/cases/{ours}")
    assert "Also reported to <strong>US-DHS-HSI</strong>: 1 case(s)" in page.text
    assert theirs not in page.text  # never the other case
    r = client.post(f"/cases/{ours}/sharing-request",
                    data={"csrf": csrf_from(page.text), "agency": "US-DHS-HSI",
                          "reason": "same suspect, child in GB"}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get(f"/cases/{theirs}").status_code == 404
    hsi = TestClient(app, base_url="https://testserver")
    login(hsi, clock, make_officer("hsi.sup", agency="US-DHS-HSI", roles="supervisor"))
    inbox = hsi.get("/sharing")
    assert "same suspect, child in GB" in inbox.text
    request_id = re.search(r'action="/sharing/(\d+)/approve"', inbox.text).group(1)
    hsi.post(f"/sharing/{request_id}/approve", data={"csrf": csrf_from(inbox.text)})
    assert client.get(f"/cases/{theirs}").status_code == 200


def test_third_agency_sees_nothing(client, clock, logged_in, db, settings):
    clock.now = F.now
    _file(db, settings, "GB")
    _file(db, settings, "US")
    logged_in("au.officer", agency="AU-AFP-ACCCE", roles="supervisor")
    assert "Also reported" not in client.get("/sharing").text
    assert client.get("/api/v1/cases").json() == []
