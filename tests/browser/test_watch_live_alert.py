"""An alert appears live on the console of the agency on duty, in Chromium, through the real
path: the provider posts messages to the ingestion API, the server's own Watch consumer
scores them and routes the alert. No reload; never on another agency's console; no script
from the chat text runs on the alert page."""

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from childsafe.store.watch_models import AlertRow
from tests.browser.conftest import log_in
from tests.browser.test_report_wizard import axe_check
from tests.watch import stream_factory as sf
from tests.watch.alert_factory import ADULT, GROOMING_CHAT

pytestmark = pytest.mark.browser

HOSTILE = ('<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> '
           "are you home alone?")
HOSTILE_SEQ = 5


def _watching(page, live_server, officer):
    log_in(page, live_server.url, officer)
    page.get_by_role("link", name="Alerts").click()
    page.wait_for_url(re.compile(r"/console/watch/alerts$"))
    page.evaluate("window.__sameDocument = true")


def _post_chat(live_server, key, room_id, lines, prefix):
    at = datetime.now(UTC) - timedelta(minutes=5)
    r = httpx.post(f"{live_server.url}/api/v1/rooms/{room_id}/messages",
                   json={"messages": sf.chat(lines, prefix=prefix, at=at)},
                   headers={"authorization": f"Bearer {key}"}, timeout=10)
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == len(lines)


def _alert_of(live_server, room_id):
    with live_server.db.transaction() as s:
        return s.scalar(select(AlertRow.reference).where(AlertRow.room_id == room_id))


@pytest.fixture
def other(browser):
    """A second officer's browser (its own cookies); closed even if the test fails, so no
    live stream keeps the server from stopping."""
    context = browser.new_context()
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


def test_alert_appears_live_for_its_agency_only(live_server, page, other):
    db = live_server.db
    provider_id, key = sf.provider(db)
    ours = sf.room(db, provider_id, monitors=("UK-NCA-CEOP",))
    theirs = sf.room(db, provider_id, monitors=("US-DHS-HSI",), region="US")
    sf.shift(db, "UK-NCA-CEOP", 0, 0)  # on duty around the clock
    sf.shift(db, "US-DHS-HSI", 0, 0)
    _watching(page, live_server, live_server.officers("ceop.watch"))
    _watching(other, live_server, live_server.officers("hsi.watch", agency="US-DHS-HSI"))
    assert "No alerts match." in page.content() and "No alerts match." in other.content()

    lines = [*GROOMING_CHAT[:HOSTILE_SEQ - 1], (ADULT, 31, HOSTILE), *GROOMING_CHAT[4:]]
    _post_chat(live_server, key, ours, lines, "uk")
    page.locator("#alerts tbody tr").first.wait_for()
    reference = _alert_of(live_server, ours)
    assert reference and reference in page.locator("#alerts tbody").inner_text()
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert page.get_by_role("status").inner_text().startswith("Alerts updated: 1 active")

    _post_chat(live_server, key, theirs, GROOMING_CHAT, "us")  # the other console moves on...
    other.locator("#alerts tbody tr").first.wait_for()
    their_reference = _alert_of(live_server, theirs)
    assert their_reference in other.locator("#alerts tbody").inner_text()
    assert other.evaluate("window.__sameDocument") is True
    assert reference not in other.content()  # ...and never shows ours, nor we theirs
    assert their_reference not in page.content()
    other.goto("about:blank")

    page.get_by_role("link", name=reference).click()
    page.wait_for_url(re.compile(r"/console/watch/alerts/"))
    text = page.locator(f"#msg-{HOSTILE_SEQ} .text")
    assert text.inner_text().startswith('<img src=x onerror="window.__pwned=1"><script>')
    assert page.evaluate("window.__pwned") is None
    assert page.locator(f"#msg-{HOSTILE_SEQ} img, #msg-{HOSTILE_SEQ} script").count() == 0
    assert page.locator(f"#msg-{HOSTILE_SEQ} mark.cue").inner_text() == "are you home alone"
    assert page.locator("svg.risk-chart polyline").count() == 1
    axe_check(page, "alert page")
    page.get_by_role("button", name="Acknowledge").click()
    assert page.locator("#alert-state").inner_text().startswith("acknowledged by Ceop.Watch")
    assert not [e for e in page.console_errors if "Content Security Policy" in e]
