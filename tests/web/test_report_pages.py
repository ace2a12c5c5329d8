"""The public report pages over HTTP, as a browser without JavaScript posts them (both stores).

All material is synthetic: grooming *cues* in plain words, noise PNGs, reserved names.
"""

from __future__ import annotations

import html
import os
import re
import struct
import zlib
from typing import Any

import pytest
from sqlalchemy import func, select

from childsafe.mail import MemorySender
from childsafe.reports.intake import read_evidence
from childsafe.store.report_models import EvidenceRow, ReportRow, ReportUpdateRow
from childsafe.web.report_i18n import missing_translations
from childsafe.worker import default_handlers, drain_once

PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


def make_png(size: int = 8) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))
    rows = b"".join(b"\x00" + os.urandom(size * 3) for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} field"
    return html.unescape(match.group(1))


def heading(page: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page, re.S)
    assert match
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


class Wizard:
    """Drives the no-JS forms: each call posts the page's own csrf and state fields."""

    def __init__(self, client: Any, query: str = "") -> None:
        self.client = client
        self.page = client.get("/report" + query)
        assert self.page.status_code == 200

    def answer(self, value: Any = "", action: str = "next", **extra: Any) -> Any:
        data: dict[str, Any] = {"csrf": field(self.page.text, "csrf"),
                                "state": field(self.page.text, "state"),
                                "q": field(self.page.text, "q"), "action": action,
                                "answer": value, **extra}
        self.page = self.client.post("/report", data=data)
        return self.page

    def answers(self, *values: Any) -> Any:
        for value in values:
            self.answer(value)
            assert self.page.status_code == 200, text_of(self.page.text)[:600]
        return self.page

    def details(self, action: str = "next", **values: str) -> Any:
        data = {"csrf": field(self.page.text, "csrf"), "state": field(self.page.text, "state"),
                "action": action, **values}
        self.page = self.client.post("/report/details", data=data)
        return self.page

    def send(self, text: str = "", files: list[tuple[str, bytes, str]] | None = None,
             action: str = "send") -> Any:
        data = {"csrf": field(self.page.text, "csrf"), "state": field(self.page.text, "state"),
                "action": action, "text": text}
        upload = [("files", f) for f in files or []] or [("files", ("", b"", "application/octet-stream"))]
        self.page = self.client.post("/report/evidence", data=data, files=upload,
                                     follow_redirects=False)
        return self.page


YOUNG = ("no", "young_person", "GB", "contact", ["asked_age", "asked_secret"], "Chatty",
         "2026-11-20", "sam_99")
ME = {"name": "Alex Example", "email": "alex@example.com", "phone": "", "country": "GB",
      "age_band": "13_15", "relationship": "self"}


def count_reports(db) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(ReportRow)) or 0


def file_report(client, answers=YOUNG, details=ME, text="hi, how old are you?\n", files=None,
                query="") -> tuple[Wizard, str]:
    w = Wizard(client, query)
    w.answers(*answers)
    assert heading(w.page.text) in ("About you", "À propos de vous"), text_of(w.page.text)[:500]
    w.details(**details)
    assert w.page.status_code == 200, text_of(w.page.text)[:800]
    r = w.send(text, files)
    assert r.status_code == 303, text_of(r.text)[:800]
    location = r.headers["location"]
    token = location.split("/report/receipt/")[1].split("?")[0]
    w.page = client.get(location)
    return w, token


def mail_code(db, settings) -> tuple[str, str]:
    sender = MemorySender()
    drain_once(db, default_handlers(sender), keyring=settings.keyring)
    mail = sender.outbox[-1][0]
    code = re.search(r"\b(\d{6})\b", mail.body)
    link = re.search(r"(/report/verify/\S+)", mail.body)
    assert code and link
    return code.group(1), link.group(1)


# ---- pages and language ------------------------------------------------------------------

