"""The XSS corpus in every free-text field, every page rendered in Chromium: no script runs.

The payloads (`xss_corpus.PAYLOADS`) go in through the real channels: the provider API
(answers, reporter's name, suspects, captured conversation, pasted text), the report wizard
and the reporter's status page (driven in Chromium), officers' forms (case notes, advice,
sharing reasons, block-list entries' URL, category and reason, removal reasons, handover
notes, officers' names), the rooms API (room titles) and a Watch alert's chat. Then every
page that shows them is loaded, and on each:

- `window.__xss`, which any payload would set if it ran, is still undefined;
- the page raised no `securitypolicyviolation` event (listened for by a script injected
  through the devtools protocol, which the page's policy does not apply to);
- the DOM holds no event-handler attribute, `javascript:` URL, frame, object, base or
  refresh element, and no script but ours;
- the payloads show literally, as typed, where the page displays that field.

At the end the server's CSP report endpoint (`/csp-report`) must have counted no violation
but the one a control page causes on purpose, which also proves reports arrive.
Reproduce: `pytest tests/fuzz/test_xss.py`.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
import uvicorn
from sqlalchemy import select

from childsafe.config import Settings
from childsafe.core.crypto import new_keyring
from childsafe.core.permissions import PROVIDER_SCOPES
from childsafe.reports import pooling
from childsafe.store import accounts, agencies, providers
from childsafe.store.db import Database
from childsafe.store.models import CaseRow, utcnow
from childsafe.store.report_models import ReportRow
from childsafe.web.app import create_app
from childsafe.web.csp_report import violations_of
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.fuzz.figures import FIGURES
from tests.fuzz.xss_corpus import PAYLOADS, joined
from tests.helpers import OfficerFactory
from tests.reports import case_factory
from tests.watch.alert_factory import GROOMING_CHAT, WatchFactory

pytestmark = pytest.mark.browser

WATCH_EVENTS = """
window.__cspEvents = [];
document.addEventListener('securitypolicyviolation',
  e => window.__cspEvents.push(e.effectiveDirective + ' ' + e.blockedURI), true);
"""
DOM_SCAN = """() => {
  const bad = [];
  const urlAttrs = ['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'poster'];
  for (const el of document.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      const value = a.value.toLowerCase().replace(/[\\s\\u0000-\\u001f]/g, '');
      if (name.startsWith('on')) bad.push(tag + ' ' + name);
      if (name === 'srcdoc') bad.push(tag + ' srcdoc');
      if (urlAttrs.includes(name) && (value.startsWith('javascript:')
          || value.startsWith('data:text/html') || value.startsWith('vbscript:')))
        bad.push(tag + ' ' + name + '=' + value.slice(0, 40));
    }
    if (['iframe', 'frame', 'object', 'embed', 'base', 'applet'].includes(tag)) bad.push(tag);
    if (tag === 'meta' && (el.getAttribute('http-equiv') || '').toLowerCase() === 'refresh')
      bad.push('meta refresh');
    if (tag === 'script' && !/^\\/static\\/[a-z_]+\\.js$/.test(el.getAttribute('src') || ''))
      bad.push('script ' + (el.getAttribute('src') || 'inline'));
  }
  return bad;
}"""
PAGE_TEXT = """() => {
  const parts = [document.body ? document.body.textContent : ''];
  for (const el of document.querySelectorAll('textarea, input')) parts.push(el.value);
  return parts.join('\\n');
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Site:
    url: str
    app: Any
    db: Database
    settings: Settings
    officers: OfficerFactory
    provider_key: str = ""
    accepted: dict[str, list[str]] = field(default_factory=dict)
    refused: dict[str, list[str]] = field(default_factory=dict)

    def keep(self, channel: str, payload: str, ok: bool) -> None:
        (self.accepted if ok else self.refused).setdefault(channel, []).append(payload)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    """The app served by uvicorn on loopback from a thread of this process, so the test can
    read what its CSP report endpoint counted."""
    tmp = tmp_path_factory.mktemp("xss")
    shutil.copy(sqlite_template, tmp / "childsafe.db")
    url = f"sqlite:///{tmp / 'childsafe.db'}"
    keyring = new_keyring()
    port = _free_port()
    settings = Settings(data_dir=tmp, database_url=url, keys=keyring.to_json(),
                        mail_sender="memory", cookie_secure=False,
                        base_url=f"http://127.0.0.1:{port}",
                        reports_per_ip_per_hour=10_000, reports_per_contact_per_day=10_000)
    db = Database(url)
    with db.transaction() as s:
        agencies.seed_agencies(s)
    app = create_app(settings, db)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="xss-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "server did not start"
    try:
        yield Site(f"http://127.0.0.1:{port}", app, db, settings, OfficerFactory(db, keyring))
    finally:
        server.should_exit = True
        thread.join(15)
        db.dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Reports through the Reporting API leave at once instead of in a minute's batch.
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=[*CHROMIUM_ARGS, "--short-reporting-delay"])
        yield b
        b.close()


