"""The seed story, end to end in Chromium, with three browsers at once: the chat app
(Chatty, a separate application talking to the platform only through the SDK) and the
platform, each on its own loopback port.

An adult grooms a 13-year-old in a monitored room with non-explicit cues → an alert reaches
the console of the agency on duty → the officer posts a police message into the room and the
child sees it → the child presses Report abuse, answers the questions, the conversation is
attached with hashes → the report is triaged P1 and routed to the child's country's agency →
the officer advises the child and escalates to the local police → the child's status page
shows the advice. A screenshot of each step goes to test-artifacts/story/.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from childsafe.chat.demo import seed_accounts
from childsafe.store.case_models import PoliceStationRow
from childsafe.store.models import AgencyRow, CaseRow, utcnow
from childsafe.store.report_models import EvidenceRow, ReportRow
from tests.browser.conftest import log_in
from tests.browser.test_report_wizard import axe_check, choose, cont, country, h1, pick, text
from tests.chat import live as chat_live

pytestmark = pytest.mark.browser

live_platform = chat_live.live_platform  # fixtures: the platform and the chat beside it
live_chat = chat_live.live_chat
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "story"
ROOM = chat_live.MONITORED
# (who, text): non-explicit grooming cues only (age, flattery, alone, secrecy, another app,
# a gift, a meeting).
CHAT = [
    ("kim", "hi anyone here like drawing?"),
    ("dan", "hey! i love drawing too. how old are you?"),
    ("kim", "13, you?"),
    ("dan", "you seem really mature for your age"),
    ("dan", "are you home alone right now?"),
    ("kim", "yes my mum is at work"),
    ("dan", "don't tell anyone we talk, it's our little secret"),
    ("dan", "add me on snapchat, it is more private"),
    ("dan", "i could buy you a gift card"),
    ("dan", "we should meet up at the park on saturday"),
    ("kim", "ok maybe"),
]
POLICE_TEXT = ("This is the police. We keep this room safe. Never meet someone from the "
               "internet on your own, and use Report abuse if anyone worries you.")
ADVICE = "You did the right thing telling us. Please do not go to the park. An officer will call."


class Shots:
    def __init__(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for old in ARTIFACTS.glob("*.png"):
            old.unlink()
        self.n = 0

    def __call__(self, page: Any, name: str) -> None:
        self.n += 1
        page.screenshot(path=str(ARTIFACTS / f"{self.n:02d}-{name}.png"), full_page=True)


class Worker:
    """The platform's `childsafe worker`: drains the outbox (webhooks to the chat, mail)."""

    def __init__(self, chat: chat_live.LiveChat) -> None:
        self.chat, self.stop = chat, threading.Event()
        self.thread = threading.Thread(target=self.run, name="outbox-worker", daemon=True)
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stop.wait(0.3):
            try:
                self.chat.deliver()
            except Exception as exc:  # noqa: BLE001 - a locked store is retried next round
                self.errors.append(repr(exc))

    def __enter__(self) -> Worker:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


@pytest.fixture
def people(browser) -> Iterator[dict[str, Any]]:
    """Three browsers with their own cookies: the adult, the child, the officer."""
    contexts = {name: browser.new_context(viewport={"width": 1100, "height": 900})
                for name in ("dan", "kim", "officer")}
    pages = {}
    for name, context in contexts.items():
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("console", lambda m, errors=errors: errors.append(m.text)
                if m.type == "error" else None)
        page.console_errors = errors  # type: ignore[attr-defined]
        pages[name] = page
    yield pages
    for context in contexts.values():
        context.close()


