"""An alert appears live on the console of the agency on duty, in Chromium: no reload, never
on another agency's console, and no script from the chat text runs on the alert page."""

import re

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_report_wizard import axe_check
from tests.watch.alert_factory import ADULT, GROOMING_CHAT, WatchFactory

pytestmark = pytest.mark.browser

HOSTILE = ('<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> '
           "are you home alone?")


def _watching(page, live_server, officer):
    log_in(page, live_server.url, officer)
    page.get_by_role("link", name="Alerts").click()
    page.wait_for_url(re.compile(r"/console/watch/alerts$"))
    page.evaluate("window.__sameDocument = true")


def test_alert_appears_live_for_its_agency_only(live_server, browser, page):
    watch = WatchFactory(live_server.db, live_server.officers.keyring)
    first = watch.alert(title="Homework help")
    _watching(page, live_server, live_server.officers("ceop.watch"))
    assert first.reference in page.locator("#alerts tbody").inner_text()
    other = browser.new_context().new_page()
    other.set_default_timeout(15_000)
    _watching(other, live_server, live_server.officers("hsi.watch", agency="US-DHS-HSI"))
    assert "No alerts match." in other.content()

    lines = [*GROOMING_CHAT[:4], (ADULT, 31, HOSTILE), *GROOMING_CHAT[4:]]
    arrived = watch.alert(lines=lines, title="Drawing club", out_of_hours=True)
    page.locator("#alerts tbody", has_text=arrived.reference).wait_for()
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert page.get_by_role("status").inner_text().startswith("Alerts updated: 2 active")
    assert page.locator("#alerts tbody tr").count() == 2
    row = page.locator("#alerts tbody tr").first
    assert arrived.reference in row.inner_text() and "out of hours" in row.inner_text()

    theirs = watch.alert("US-DHS-HSI", title="Gaming lobby")  # the other console moves on...
    other.locator("#alerts tbody", has_text=theirs.reference).wait_for()
    assert other.evaluate("window.__sameDocument") is True
    assert arrived.reference not in other.content() and first.reference not in other.content()
    assert theirs.reference not in page.content()  # ...and never shows ours, nor we theirs
    other.context.close()

    row.get_by_role("link", name=arrived.reference).click()
    page.wait_for_url(re.compile(r"/console/watch/alerts/"))
    text = page.locator("#msg-5 .text")
    assert text.inner_text().startswith('<img src=x onerror="window.__pwned=1"><script>')
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#msg-5 img, #msg-5 script").count() == 0
    assert page.locator("#msg-5 mark.cue").inner_text() == "are you home alone"
    assert page.locator("svg.risk-chart polyline").count() == 1
    axe_check(page, "alert page")
    page.get_by_role("button", name="Acknowledge").click()
    assert page.locator("#alert-state").inner_text().startswith("acknowledged by Ceop.Watch")
    assert not [e for e in page.console_errors if "Content Security Policy" in e]