def test_first_page_asks_about_danger_with_csrf_and_pre_cookie(client):
    r = client.get("/report")
    assert r.status_code == 200 and '<html lang="en">' in r.text
    assert heading(r.text) == "Are you or someone else in danger right now?"
    assert "<fieldset" in r.text and "<legend>" in r.text
    assert "__Host-cs_pre" in r.headers["set-cookie"]
    assert "Skip to content" in r.text and "Français" in r.text
    assert "<script" not in r.text and "style=" not in r.text


def test_french_start_page(client):
    r = client.get("/report?lang=fr")
    assert '<html lang="fr">' in r.text
    assert heading(r.text).startswith("Est-ce que vous, ou quelqu’un d’autre")
    assert "Aller au contenu" in r.text and "Continuer" in r.text and "Oui" in r.text


def test_every_ui_string_has_every_language():
    assert missing_translations() == []


def test_language_switch_mid_wizard_keeps_the_answers(client):
    w = Wizard(client)
    w.answers("no", "parent_carer")
    assert heading(w.page.text) == "Which country does your child live in?"
    w.answer("GB", action="lang")
    assert '<html lang="fr">' in w.page.text
    assert heading(w.page.text) == "Dans quel pays vit votre enfant ?"
    assert 'value="GB" selected' in w.page.text


def test_wording_follows_the_audience(client):
    for who, expected in [("young_person", "Which country do you live in?"),
                          ("parent_carer", "Which country does your child live in?"),
                          ("professional", "Which country does the child live in? If you don’t "
                                           "know, choose your own country.")]:
        w = Wizard(client)
        w.answers("no", who)
        assert heading(w.page.text) == expected


# ---- a full report -------------------------------------------------------------------------

def test_young_person_files_a_report_and_confirms_with_the_mailed_code(client, db, settings):
    w, token = file_report(client, text=PAYLOAD)
    page = w.page.text
    assert w.page.status_code == 200 and heading(page) == "Your report has been sent"
    reference = re.search(r'id="reference">(R-[A-Z0-9-]+)<', page).group(1)
    assert f"/report/status/{token}" in page and 'name="code"' in page
    assert "Childline 0800 1111" in text_of(page)
    assert PAYLOAD not in page and "<script>window" not in page
    with db.transaction() as s:
        report = s.scalar(select(ReportRow))
        assert report.reference == reference and report.state == "awaiting_verification"
        assert report.channel == "web" and report.audience == "young_person"
        rows = list(s.scalars(select(EvidenceRow)))
        assert [read_evidence(settings.keyring, r) for r in rows] == [PAYLOAD.encode()]
    code, _link = mail_code(db, settings)
    wrong = client.post(f"/report/status/{token}/verify",
                        data={"code": "000000" if code != "000000" else "111111",
                              "csrf": field(page, "csrf")})
    assert wrong.status_code == 422 and 'role="alert"' in wrong.text
    assert "That code is not right" in text_of(wrong.text)
    ok = client.post(f"/report/status/{token}/verify", data={"code": code,
                                                             "csrf": field(page, "csrf")})
    assert ok.status_code == 200 and "your email is confirmed" in text_of(ok.text)
    with db.transaction() as s:
        report = s.scalar(select(ReportRow))
        assert report.state == "with_officers" and report.case_id and report.ver_attempts == 1


def test_the_mailed_link_verifies_once(client, db, settings):
    file_report(client)
    _code, link = mail_code(db, settings)
    r = client.get(link)
    assert r.status_code == 200 and "your email is confirmed" in text_of(r.text)
    with db.transaction() as s:
        assert s.scalar(select(ReportRow.state)) == "with_officers"
    bad = client.get(link[:-4] + "0000")
    assert bad.status_code in (200, 404, 422)
    assert client.get("/report/verify/nope/nope").status_code == 404


