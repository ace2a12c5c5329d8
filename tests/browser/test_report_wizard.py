"""The public report wizard in Chromium: every audience to the receipt, the emergency and
out-of-scope branches, French, verification by the mailed code, the status page, evidence
added later, inert HTML, the embedded button, and axe-core on every page type.

Synthetic material only: grooming *cues* in plain words, noise PNGs, reserved names.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from childsafe.mail import MemorySender
from childsafe.reports.intake import read_evidence
from childsafe.store.report_models import EvidenceRow, ReportRow, ReportUpdateRow
from childsafe.worker import default_handlers, drain_once

pytestmark = pytest.mark.browser

PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


AXE = _axe_source()


def axe_check(page: Any, name: str) -> None:
    """No serious or critical axe-core violation. Injected through the devtools protocol
    (`evaluate`), which the page's CSP (no inline script) does not block."""
    page.evaluate(AXE)
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           AXE_TAGS)
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name}: {bad}"


def make_png(size: int = 8) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))
    rows = b"".join(b"\x00" + os.urandom(size * 3) for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def h1(page: Any) -> str:
    return page.locator("h1").first.inner_text().strip()


def cont(page: Any, label: str = "Continue") -> None:
    page.get_by_role("button", name=label, exact=True).click()
    page.wait_for_load_state()


def choose(page: Any, label: str, button: str = "Continue") -> None:
    page.get_by_label(label, exact=True).check()
    cont(page, button)


def pick(page: Any, *labels: str, button: str = "Continue") -> None:
    for label in labels:
        page.get_by_label(label, exact=True).check()
    cont(page, button)


def country(page: Any, code: str, button: str = "Continue") -> None:
    page.locator("select[name=answer]").select_option(code)
    cont(page, button)


def text(page: Any, value: str, button: str = "Continue") -> None:
    page.locator("input[name=answer]").fill(value)
    cont(page, button)


def fill_details(page: Any, *, name: str, email: str = "", phone: str = "", age: str,
                 relationship: str, button: str = "Continue") -> None:
    page.get_by_label("Your name" if button == "Continue" else "Votre nom").fill(name)
    if email:
        page.locator("#f-email").fill(email)
    if phone:
        page.locator("#f-phone").fill(phone)
    page.get_by_label(age, exact=True).check()
    page.get_by_label(relationship, exact=True).check()
    cont(page, button)


def receipt_token(page: Any) -> str:
    href = page.locator("#status-link").get_attribute("href")
    return href.split("/report/status/")[1].split("?")[0]


def mailed_code(live_server: Any) -> str:
    sender = MemorySender()
    drain_once(live_server.db, default_handlers(sender), keyring=live_server.officers.keyring)
    match = re.search(r"\b(\d{6})\b", sender.outbox[-1][0].body)
    assert match
    return match.group(1)


def reports(live_server: Any) -> int:
    with live_server.db.transaction() as s:
        return s.scalar(select(func.count()).select_from(ReportRow)) or 0


def no_csp_errors(page: Any) -> None:
    assert not [e for e in page.console_errors if "Content Security Policy" in e]


# ---- audiences -----------------------------------------------------------------------------

def test_young_person_reports_confirms_by_code_and_adds_evidence_later(live_server, page):
    page.goto(live_server.url + "/report")
    assert page.locator("html").get_attribute("lang") == "en"
    assert h1(page) == "Are you or someone else in danger right now?"
    axe_check(page, "question (yes/no)")
    choose(page, "No")
    choose(page, "I am a child or young person (under 18)")
    assert h1(page) == "Which country do you live in?"
    axe_check(page, "question (country)")
    country(page, "GB")
    choose(page, "Someone online said or asked things that worried me")
    axe_check(page, "question (multi choice)")
    pick(page, "Asked how old you are", "Asked me to keep our chats secret")
    text(page, "Chatty")
    page.locator("input[name=answer]").fill("2026-01-05")
    cont(page)
    text(page, PAYLOAD)  # the suspect's "username" is shown back on the evidence page
    assert h1(page) == "About you"
    axe_check(page, "details")
    fill_details(page, name="Alex Example", email="alex@example.com", age="13 to 15",
                 relationship="It is about me")
    assert h1(page) == "The messages"
    assert page.get_by_text(PAYLOAD, exact=True).is_visible()  # the answers summary, inert
    axe_check(page, "evidence")
    page.get_by_label(re.compile("Paste the messages here")).fill(PAYLOAD)
    page.get_by_label(re.compile("Screenshots or files")).set_input_files(
        [{"name": "chat.png", "mimeType": "image/png", "buffer": make_png()},
         {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hi, how old are you?"}])
    cont(page, "Send my report")
    assert h1(page) == "Your report has been sent"
    assert page.evaluate("typeof window.__pwned") == "undefined"
    reference = page.locator("#reference").inner_text()
    assert re.fullmatch(r"R-[A-Z0-9]{4}-[A-Z0-9]{4}", reference)
    axe_check(page, "receipt")
    token = receipt_token(page)
    with live_server.db.transaction() as s:
        rows = list(s.scalars(select(EvidenceRow)))
        kept = sorted(read_evidence(live_server.officers.keyring, r) for r in rows)
    assert PAYLOAD.encode() in kept and len(kept) == 3

    page.get_by_label("6-digit code").fill(mailed_code(live_server))
    cont(page, "Confirm")
    assert h1(page) == "Thank you, your email is confirmed"
    axe_check(page, "verified")
    page.get_by_role("link", name="See your report’s status").click()
    page.wait_for_load_state()
    assert page.locator("#state").inner_text() == "With a child-protection officer."
    assert page.locator("#reference").inner_text() == reference

    page.get_by_label("Anything else the officer should know").fill(PAYLOAD)
    cont(page, "Add this information")
    assert page.get_by_text("Your information was added").is_visible()
    assert page.locator(".update-reporter_note .body").inner_text() == PAYLOAD
    assert page.evaluate("typeof window.__pwned") == "undefined"
    page.locator("#f-files").set_input_files(
        [{"name": "later.png", "mimeType": "image/png", "buffer": make_png()}])
    cont(page, "Add to my report")
    assert page.get_by_text("It was added to your report").is_visible()
    assert page.get_by_text("later.png").is_visible()
    axe_check(page, "status")
    with live_server.db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(EvidenceRow)) == 4
    assert token
    no_csp_errors(page)


def test_parent_files_in_french_and_confirms_later(live_server, page):
    page.goto(live_server.url + "/report?lang=fr")
    assert page.locator("html").get_attribute("lang") == "fr"
    choose(page, "Non", "Continuer")
    choose(page, "Je suis le parent ou la personne qui s’occupe de l’enfant", "Continuer")
    assert h1(page) == "Dans quel pays vit votre enfant ?"
    country(page, "FR", "Continuer")
    choose(page, "Quelqu’un en ligne a dit ou demandé des choses à mon enfant, et cela "
                 "m’inquiète", "Continuer")
    pick(page, "A proposé à l’enfant des cadeaux, de l’argent ou des crédits de jeu",
         button="Continuer")
    text(page, "", "Continuer")
    cont(page, "Continuer")
    text(page, "", "Continuer")
    assert h1(page) == "À propos de vous"
    axe_check(page, "details (fr)")
    fill_details(page, name="Camille Exemple", email="camille@example.com", age="18 ans ou plus",
                 relationship="Mon enfant, ou un enfant dont je m’occupe", button="Continuer")
    assert h1(page) == "Les messages"
    page.locator("#f-text").fill("tu veux des crédits de jeu ?")
    cont(page, "Envoyer mon signalement")
    assert h1(page) == "Votre signalement a été envoyé"
    assert page.locator("html").get_attribute("lang") == "fr"
    axe_check(page, "receipt (fr)")
    token = receipt_token(page)
    page.goto(f"{live_server.url}/report/status/{token}")
    assert page.locator("#state").inner_text() == ("En attente de la confirmation de votre "
                                                   "adresse e-mail.")
    page.get_by_label("Code à 6 chiffres").fill(mailed_code(live_server))
    cont(page, "Confirmer")
    assert h1(page) == "Merci, votre adresse e-mail est confirmée"


def test_other_adult_in_an_emergency_sees_the_number_on_every_page(live_server, page):
    page.goto(live_server.url + "/report")
    choose(page, "Yes")
    banner = page.get_by_role("region", name="Get help now")
    assert "for example 112, 999, 911 or 000" in banner.inner_text()
    axe_check(page, "emergency question")
    choose(page, "I am another adult who is worried about a child")
    country(page, "US")
    assert "call 911 now" in banner.inner_text()
    choose(page, "Someone online said or asked things to a child that worry me")
    pick(page, "Asked to meet the child in real life")
    choose(page, "Yes")
    cont(page)  # meeting date: optional
    text(page, "")
    cont(page)
    text(page, "")
    assert h1(page) == "About you" and "call 911 now" in banner.inner_text()
    fill_details(page, name="Sam Example", phone="+1 202 555 0143", age="18 or over",
                 relationship="Someone else")
    assert "call 911 now" in banner.inner_text()
    cont(page, "Send my report")
    assert h1(page) == "Your report has been sent"
    assert "call 911 now" in banner.inner_text()
    assert page.get_by_text("went straight to a child-protection officer").is_visible()
    assert page.get_by_label("6-digit code").count() == 0
    axe_check(page, "emergency receipt")
    with live_server.db.transaction() as s:
        report = s.scalar(select(ReportRow))
        assert report.immediate and report.state == "with_officers"


def test_professional_reports_from_a_phone_sized_screen(live_server, page):
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(live_server.url + "/report")
    choose(page, "No")
    choose(page, "I work with children (for example a teacher or youth worker)")
    country(page, "CA")
    choose(page, "I saw pictures or videos of a child that should not be online")
    text(page, "https://pictures.example.com/album/42")
    for _ in range(3):  # platform, when, suspect: optional
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        cont(page)
    fill_details(page, name="Robin Example", email="robin@example.com", age="18 or over",
                 relationship="A child I work with (teacher, youth worker…)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    axe_check(page, "evidence (mobile)")
    cont(page, "Send my report")
    assert h1(page) == "Your report has been sent"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    axe_check(page, "receipt (mobile)")
    with live_server.db.transaction() as s:
        assert s.scalar(select(ReportRow.category)) == "indecent_images_seen"


def test_out_of_scope_ends_on_signposts_and_files_nothing(live_server, page):
    page.goto(live_server.url + "/report")
    choose(page, "No")
    choose(page, "I am a child or young person (under 18)")
    country(page, "GB")
    choose(page, "Someone is being mean to me or bullying me")
    choose(page, "No")
    text(page, "Chatty")
    assert h1(page) == "Here is who can help best"
    body = page.locator("main").inner_text()
    assert "Use the Report or Block button in Chatty" in body and "Childline 0800 1111" in body
    assert "No report has been sent." in body
    axe_check(page, "out of scope")
    assert reports(live_server) == 0


# ---- errors, back, status --------------------------------------------------------------

def test_errors_are_inline_and_announced_and_back_keeps_answers(live_server, page):
    page.goto(live_server.url + "/report")
    cont(page)
    alert = page.get_by_role("alert")
    assert "Please answer this question." in alert.inner_text()
    axe_check(page, "question with error")
    choose(page, "No")
    choose(page, "I am a child or young person (under 18)")
    cont(page, "Back")
    assert page.get_by_label("I am a child or young person (under 18)").is_checked()
    cont(page)
    country(page, "GB")
    choose(page, "Spam, a scam or adverts")
    choose(page, "Yes")  # asked for photos: back in scope
    pick(page, "None of these", "Asked how old you are")
    assert "cannot be chosen together" in page.get_by_role("alert").inner_text()
    page.get_by_label("Asked how old you are", exact=True).uncheck()
    pick(page, "None of these")
    for _ in range(3):
        cont(page)
    fill_details(page, name="", email="nope", age="Under 13", relationship="It is about me")
    assert page.locator("#err-name").is_visible() and page.locator("#err-email").is_visible()
    assert "err-email" in page.locator("#f-email").get_attribute("aria-describedby")
    axe_check(page, "details with errors")
    fill_details(page, name="Kim Example", email="kim@example.com", age="Under 13",
                 relationship="It is about me")
    page.locator("#f-text").fill(PAYLOAD)
    page.locator("#f-files").set_input_files(
        [{"name": "setup.exe", "mimeType": "application/octet-stream",
          "buffer": b"MZ\x90\x00binary\x00\x00"},
         {"name": "big.txt", "mimeType": "text/plain", "buffer": b"a" * (2 * 1024 * 1024 + 1)},
         {"name": "cut.png", "mimeType": "image/png", "buffer": make_png()[:30]}])
    cont(page, "Send my report")
    errors = page.get_by_role("alert").inner_text()
    assert "“setup.exe” is not a type we accept" in errors
    assert "“big.txt” is too big" in errors and "“cut.png” seems damaged" in errors
    assert page.locator("#f-text").input_value() == PAYLOAD  # kept, literally
    assert page.evaluate("typeof window.__pwned") == "undefined"
    axe_check(page, "evidence with errors")
    assert reports(live_server) == 0


def test_status_page_shows_an_officer_update_and_unknown_links_404(live_server, page):
    page.goto(live_server.url + "/report")
    choose(page, "No")
    choose(page, "I am a parent or carer of the child")
    country(page, "AU")
    choose(page, "Someone sent my child something that made them feel uncomfortable")
    choose(page, "Something else that upset the child")
    pick(page, "None of these")
    for _ in range(3):
        cont(page)
    fill_details(page, name="Jo Example", phone="+61 2 9876 5432", age="18 or over",
                 relationship="My child, or a child I care for")
    cont(page, "Send my report")
    token = receipt_token(page)
    with live_server.db.transaction() as s:
        report = s.scalar(select(ReportRow))
        s.add(ReportUpdateRow(report_id=report.id, kind="advice",
                              body="Thank you. Please keep the chat; an officer will call you."))
        s.add(ReportUpdateRow(report_id=report.id, kind="officer_note",
                              body="internal: Officer Pat Example"))
    page.goto(f"{live_server.url}/report/status/{token}")
    updates = page.locator(".updates").inner_text()
    assert "Please keep the chat; an officer will call you." in updates
    assert "Advice from the officer" in updates and "Pat Example" not in page.content()
    assert "Jo Example" not in page.content() and "9876" not in page.content()
    axe_check(page, "status with updates")
    response = page.goto(f"{live_server.url}/report/status/unknown-token")
    assert response.status == 404 and h1(page) == "We can’t find that report"
    axe_check(page, "not found")


# ---- guidance and the embed ----------------------------------------------------------------

def test_guidance_pages_are_accessible(live_server, page):
    for path in ("/report/tips?audience=young_person&lang=fr", "/report/tips",
                 "/report/help/capture?audience=parent_carer"):
        page.goto(live_server.url + path)
        axe_check(page, path)
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(live_server.url + "/report/tips?audience=young_person&lang=fr")
    assert page.get_by_text("Ce n’est jamais ta faute").is_visible()


def test_embedded_button_opens_tips_and_the_wizard_in_a_new_tab(live_server, page):
    page.goto(live_server.url + "/report/embed-demo")
    button = page.get_by_role("button", name="Report abuse")
    assert button.get_attribute("aria-expanded") == "false"
    box = button.bounding_box()
    assert box and box["height"] >= 24 and box["width"] >= 24
    button.click()
    dialog = page.get_by_role("dialog", name="Safety tips")
    assert dialog.is_visible() and button.get_attribute("aria-expanded") == "true"
    page.get_by_text("Tell an adult you trust", exact=True).wait_for()
    axe_check(page, "embed panel")
    link = page.locator("#childsafe-report-link")
    assert "via=embed" in link.get_attribute("href") and link.get_attribute("target") == "_blank"
    with page.context.expect_page() as opened:
        link.click()
    wizard = opened.value
    wizard.wait_for_load_state()
    assert wizard.locator("h1").first.inner_text() == "Are you or someone else in danger right now?"
    assert "provider=ExampleChat" in wizard.url
    page.keyboard.press("Escape")
    assert not dialog.is_visible() and button.get_attribute("aria-expanded") == "false"
    no_csp_errors(page)


def test_embedded_button_in_french_escapes_provider_data(live_server, page):
    page.route("**/report/tips.json*", lambda route: route.fulfill(
        status=200, content_type="application/json",
        body='{"tips": [{"id": "x", "title": "<img src=x onerror=window.__pwned=3>", '
             '"body": "<b>not bold</b>"}]}'))
    page.goto(live_server.url + "/report/embed-demo?lang=fr")
    page.get_by_role("button", name="Signaler un abus").click()
    page.get_by_text("<b>not bold</b>").wait_for()
    assert page.get_by_text("<img src=x onerror=window.__pwned=3>").is_visible()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("#childsafe-report-link").inner_text().startswith("Faire un signalement")