# ---- putting the payloads in ---------------------------------------------------------------

def _report_body(payload: str, *, conversation: bool) -> dict[str, Any]:
    now = datetime.now(UTC) - timedelta(hours=1)
    doc: dict[str, Any] = {
        "language": "en",
        "answers": case_factory.answers(when=now.date().isoformat(), platform=payload,
                                        suspect=payload),
        "reporter": {"name": payload, "phone": "020 7946 0018", "country": "GB",
                     "age_band": "13_15", "relationship": "self"},
        "suspects": [{"platform": "chatty.test", "identifier": payload[:200]}]}
    if conversation:
        chat = case_factory.conversation(now, suspect="u2")
        chat["participants"][1]["display_name"] = PAYLOADS[0]
        chat["messages"] = [{"id": f"x{i}", "sender": "u2" if i % 2 else "u1",
                             "sent_at": (now - timedelta(minutes=len(PAYLOADS) - i)).isoformat(),
                             "text": p} for i, p in enumerate(PAYLOADS)]
        doc["conversation"] = chat
        doc["pasted_text"] = joined()
    return doc


def file_provider_reports(site: Site) -> tuple[list[str], str]:
    """One report per payload through the provider API; report 0 carries the whole corpus as
    a captured conversation and as pasted text. Returns the case ids, report 0's first, and
    report 0's private status token."""
    with site.db.transaction() as s:
        row = providers.create_provider(s, "XssChat")
        site.provider_key = providers.issue_key(
            s, row, sorted(p.value for p in PROVIDER_SCOPES)).plaintext
    auth = {"authorization": f"Bearer {site.provider_key}"}
    references = []
    with httpx.Client(base_url=site.url, headers=auth, timeout=30) as client:
        first = client.post("/api/v1/reports", json=_report_body("Chatty", conversation=True))
        assert first.status_code == 201, first.text
        references.append(first.json()["reference"])
        status_token = first.json()["status_url"].split("/report/status/")[1]
        for payload in PAYLOADS:
            r = client.post("/api/v1/reports", json=_report_body(payload, conversation=False))
            assert r.status_code in (201, 422), r.text
            site.keep("provider report", payload, r.status_code == 201)
            if r.status_code == 201:
                references.append(r.json()["reference"])
    with site.db.transaction() as s:
        by_ref = dict(s.execute(select(ReportRow.reference, ReportRow.case_id)).all())
    return [by_ref[ref] for ref in references], status_token


def register_rooms(site: Site) -> None:
    auth = {"authorization": f"Bearer {site.provider_key}"}
    with httpx.Client(base_url=site.url, headers=auth, timeout=30) as client:
        for i, payload in enumerate(PAYLOADS):
            r = client.post("/api/v1/rooms", json={
                "external_id": f"xss-{i}", "title": payload[:200], "audience": "teen",
                "language": "en", "region": "GB"})
            assert r.status_code in (201, 422), r.text
            site.keep("room title", payload[:200], r.status_code == 201)