@pytest.mark.parametrize("who,relationship,age", [("parent_carer", "parent_carer", "18_plus"),
                                                  ("other_adult", "friend", "18_plus"),
                                                  ("professional", "teacher_professional",
                                                   "18_plus")])
def test_each_adult_audience_reaches_the_receipt(client, db, who, relationship, age):
    answers = ("no", who, "US", "sent", "private_messages", ["none"], "Chatty", "", "")
    details = ME | {"country": "US", "age_band": age, "relationship": relationship,
                   "email": "", "phone": "+1 202 555 0143"}
    w, token = file_report(client, answers, details)
    assert heading(w.page.text) == "Your report has been sent"
    assert 'name="code"' not in w.page.text  # phone only: nothing to confirm
    with db.transaction() as s:
        report = s.scalar(select(ReportRow))
        assert report.audience == who and report.state == "with_officers"
        assert report.category == "sexual_talk" and report.country == "US"


def test_emergency_shows_guidance_at_once_and_files_an_immediate_report(client, db):
    w = Wizard(client)
    w.answer("yes")
    assert "Get help now" in w.page.text
    assert "your emergency number (for example 112, 999, 911 or 000)" in text_of(w.page.text)
    w.answers("other_adult", "GB")
    assert "call 999 now" in text_of(w.page.text)
    w.answers("contact", ["asked_meet"], "yes", "", "Chatty", "", "")
    assert heading(w.page.text) == "About you" and "call 999 now" in text_of(w.page.text)
    w.details(**(ME | {"age_band": "18_plus", "relationship": "other"}))
    assert "call 999 now" in text_of(w.page.text)
    r = w.send("are you alone right now?")
    receipt = client.get(r.headers["location"])
    assert "call 999 now" in text_of(receipt.text) and 'name="code"' not in receipt.text
    assert "went straight to a child-protection officer" in text_of(receipt.text)
    with db.transaction() as s:
        report = s.scalar(select(ReportRow))
        assert report.immediate and report.state == "with_officers"


@pytest.mark.parametrize("what,expected", [("bullying", "Childline 0800 1111"),
                                           ("account", "account recovery"),
                                           ("spam", "Block the sender")])
def test_out_of_scope_ends_with_signposts_and_files_nothing(client, db, what, expected):
    w = Wizard(client)
    w.answers("no", "young_person", "GB", what, "no", "Chatty")
    page = text_of(w.page.text)
    assert heading(w.page.text) == "Here is who can help best"
    assert expected in page and "No report has been sent." in page
    assert "Use the Report or Block button in Chatty" in page
    assert count_reports(db) == 0


def test_embed_channel_and_provider_name(client, db):
    w = Wizard(client, "?via=embed&provider=ExampleChat&lang=fr")
    assert '<html lang="fr">' in w.page.text
    w.answers("no", "young_person", "FR", "spam", "no", "")
    assert "Utilisez le bouton Signaler ou Bloquer dans ExampleChat" in text_of(w.page.text)
    assert "via=embed" in w.page.text
    file_report(client, ("no", "young_person", "GB", "contact", ["gifts"], "", "", ""),
                query="?via=embed&provider=ExampleChat")
    with db.transaction() as s:
        assert s.scalar(select(ReportRow.channel)) == "embed"


def test_full_french_path(client, db):
    answers = ("non", "parent_carer", "FR", "contact", ["private_app"], "Chatty", "", "")
    w, _token = file_report(client, answers, ME | {"country": "FR", "age_band": "18_plus",
                                                   "relationship": "parent_carer"},
                            query="?lang=fr")
    assert '<html lang="fr">' in w.page.text
    assert heading(w.page.text) == "Votre signalement a été envoyé"
    assert "Votre référence" in w.page.text and "Code à 6 chiffres" in w.page.text
    with db.transaction() as s:
        assert s.scalar(select(ReportRow.language)) == "fr"


# ---- going back ------------------------------------------------------------------------