def chat_login(page: Any, chat_url: str, username: str, password: str) -> None:
    page.goto(chat_url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(chat_url + "/rooms")


def enter_room(page: Any, chat_url: str) -> None:
    page.goto(f"{chat_url}/rooms/{ROOM}")
    if page.get_by_role("button", name="Join room").count():
        page.get_by_role("button", name="Join room").click()
        page.wait_for_url(f"{chat_url}/rooms/{ROOM}")
    page.wait_for_function("document.body.dataset.live === '1'")


def say(page: Any, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def test_the_seed_story(live_chat, people):
    shots = Shots()
    chat, platform = live_chat, live_chat.platform
    dan, kim, officer_page = people["dan"], people["kim"], people["officer"]
    passwords = {a.username: a.password for a in seed_accounts(chat.store)}
    with platform.db.transaction() as s:
        s.add(PoliceStationRow(country="GB", name="Example Town Police", region="Testshire",
                               email="desk@police.example", phone="+44 20 7946 0000",
                               address="1 Example Road"))
    chat.push_badge(ROOM)  # CEOP monitors the teen lounge: the badge turns "monitored"

    with Worker(chat) as worker:
        # 1. The officer on duty watches the alert queue.
        officer = platform.officers("ceop.duty")
        log_in(officer_page, platform.url, officer)
        officer_page.goto(platform.url + "/console/watch/alerts")
        shots(officer_page, "officer-alert-queue-empty")

        # 2. The child and the adult are in the monitored teen lounge.
        chat_login(kim, chat.url, "kim", passwords["kim"])
        axe_check(kim, "chat lobby")
        chat_login(dan, chat.url, "dan", passwords["dan"])
        enter_room(kim, chat.url)
        enter_room(dan, chat.url)
        badge = kim.locator("#room-badge")
        assert badge.get_attribute("data-state") == "monitored"
        assert "monitored" in badge.locator("img").get_attribute("alt").lower()
        shots(kim, "child-in-monitored-room")

        # 3. The adult works through grooming cues; each message shows live to the other.
        for who, line in CHAT:
            say(dan if who == "dan" else kim, line)
            other = kim if who == "dan" else dan
            other.locator("#messages .msg-user .text", has_text=line).first.wait_for()
        shots(kim, "child-sees-conversation")

        # 4. Within seconds an alert reaches the console of the agency on duty.
        row = officer_page.locator("#alerts tbody tr").first
        row.wait_for()
        shots(officer_page, "officer-alert-arrives")
        row.get_by_role("link").first.click()
        officer_page.wait_for_url(re.compile(r"/console/watch/alerts/"))
        shots(officer_page, "officer-alert-page")

        # 5. The officer posts a police message into the room; the child sees it, marked.
        officer_page.locator("summary", has_text="Police message in the room").click()
        officer_page.get_by_label("Message (shown in the room as from the police)").fill(
            POLICE_TEXT)
        officer_page.get_by_role("button", name="Send: Police message in the room").click()
        officer_page.wait_for_load_state()
        police = kim.locator("#messages .msg-police")
        police.wait_for()
        assert police.locator(".text").inner_text() == POLICE_TEXT
        assert police.locator(".police-label").inner_text().strip().startswith(
            "★ Police message — ")
        shots(kim, "child-sees-police-message")
        axe_check(kim, "chat room with a police message")
        assert not worker.errors, worker.errors

        # 6. The child presses Report abuse: a new tab, the conversation attached.
        kim.get_by_label(re.compile("^Who is it about")).select_option("dan")
        with kim.context.expect_page() as opened:
            kim.locator("#report-abuse").click()
        wizard = opened.value
        wizard.set_default_timeout(20_000)
        wizard.wait_for_load_state()
        assert wizard.url.startswith(platform.url + "/report/")
        notice = wizard.locator("#handoff-notice")
        assert notice.inner_text().startswith(
            f"The conversation from Chatty is attached ({len(CHAT)} messages).")
        shots(wizard, "child-report-tab-conversation-attached")

        # 7. The qualifying questions, in the words for a young person.
        tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
        steps = [
            ("Are you or someone else in danger right now?", lambda: choose(wizard, "No")),
            ("Who", lambda: choose(wizard, "I am a child or young person (under 18)")),
            ("Which country do you live in?", lambda: country(wizard, "GB")),
            ("What is this about?", lambda: choose(
                wizard, "Someone online said or asked things that worried me")),
            ("Did the person do any of these things?", lambda: pick(
                wizard, "Asked how old you are", "Asked me to keep our chats secret",
                "Asked if I was alone, or where my parents were",
                "Asked me to move to a different or private app",
                "Offered me gifts, money or game credits", "Asked to meet me in real life")),
            ("Have they said where or when to meet you?", lambda: choose(wizard, "Yes")),
            ("When is the meeting?", lambda: text(wizard, tomorrow)),
            ("Which app, game or website", lambda: text(wizard, "Chatty")),
            ("When did it happen?", lambda: text(wizard, utcnow().date().isoformat())),
            ("What is the username", lambda: text(wizard, "dan")),
        ]
        for _ in range(20):
            heading = h1(wizard)
            if heading == "About you":
                break
            step = next((do for start, do in steps if heading.startswith(start)), None)
            assert step is not None, heading
            step()
        assert wizard.get_by_label("Your name").input_value() == "Kim"
        assert wizard.locator("#f-email").input_value() == "kim@example.com"
        assert wizard.get_by_label("13 to 15", exact=True).is_checked()
        assert wizard.get_by_label("It is about me", exact=True).is_checked()
        shots(wizard, "child-report-about-you-prefilled")
        cont(wizard)
        assert h1(wizard) == "The messages"
        cont(wizard, "Send my report")
        assert h1(wizard) == "Your report has been sent"
        reference = wizard.locator("#reference").inner_text()
        shots(wizard, "child-report-receipt")

        # 8. The child confirms their email with the mailed code (the worker sends it).
        code = chat_live.wait_for(lambda: mailed_code(chat, "kim@example.com"),
                                  "the verification mail")
        wizard.get_by_label("6-digit code").fill(code)
        cont(wizard, "Confirm")
        assert h1(wizard) == "Thank you, your email is confirmed"
        wizard.get_by_role("link", name="See your report’s status").click()
        wizard.wait_for_load_state()
        status_url = wizard.url
        shots(wizard, "child-status-before-advice")

        # 9. Triaged P1 (a meeting arranged within 72 hours), routed to the child's country's
        #    agency (GB: CEOP); the conversation is evidence with its hashes.
        with platform.db.transaction() as s:
            report = s.scalar(select(ReportRow).where(ReportRow.reference == reference))
            assert report is not None and report.country == "GB" and report.case_id
            assert report.provider_id is not None
            case = s.get(CaseRow, report.case_id)
            assert case.priority == "P1"
            assert s.get(AgencyRow, report.agency_id).code == "UK-NCA-CEOP"
            [capture] = s.scalars(select(EvidenceRow).where(EvidenceRow.report_id == report.id,
                                                            EvidenceRow.kind == "conversation"))
            assert re.fullmatch(r"[0-9a-f]{64}", capture.sha256)
            assert re.fullmatch(r"[0-9a-f]{32}", capture.md5)
            case_reference = case.reference

        # 10. The officer takes the P1 from the queue, advises the child, escalates to police.
        officer_page.goto(platform.url + "/")
        first_row = officer_page.locator("#queue tbody tr").first
        assert "P1" in first_row.inner_text() and case_reference in first_row.inner_text()
        shots(officer_page, "officer-queue-p1")
        first_row.get_by_role("link").click()
        officer_page.wait_for_url(re.compile(r"/cases/"))
        assert officer_page.get_by_text("P1 because:", exact=False).is_visible()
        officer_page.get_by_role("button", name="Claim").click()
        shots(officer_page, "officer-case-with-conversation")
        officer_page.get_by_label(re.compile("^Advice")).fill(ADVICE)
        officer_page.get_by_role("button", name="Send advice").click()
        assert officer_page.get_by_role("status").is_visible()
        officer_page.get_by_label("Police station").select_option(
            label="Example Town Police (Testshire)")
        officer_page.get_by_label("Why they need to act").fill(
            "An adult arranged to meet a 13-year-old tomorrow.")
        officer_page.get_by_role("button", name="Escalate to police").click()
        assert "escalated" in officer_page.locator("#status").inner_text()
        shots(officer_page, "officer-advised-and-escalated")

        # 11. The child's status page shows the advice.
        wizard.goto(status_url)
        assert wizard.get_by_text(ADVICE, exact=False).is_visible()
        shots(wizard, "child-status-shows-advice")
        assert not worker.errors, worker.errors
    for page in (dan, kim, officer_page):
        assert not [e for e in page.console_errors if "Content Security Policy" in e]


def mailed_code(chat: chat_live.LiveChat, to: str) -> str | None:
    for mail, *_ in reversed(chat.mail.outbox):
        if mail.to == to and (found := re.search(r"\b(\d{6})\b", mail.body)):
            return found.group(1)
    return None
