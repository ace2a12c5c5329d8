"""The provider kit in Chromium: a chat app's server hands a conversation to the report form
with the SDK, its page opens the link in a new tab, the reporter answers and sends, and the
report carries the conversation (hashed at receipt) and the provider; and `badge.js` renders
the monitored badge on the provider's own origin under a strict CSP.

The provider's page is served by Playwright at http://localhost:PORT (another origin than the
platform's http://127.0.0.1:PORT). Synthetic, non-explicit material only.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from childsafe.reports.intake import read_evidence, read_reporter
from childsafe.sdk import CapturedMessage, Client, Conversation, Participant
from childsafe.store.report_models import EvidenceRow, ReportRow
from tests.browser.test_report_wizard import axe_check, choose, cont, h1, pick, text
from tests.sdk.platform import platform  # noqa: F401 - the running platform (module scope)

pytestmark = pytest.mark.browser

LINES = [("u-77", "hi, how old are you?"), ("u-4821", "13"),
         ("u-77", "are you alone right now?"), ("u-77", "let's keep this chat our secret ok"),
         ("u-77", "i can send you a gift card if you add me on another app")]


def capture() -> Conversation:
    start = datetime.now(UTC) - timedelta(hours=1)
    return Conversation("examplechat.test", "teen-lounge-3",
                        [Participant("u-4821", "Kim", 13, "reporter"),
                         Participant("u-77", "sam_99", role="reported")],
                        [CapturedMessage(f"m-{i}", who, start + timedelta(minutes=i), line)
                         for i, (who, line) in enumerate(LINES)])


def provider_origin(platform_url: str) -> str:  # noqa: F811
    return platform_url.replace("127.0.0.1", "localhost")


def test_report_button_hands_the_conversation_to_the_form_in_a_new_tab(platform, browser):  # noqa: F811
    # The chat app's server, when the user presses "Report abuse":
    with Client(platform.url, api_key=platform.key) as client:
        handoff = client.reports.handoff(
            conversation=capture(), language="en", audience="young_person",
            reporter={"name": "Kim Young", "email": "kim@example.com", "country": "GB",
                      "age_band": "13_15", "relationship": "self"})
    chat_page = provider_origin(platform.url) + "/chat"
    host = ('<!doctype html><html lang="en"><head><title>ExampleChat</title></head><body><main>'
            '<h1>Teen lounge</h1>'
            f'<a id="report" href="{handoff.url}" target="_blank" rel="noopener">Report abuse</a>'
            '</main></body></html>')
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.route(chat_page, lambda route: route.fulfill(status=200, content_type="text/html",
                                                          body=host))
        page.goto(chat_page)
        with context.expect_page() as opened:
            page.get_by_role("link", name="Report abuse").click()
        tab = opened.value
        tab.set_default_timeout(15_000)
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.wait_for_load_state()
        assert h1(tab) == "Are you or someone else in danger right now?"
        notice = tab.locator("#handoff-notice")
        assert notice.inner_text().startswith(
            "The conversation from ExampleChat is attached (5 messages).")
        axe_check(tab, "hand-off start")
        choose(tab, "No")
        assert tab.get_by_label("I am a child or young person (under 18)",
                                exact=True).is_checked()  # preselected by the app, still asked
        cont(tab)
        assert tab.locator("select[name=answer]").input_value() == "GB"
        cont(tab)
        choose(tab, "Someone online said or asked things that worried me")
        pick(tab, "Asked how old you are", "Asked me to keep our chats secret")
        text(tab, "ExampleChat")
        tab.locator("input[name=answer]").fill("2026-01-05")
        cont(tab)
        text(tab, "sam_99")
        assert h1(tab) == "About you"
        name = tab.get_by_label("Your name")
        assert name.input_value() == "Kim Young"  # prefilled, and the reporter may change it
        assert tab.locator("#f-email").input_value() == "kim@example.com"
        name.fill("Kim Y. Young")
        cont(tab)
        assert h1(tab) == "The messages"
        assert "attached (5 messages)" in tab.locator("#handoff-notice").inner_text()
        axe_check(tab, "hand-off evidence")
        cont(tab, "Send my report")
        assert h1(tab) == "Your report has been sent"
        reference = tab.locator("#reference").inner_text()
        tab.goto(handoff.url)  # the link is single use
        assert h1(tab) == "This report has already been sent"
        axe_check(tab, "hand-off used")
        assert not [e for e in errors if "Content Security Policy" in e]
    finally:
        context.close()

    with platform.db.transaction() as s:
        report = s.scalar(select(ReportRow).where(ReportRow.reference == reference))
        assert report.provider_id == platform.provider_id
        assert read_reporter(platform.keyring, report)["name"] == "Kim Y. Young"
        (conv,) = s.scalars(select(EvidenceRow).where(EvidenceRow.report_id == report.id,
                                                      EvidenceRow.kind == "conversation"))
        data = read_evidence(platform.keyring, conv)
    assert conv.sha256 == handoff.conversation_sha256 == hashlib.sha256(data).hexdigest()
    assert conv.md5 == hashlib.md5(data).hexdigest()
    assert [m[3] for m in json.loads(data)["messages"]] == [line for _, line in LINES]


def test_badge_js_on_a_provider_page_under_a_strict_csp(platform, browser):  # noqa: F811
    with Client(platform.url, api_key=platform.key) as client:
        watched = client.rooms.register("badge-teen", "Teen lounge", audience="teen",
                                        language="en", region="GB")
        later = client.rooms.register("badge-music", "Music fans", audience="general",
                                      language="en", region="GB")
    platform.monitor(watched.id)
    script = f"{platform.url}/static/badge.js"
    csp = (f"default-src 'none'; script-src {platform.url}; connect-src {platform.url}; "
           "style-src 'none'; img-src 'none'")
    host = ('<!doctype html><html lang="en"><head><title>ExampleChat rooms</title></head>'
            '<body><main><h1>Rooms</h1>'
            '<section><h2>Teen lounge</h2>'
            f'<script src="{script}" data-room="{watched.id}" data-lang="en" data-version="1" '
            'defer></script></section>'
            '<section><h2>Music fans</h2><div id="music-badge"></div>'
            f'<script src="{script}" data-room="{later.id}" data-target="#music-badge" '
            'data-lang="fr" defer></script></section>'
            f'<script src="{script}" data-room="rm_{"0" * 24}" defer></script>'
            f'<script src="{script}" data-room="{watched.id}" data-version="2" defer></script>'
            '</main></body></html>')
    rooms_page = provider_origin(platform.url) + "/rooms"
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        messages: list[tuple[str, str]] = []
        page.on("console", lambda m: messages.append((m.type, m.text)))
        page.route(rooms_page, lambda route: route.fulfill(
            status=200, content_type="text/html", body=host,
            headers={"content-security-policy": csp}))
        page.goto(rooms_page)
        teen = page.locator(f"#childsafe-badge-{watched.id}")
        expect(teen).to_have_attribute("data-state", "monitored")
        assert teen.get_attribute("role") == "status"
        assert teen.get_attribute("aria-label").startswith("Monitored by police. ")
        assert "By: National Crime Agency" in teen.inner_text()
        assert teen.locator("svg").count() == 1
        link = teen.get_by_role("link")
        assert link.get_attribute("target") == "_blank" and "/report/tips" in link.get_attribute(
            "href")
        assert page.evaluate("window.ChildsafeBadge.version") == "1.0.0"

        music = page.locator(f"#music-badge #childsafe-badge-{later.id}")
        expect(music).to_have_attribute("data-state", "not_monitored")
        assert music.get_attribute("lang") == "fr" and "Non surveillé" in music.inner_text()
        assert music.locator("svg").count() == 0

        unknown = page.locator(f"#childsafe-badge-rm_{'0' * 24}")
        expect(unknown).to_have_attribute("data-state", "gone")
        assert not unknown.is_visible()
        assert page.locator(f"[id='childsafe-badge-{watched.id}']").count() == 1  # v2 refused
        assert any(kind == "warning" and "contract 2" in msg for kind, msg in messages)

        platform.monitor(later.id)  # an agency starts monitoring: the next refresh shows it
        page.evaluate("window.ChildsafeBadge.refreshAll()")
        expect(music).to_have_attribute("data-state", "monitored")
        assert music.get_attribute("aria-label").startswith("Surveillé par la police")
        axe_check(page, "badge on a provider page")
        assert not [m for kind, m in messages if kind == "error"
                    and "Content Security Policy" in m]
    finally:
        context.close()