def test_back_keeps_answers_and_a_changed_branch_drops_the_old_one(client):
    w = Wizard(client)
    w.answers("no", "young_person", "GB", "contact")
    assert 'name="answer"' in w.page.text and heading(w.page.text).startswith("Did the person")
    w.answer(["asked_age"], action="back")
    assert heading(w.page.text) == "What is this about?"
    assert 'value="contact" checked' in w.page.text
    w.answer("spam")
    assert heading(w.page.text).startswith("Did anyone ask you for photos")
    w.answer("no", action="back")
    w.answer("spam", action="back")
    assert heading(w.page.text) == "Which country do you live in?"


def test_back_from_details_and_evidence(client):
    w = Wizard(client)
    w.answers(*YOUNG)
    w.details(action="back", **ME)
    assert heading(w.page.text).startswith("What is the username")
    assert 'value="sam_99"' in w.page.text
    w.answer("sam_99")
    w.details(**ME)
    assert heading(w.page.text) == "The messages"
    w.send("keep me", action="back")
    assert heading(w.page.text) == "About you" and 'value="Alex Example"' in w.page.text


# ---- errors --------------------------------------------------------------------------------

def test_missing_and_invalid_answers_show_inline_errors(client):
    w = Wizard(client)
    r = w.answer("")
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert 'id="err-danger"' in r.text
    assert re.search(r'aria-describedby="[^"]*\berr-danger\b', r.text)
    assert "Please answer this question." in r.text
    w.answers("no", "young_person")
    r = w.answer("Atlantis")
    assert r.status_code == 422 and "Please choose a country from the list." in r.text
    assert 'aria-invalid="true"' in r.text
    w.answers("GB", "contact")
    r = w.answer(["none", "asked_age"])
    assert r.status_code == 422 and "cannot be chosen together" in text_of(r.text)


def test_details_errors_are_listed_next_to_each_field(client, db):
    w = Wizard(client)
    w.answers(*YOUNG)
    r = w.details(name="", email="not-an-email", phone="", country="GB", age_band="",
                  relationship="self")
    assert r.status_code == 422
    page = r.text
    for fid, msg in [("err-name", "Please tell us your name."),
                     ("err-email", "This email address does not look right."),
                     ("err-age_band", "Please choose your age group.")]:
        assert f'id="{fid}"' in page and msg in page
    assert 'href="#f-name"' in page and 'role="alert"' in page
    r = w.details(**(ME | {"email": "", "phone": ""}))
    assert "Please give an email address or a phone number" in r.text
    assert count_reports(db) == 0


def _at_evidence(client) -> Wizard:
    w = Wizard(client)
    w.answers(*YOUNG)
    w.details(**ME)
    assert heading(w.page.text) == "The messages"
    return w


@pytest.mark.parametrize("upload,message", [
    (("big.txt", b"a" * (2 * 1024 * 1024 + 10), "text/plain"), "“big.txt” is too big"),
    (("archive.zip", b"PK\x03\x04\x00\x00\x00binary\x00", "application/zip"),
     "“archive.zip” is not a type we accept"),
    (("broken.png", make_png()[:40], "image/png"), "“broken.png” seems damaged"),
    (("photo.png", make_png(), "application/pdf"), "“photo.png” is not what its type says"),
])
def test_bad_files_get_a_specific_message_and_file_nothing(client, db, upload, message):
    w = _at_evidence(client)
    r = w.send("some text", [upload])
    assert r.status_code == 422 and message in html.unescape(r.text)
    assert 'role="alert"' in r.text and 'aria-invalid="true"' in r.text
    assert "some text" in r.text  # the pasted text is kept; files must be chosen again
    assert count_reports(db) == 0


def test_oversized_pasted_text_is_refused_specifically(client, db):
    w = _at_evidence(client)
    r = w.send("x" * 200_001)
    assert r.status_code == 422 and "The pasted text is too long" in r.text
    assert count_reports(db) == 0