def log_in(page: Any, site: Site, officer: Any) -> None:
    page.goto(site.url + "/login")
    page.get_by_label("Username").fill(officer.username)
    page.get_by_label("Password").fill(officer.password)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/login/mfa$"))
    page.get_by_label("6-digit code").fill(pyotp.TOTP(officer.totp_secret).now())
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(site.url + "/")


def csrf(page: Any) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.content())
    assert match
    return match.group(1)


def officer_forms(page: Any, site: Site, case_id: str) -> None:
    """Officers type the payloads into their forms (same cookies and CSRF as the pages)."""
    page.goto(site.url + f"/cases/{case_id}")
    token = csrf(page)
    request = page.context.request

    def post(path: str, channel: str, payload: str, **form: str) -> None:
        r = request.post(site.url + path, form=form | {"csrf": token}, max_redirects=0)
        assert r.status in (303, 409, 422), (path, r.status, r.text()[:300])
        site.keep(channel, payload, r.status == 303)

    for payload in PAYLOADS:
        post(f"/cases/{case_id}/note", "case note", payload, note=payload)
        post(f"/cases/{case_id}/advise", "advice", payload, advice=payload)
    post(f"/cases/{case_id}/transfer", "share reason", joined(), agency="US-DHS-HSI",
         reason=joined(), mode="share")
    for i, payload in enumerate(PAYLOADS):
        post("/block/entries", "block entry", payload, url=f"http://xss{i}.example.com/page",
             scope="page", category=payload, reason=payload, review_date="2030-01-01")
        post("/block/entries", "block url", payload, url=f"http://example.com/{payload}",
             scope="page", category="xss", reason="path", review_date="2030-01-01")
        post("/console/watch/roster/notes", "handover note", payload, body=payload)
        if i % 4 == 0:  # a quarter of them: each account costs an Argon2 hash
            post("/admin/officers", "officer name", payload, username=f"xss.officer{i}",
                 display_name=payload, email=f"xss{i}@example.com", role="officer",
                 password="correct-horse-battery-staple")
    page.goto(site.url + "/block")
    entry = re.search(r"/block/entries/(\d+)/remove", page.content())
    assert entry
    post(f"/block/entries/{entry.group(1)}/remove", "removal reason", joined()[:2000],
         reason=joined()[:2000])
    page.goto(site.url + "/console/watch/rooms")
    for room in re.findall(r"/console/watch/rooms/(rm_[0-9a-f]+)/monitor", page.content())[:5]:
        request.post(site.url + f"/console/watch/rooms/{room}/monitor",
                     form={"monitor": "1", "back": "", "csrf": token}, max_redirects=0)


def sharing_request_from_hsi(site: Site, case_id: str) -> None:
    """HSI holds a case about the same suspect and asks CEOP to share, giving the corpus as
    its reason (what an HSI officer types on their case page)."""
    ctx = case_factory.context(site.settings)
    _, theirs = case_factory.file_report(site.db, ctx, agency="US-DHS-HSI", suspect="u2",
                                         room="us-xss")
    site.officers("xss.hsi", agency="US-DHS-HSI", roles="officer,supervisor")
    with site.db.transaction() as s:
        hsi = accounts.principal_for(s, accounts.get_user(s, "xss.hsi"))
        pooling.request_sharing(s, hsi, theirs.id, "UK-NCA-CEOP", joined()[:1000], utcnow())
    site.keep("sharing reason", joined()[:1000], True)


def watch_alert(site: Site) -> str:
    lines = list(GROOMING_CHAT)
    lines[3:3] = [("u_sam", 31, p) for p in PAYLOADS]
    made = WatchFactory(site.db, site.settings.keyring).alert(lines=lines, title=PAYLOADS[0])
    return made.id


