"""An officer takes the top P1 from the queue to advice and police escalation, in Chromium."""

import re

import pytest

from childsafe.config import Settings
from childsafe.ratelimit import MemoryRateLimiter
from childsafe.reports import catalog, intake
from childsafe.reports.core import engine
from childsafe.reports.core.evidence.conversation import parse_conversation
from childsafe.reports.core.evidence.files import receive_file
from childsafe.reports.core.identity import parse_reporter
from childsafe.store.case_models import PoliceStationRow
from childsafe.store.models import utcnow
from tests.browser.conftest import log_in
from tests.reports.conftest import Factories as F

pytestmark = pytest.mark.browser


def _file_p1_report(live_server):
    keyring = live_server.officers.keyring
    settings = Settings(data_dir=live_server.data_dir, keys=keyring.to_json())
    ctx = intake.IntakeContext(keyring, settings.verification_key, live_server.url,
                               MemoryRateLimiter())
    now = utcnow()
    answers = F.answers(danger="yes", when=now.date().isoformat())
    result = engine.evaluate(catalog.load_flow(), answers, "en", now=now,
                             routing=catalog.load_routing())
    png = F.png(32, 32)
    capture = F.conversation()
    capture["messages"] = [m | {"sent_at": f"{now:%Y-%m-%dT%H}:0{i}:00+00:00"}
                           for i, m in enumerate(capture["messages"])]
    with live_server.db.transaction() as s:
        receipt = intake.submit_report(
            s, ctx, result=result, channel=intake.Channel.WEB, now=now,
            evidence=[parse_conversation(capture, now=now),
                      intake.FileUpload(receive_file(png, received_at=now, client_name="x.png"),
                                        png)],
            reporter=parse_reporter({"name": "Kim", "phone": "020 7946 0018", "country": "GB",
                                     "age_band": "13_15", "relationship": "self"}))
        s.add(PoliceStationRow(country="GB", name="Example Town Police", region="Testshire",
                               email="desk@police.example", phone="+44 20 7946 0000",
                               address="1 Example Road"))
    return receipt


def test_officer_claims_p1_reveals_advises_escalates(live_server, page):
    receipt = _file_p1_report(live_server)
    officer = live_server.officers("ceop.duty")
    log_in(page, live_server.url, officer)

    first_row = page.locator("#queue tbody tr").first
    assert "P1" in first_row.inner_text()
    first_row.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/cases/"))
    assert page.get_by_text("P1 because:", exact=False).is_visible()
    page.get_by_role("button", name="Claim").click()
    assert page.locator("#assignee").inner_text().startswith("Ceop.Duty")

    image = page.locator("img.evidence-image").first
    assert "blur" in image.evaluate("e => getComputedStyle(e).filter")
    page.get_by_text("Reveal image").first.click()
    page.wait_for_function("() => getComputedStyle(document.querySelector('img.evidence-image'))"
                           ".filter === 'none'")
    assert image.evaluate("e => e.naturalWidth") == 32

    page.get_by_role("link", name=re.compile("Grooming: stop contact")).click()
    advice = page.get_by_label(re.compile("^Advice"))
    assert "stop replying" in advice.input_value()
    advice.fill("Please stop replying and keep the messages. An officer will call you.")
    page.get_by_role("button", name="Send advice").click()
    assert page.get_by_role("status").is_visible()

    page.get_by_label("Police station").select_option(label="Example Town Police (Testshire)")
    page.get_by_label("Why they need to act").fill("Meeting suggested for today.")
    page.get_by_role("button", name="Escalate to police").click()
    assert "escalated" in page.locator("#status").inner_text()

    reporter = page.context.new_page()
    reporter.goto(live_server.url + receipt.status_path)
    assert reporter.get_by_text("An officer will call you.", exact=False).is_visible()
    reporter.close()


def test_queue_updates_live_without_reload(live_server, page):
    from childsafe.store import agencies, cases

    with live_server.db.transaction() as s:
        cases.create_case(s, agency=agencies.get_by_code(s, "UK-NCA-CEOP"), title="first case",
                          priority="P3")
    log_in(page, live_server.url, live_server.officers("ceop.live"))
    page.wait_for_function("document.getElementById('queue-live').dataset.open === '1'")
    page.evaluate("window.__sameDocument = true")
    with live_server.db.transaction() as s:
        cases.create_case(s, agency=agencies.get_by_code(s, "US-DHS-HSI"), title="not ours",
                          priority="P1")
        cases.create_case(s, agency=agencies.get_by_code(s, "UK-NCA-CEOP"),
                          title="arrived while watching", priority="P1")
    page.locator("#queue tbody", has_text="arrived while watching").wait_for(timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    rows = page.locator("#queue tbody tr")
    assert rows.count() == 2 and "arrived while watching" in rows.first.inner_text()
    assert "not ours" not in page.content()