def test_several_files_and_text_are_kept_exactly(client, db, settings):
    png = make_png()
    text = "\nline one\r\nline two <b>bold</b> & more\n"
    file_report(client, text=text, files=[("a.png", png, "image/png"),
                                          ("notes.txt", b"plain notes", "text/plain")])
    with db.transaction() as s:
        got = sorted(read_evidence(settings.keyring, r) for r in s.scalars(select(EvidenceRow)))
    assert got == sorted([png, b"plain notes", text.encode()])


def test_forged_or_tampered_forms_are_refused(client, db):
    w = _at_evidence(client)
    state = field(w.page.text, "state")
    r = client.post("/report/evidence", data={"csrf": "0" * 64, "state": state, "action": "send"},
                    files=[("files", ("", b"", "application/octet-stream"))])
    assert r.status_code == 403 and "This form has expired" in r.text
    body, _, mac = state.rpartition(".")
    r = client.post("/report/evidence", data={"csrf": field(w.page.text, "csrf"),
                                              "state": body + "." + "0" * len(mac),
                                              "action": "send"},
                    files=[("files", ("", b"", "application/octet-stream"))])
    assert r.status_code == 403
    assert count_reports(db) == 0


def test_rate_limit_is_an_inline_message_not_a_500(client, db, app):
    app.state.intake = (lambda original: lambda: _limited(original()))(app.state.intake)
    w = _at_evidence(client)
    r = w.send("hello")
    assert r.status_code == 429 and "Too many reports" in r.text
    assert count_reports(db) == 0


def _limited(ctx):
    from dataclasses import replace
    return replace(ctx, per_ip_per_hour=1, per_contact_per_day=0)


# ---- status page ---------------------------------------------------------------------------

def test_status_page_shows_updates_but_no_internal_notes_or_reporter_details(client, db, clock):
    _w, token = file_report(client, details=ME | {"email": "", "phone": "+44 20 7946 0123"})
    with db.transaction() as s:
        report = s.scalar(select(ReportRow))
        s.add(ReportUpdateRow(report_id=report.id, kind="advice", created_at=clock(),
                              body="Please keep the chat and don't reply. <i>thanks</i>"))
        s.add(ReportUpdateRow(report_id=report.id, kind="internal", created_at=clock(),
                              body="INTERNAL officer note: Officer Jane Doe"))
    r = client.get(f"/report/status/{token}")
    page = text_of(r.text)
    assert r.status_code == 200 and "With a child-protection officer." in page
    assert "Advice from the officer" in page
    assert "Please keep the chat and don't reply. <i>thanks</i>" in page
    assert "<i>thanks</i>" not in r.text  # escaped, shown literally
    assert "INTERNAL" not in page and "Jane Doe" not in page
    assert "Alex Example" not in page and "7946" not in page
    assert "Your report reached a child-protection officer." in page


def test_unknown_status_token_is_a_404_page(client):
    r = client.get("/report/status/not-a-real-token")
    assert r.status_code == 404 and "We can’t find that report" in r.text
    assert client.get("/report/receipt/" + "x" * 200).status_code == 404