def wizard(page: Any, site: Site, payload: str) -> str:
    """The public wizard in Chromium with `payload` in every text box; returns the status
    link's token."""
    page.goto(site.url + "/report")

    def cont(label: str = "Continue") -> None:
        page.get_by_role("button", name=label, exact=True).click()
        page.wait_for_load_state()

    page.get_by_label("No", exact=True).check()
    cont()
    page.get_by_label("I am a child or young person (under 18)", exact=True).check()
    cont()
    page.locator("select[name=answer]").select_option("GB")
    cont()
    page.get_by_label("Someone online said or asked things that worried me", exact=True).check()
    cont()
    page.get_by_label("Asked how old you are", exact=True).check()
    cont()
    page.locator("input[name=answer]").fill(payload)  # platform
    cont()
    page.locator("input[name=answer]").fill(datetime.now(UTC).date().isoformat())
    cont()
    page.locator("input[name=answer]").fill(payload)  # the other person's username
    cont()
    page.get_by_label("Your name").fill(payload)
    page.locator("#f-phone").fill("020 7946 0018")
    page.get_by_label("13 to 15", exact=True).check()
    page.get_by_label("It is about me", exact=True).check()
    cont()
    page.get_by_label(re.compile("Paste the messages here")).fill(joined())
    cont("Send my report")
    href = page.locator("#status-link").get_attribute("href")
    assert href, page.content()[:500]
    token = href.split("/report/status/")[1].split("?")[0]
    page.goto(f"{site.url}/report/status/{token}")
    page.get_by_label("Anything else the officer should know").fill(joined())
    cont("Add this information")
    assert page.get_by_text("Your information was added").is_visible()
    site.keep("reporter note", joined(), True)
    return token


# ---- looking at the pages ------------------------------------------------------------------

def inspect(page: Any, site: Site, path: str, *, every: list[str] | None = None,
            some: list[str] | None = None) -> None:
    """Load `path` and check that nothing ran, nothing was blocked, nothing dangerous is in
    the DOM, and the payloads expected there read exactly as typed."""
    response = page.goto(site.url + path)
    assert response is not None and response.status < 500, (path, response and response.status)
    page.wait_for_load_state("load")
    name = re.sub(r"[A-Za-z0-9_-]{20,}|rm_[0-9a-f]+|%3C.*", "…", path.split("?")[0])
    name += " (query)" if "?" in path else ""
    assert page.evaluate("typeof window.__xss") == "undefined", f"a payload ran on {path}"
    assert page.evaluate("window.__cspEvents") == [], f"CSP blocked something on {path}"
    assert page.evaluate(DOM_SCAN) == [], f"dangerous markup on {path}"
    text = page.evaluate(PAGE_TEXT)
    missing = [p for p in every or [] if p.strip() not in text]
    assert not missing, f"{path}: not shown as typed: {missing[:3]}"
    if some:
        assert any(p.strip() in text for p in some), f"{path}: none of the payloads shown"
    shown = sum(1 for p in PAYLOADS if p.strip() in text)
    pages = FIGURES["xss"].setdefault("pages", {})
    pages[name] = max(pages.get(name, 0), shown)
    FIGURES["xss"]["page loads"] = FIGURES["xss"].get("page loads", 0) + 1
    FIGURES["xss"]["payloads shown"] = FIGURES["xss"].get("payloads shown", 0) + shown


