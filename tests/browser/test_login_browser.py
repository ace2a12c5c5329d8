"""An officer logs in with password + TOTP in Chromium and sees the console home page."""

import re

import pyotp
import pytest

from childsafe.store import agencies, cases
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_login_with_password_and_totp(live_server, page):
    officer = live_server.officers("ceop.browser")
    with live_server.db.transaction() as s:
        cases.create_case(s, agency=agencies.get_by_code(s, "UK-NCA-CEOP"),
                          title="Adult asked a child to keep chats secret <b>bold</b>",
                          priority="P2")
    page.goto(live_server.url + "/")
    assert page.url.endswith("/login")
    log_in(page, live_server.url, officer)
    assert page.get_by_role("heading", name="Welcome, Ceop.Browser").is_visible()
    assert page.get_by_text("National Crime Agency - CEOP Command").first.is_visible()
    # Stored text renders as inert text, and the chart is a picture with a label.
    assert page.get_by_text("<b>bold</b>", exact=False).is_visible()
    assert page.locator("svg.chart[aria-label='Cases by status']").is_visible()
    cookies = {c["name"]: c for c in page.context.cookies()}
    session_cookie = cookies["__Host-cs_session"]
    assert session_cookie["httpOnly"] and session_cookie["secure"]
    assert session_cookie["sameSite"] == "Strict"
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


def test_first_login_enrols_totp_from_the_page(live_server, page):
    officer = live_server.officers("ceop.enrol", enrolled=False)
    page.goto(live_server.url + "/login")
    page.get_by_label("Username").fill(officer.username)
    page.get_by_label("Password").fill(officer.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/login/enrol$"))
    assert page.get_by_role("img", name=re.compile("QR code")).is_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm and log in").click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", name=re.compile("Welcome")).is_visible()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login$"))


def test_wrong_password_shows_inline_error(live_server, page):
    officer = live_server.officers("ceop.wrong")
    page.goto(live_server.url + "/login")
    page.get_by_label("Username").fill(officer.username)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("alert").is_visible()
    assert "/login" in page.url