def test_adding_a_note_and_evidence_later(client, db, settings):
    _w, token = file_report(client)
    status = client.get(f"/report/status/{token}")
    csrf = field(status.text, "csrf")
    r = client.post(f"/report/status/{token}/note", data={"note": PAYLOAD, "csrf": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "Your information was added" in page.text and PAYLOAD in text_of(page.text)
    assert PAYLOAD not in page.text
    png = make_png()
    r = client.post(f"/report/status/{token}/evidence", data={"csrf": csrf, "text": ""},
                    files=[("files", ("later.png", png, "image/png"))], follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "later.png" in page.text and "It was added to your report" in page.text
    with db.transaction() as s:
        notes = list(s.scalars(select(ReportUpdateRow.body).where(
            ReportUpdateRow.kind == "reporter_note")))
        assert notes == [PAYLOAD]
        assert s.scalar(select(func.count()).select_from(EvidenceRow)) == 2
    bad = client.post(f"/report/status/{token}/evidence", data={"csrf": csrf, "text": ""},
                      files=[("files", ("x.exe", b"MZ\x00\x00binary", "application/octet-stream"))])
    assert bad.status_code == 422 and "is not a type we accept" in html.unescape(bad.text)
    empty = client.post(f"/report/status/{token}/note", data={"note": "  ", "csrf": csrf})
    assert empty.status_code == 422 and "Write something to add." in empty.text
    forged = client.post(f"/report/status/{token}/note", data={"note": "x", "csrf": "1" * 64})
    assert forged.status_code == 403
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(EvidenceRow)) == 2


# ---- guidance, tips and the embed ---------------------------------------------------------

def test_capture_guide_and_tips_pages(client):
    r = client.get("/report/help/capture?lang=fr&audience=young_person")
    assert r.status_code == 200 and '<html lang="fr">' in r.text
    assert "Comment garder les messages" in r.text and "demande de l’aide" in html.unescape(r.text)
    r = client.get("/report/tips?audience=young_person&lang=fr")
    assert "Ce n’est jamais ta faute" in html.unescape(r.text)
    r = client.get("/report/tips")
    assert "Listen first" in r.text and "Follow your safeguarding policy" in r.text


def test_tips_json_is_public_with_cors_for_get(client):
    r = client.get("/report/tips.json?audience=parent_carer&lang=fr")
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    body = r.json()
    assert body["lang"] == "fr" and body["tips"][0]["title"] == "Écoutez d’abord"
    assert client.post("/report/tips.json").status_code == 405


def test_embed_demo_page_loads_the_script_without_inline_code(client):
    r = client.get("/report/embed-demo")
    assert r.status_code == 200
    assert '<script src="/static/embed.js" data-provider="ExampleChat"' in r.text
    assert re.search(r"<script>(?!</script>)", r.text) is None
    js = client.get("/static/embed.js").text
    assert "innerHTML" not in js and "textContent" in js


def test_expired_and_locked_codes_get_their_own_pages(client, db, settings, clock):
    w, token = file_report(client)
    csrf = field(w.page.text, "csrf")
    code, link = mail_code(db, settings)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        r = client.post(f"/report/status/{token}/verify", data={"code": wrong, "csrf": csrf})
        assert r.status_code == 422 and 'id="err-code"' in r.text
    r = client.post(f"/report/status/{token}/verify", data={"code": wrong, "csrf": csrf})
    assert r.status_code == 429 and "Too many tries" in r.text
    r = client.post(f"/report/status/{token}/verify", data={"code": code, "csrf": csrf})
    assert r.status_code == 429  # locked stays locked, even for the right code

    _w2, token2 = file_report(client, details=ME | {"email": "kim@example.com"})
    code2, _link2 = mail_code(db, settings)
    clock.advance(hours=25)
    r = client.post(f"/report/status/{token2}/verify", data={"code": code2, "csrf": csrf})
    assert r.status_code == 410 and "The code has expired" in r.text
    with db.transaction() as s:
        assert set(s.scalars(select(ReportRow.state))) == {"awaiting_verification"}


def test_verify_form_needs_csrf_and_a_report_with_email(client, db, settings):
    _w, token = file_report(client, details=ME | {"email": "", "phone": "+44 20 7946 0123"})
    page = client.get(f"/report/status/{token}")
    assert 'name="code"' not in page.text
    r = client.post(f"/report/status/{token}/verify", data={"code": "123456",
                                                            "csrf": field(page.text, "csrf")})
    assert r.status_code == 422 and "no email address to confirm" in r.text
    r = client.post(f"/report/status/{token}/verify", data={"code": "123456", "csrf": "x"})
    assert r.status_code == 403