def test_no_payload_runs_on_any_page(site, chromium):
    case_ids, status_token = file_provider_reports(site)
    register_rooms(site)
    sharing_request_from_hsi(site, case_ids[0])
    alert_id = watch_alert(site)
    officer = site.officers("xss.super", roles="officer,supervisor,list-editor,agency-admin")

    context = chromium.new_context()
    context.add_init_script(WATCH_EVENTS)
    page = context.new_page()
    page.set_default_timeout(20_000)

    # The public side: the wizard and the reporter's status page, then an officer's day.
    token = wizard(page, site, PAYLOADS[6])
    inspect(page, site, f"/report/status/{token}", every=PAYLOADS)
    log_in(page, site, officer)
    officer_forms(page, site, case_ids[0])
    with site.db.transaction() as s:
        wizard_report = s.scalar(select(ReportRow).where(ReportRow.channel != "api"))
        assert wizard_report is not None
        wizard_case = wizard_report.case_id
        titles = [c.title for c in s.scalars(select(CaseRow))]
    assert wizard_case
    accepted = site.accepted
    reporter_side = accepted.get("advice", [])

    # Reporter of report 0 (provider API) sees every advice on their status page.
    inspect(page, site, f"/report/status/{status_token}", every=reporter_side)

    inspect(page, site, "/", some=titles)
    # Case 0 shows the captured conversation and pasted text (every payload), and the notes.
    inspect(page, site, f"/cases/{case_ids[0]}", every=PAYLOADS + accepted.get("case note", []))
    inspect(page, site, f"/cases/{case_ids[0]}?template=keep_safe_grooming")
    inspect(page, site, f"/cases/{case_ids[0]}/referral")
    inspect(page, site, f"/cases/{case_ids[1]}/referral", some=PAYLOADS)
    inspect(page, site, f"/cases/{wizard_case}", every=[PAYLOADS[6]])
    for case_id in case_ids[1:]:
        inspect(page, site, f"/cases/{case_id}", some=PAYLOADS)
    inspect(page, site, "/sharing", every=[joined()[:1000].splitlines()[0]], some=PAYLOADS)
    inspect(page, site, "/block?per_page=200", some=accepted.get("block entry", []))
    inspect(page, site, "/block/history", some=accepted.get("block entry", []))
    for payload in PAYLOADS[:8]:
        inspect(page, site, "/block?" + httpx.QueryParams({"q": payload}).__str__())
    inspect(page, site, "/console/watch/rooms", some=accepted.get("room title", []))
    inspect(page, site, "/console/watch/roster", some=accepted.get("handover note", []))
    inspect(page, site, "/console/watch/coverage")
    inspect(page, site, "/console/watch/alerts")
    inspect(page, site, f"/console/watch/alerts/{alert_id}", some=PAYLOADS)
    inspect(page, site, "/admin/officers", some=accepted.get("officer name", []))
    inspect(page, site, "/dashboard")
    for payload in PAYLOADS[:8]:
        query = httpx.QueryParams({"lang": payload, "audience": payload, "q": payload})
        inspect(page, site, f"/report?{query}")
        inspect(page, site, f"/report/tips?{query}")
        inspect(page, site, f"/console/watch/alerts?{query}")
    inspect(page, site, "/cases/" + httpx.QueryParams({"x": PAYLOADS[0]}).__str__()[2:])

    # Control: a script the page's policy blocks on purpose must reach /csp-report, and
    # nothing else may have.
    counted = violations_of(site.app)
    assert counted.total == 0, list(counted.recent)
    page.goto(site.url + "/dashboard")
    page.evaluate("""() => { const s = document.createElement('script');
                              s.textContent = 'window.__control = 1';
                              document.body.appendChild(s); }""")
    assert page.evaluate("typeof window.__control") == "undefined"
    assert page.evaluate("window.__cspEvents.length") == 1
    deadline = time.monotonic() + 60
    while counted.total < 1 and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert counted.total == 1, "the control violation never reached /csp-report"
    assert counted.recent[-1].page == "/dashboard"
    assert counted.recent[-1].directive.startswith("script-src")
    context.close()
    FIGURES["xss"]["payloads"] = len(PAYLOADS)
    FIGURES["xss"]["accepted by channel"] = {k: len(v) for k, v in site.accepted.items()}
    FIGURES["xss"]["refused by channel"] = {k: len(v) for k, v in site.refused.items()}

