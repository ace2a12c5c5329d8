"""The Watch alerts console: queue, live events, alert page, actions (CSRF, audit, agency
isolation, friendly errors) and inert message text."""

import re

import pytest
from sqlalchemy import select

from childsafe.reports import preservation
from childsafe.store.models import AuditRow, CaseRow, ProviderRow
from childsafe.store.watch_models import AlertFeedbackRow, AlertRow, InterventionRow
from childsafe.web import watch_console
from tests.helpers import csrf_from
from tests.watch.alert_factory import ADULT, CHILD, GROOMING_CHAT, WatchFactory

HOSTILE = ('<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
           '"><svg onload=alert(1)> are you home alone?')


@pytest.fixture
def watch(db, keyring):
    return WatchFactory(db, keyring)


def _audit(db, action):
    with db.transaction() as s:
        return list(s.scalars(select(AuditRow).where(AuditRow.action == action)))


def _post(client, path, page_html, **data):
    return client.post(path, data={"csrf": csrf_from(page_html), **data}, follow_redirects=False)


def test_queue_lists_own_agency_with_out_of_hours_flag(client, logged_in, watch):
    ours = watch.alert(out_of_hours=True)
    theirs = watch.alert("US-DHS-HSI")
    logged_in("ceop.queue")
    r = client.get("/console/watch/alerts")
    assert r.status_code == 200
    assert ours.reference in r.text and theirs.reference not in r.text
    assert "out of hours" in r.text and 'href="/console/watch/alerts"' in r.text
    assert 'src="/static/watch_alerts.js"' in r.text and "<style" not in r.text
    assert client.get("/console/watch/alerts?state=dismissed").text.count(ours.reference) == 0
    assert ours.reference in client.get("/console/watch/alerts?state=all&sort=riskiest").text


def test_events_stream(client, logged_in, watch, monkeypatch):
    monkeypatch.setattr(watch_console, "SSE_MAX_SECONDS", 0.2)
    monkeypatch.setattr(watch_console, "SSE_POLL_SECONDS", 0.1)
    watch.alert()
    logged_in("ceop.sse")
    with client.stream("GET", "/console/watch/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    assert "event: alerts" in body and '"active": 1' in body
    assert "how old" not in body  # counts and times only


def test_views_need_login_and_permission(client, logged_in, watch):
    made = watch.alert()
    assert client.get("/console/watch/alerts", follow_redirects=False).status_code == 303
    assert client.get("/console/watch/events", follow_redirects=False).status_code == 303
    logged_in("ceop.admin", roles="agency-admin")  # staffs the roster, reads no chat
    assert client.get(f"/console/watch/alerts/{made.id}").status_code == 403


def test_alert_page_shows_excerpt_cues_stages_chart(client, logged_in, watch, db):
    made = watch.alert()
    logged_in("ceop.page")
    r = client.get(f"/console/watch/alerts/{made.id}")
    assert r.status_code == 200
    assert '<mark class="cue" title="alone parents">are you home alone</mark>' in r.text
    assert "threshold crossed here" in r.text and 'class="chart risk-chart"' in r.text
    assert "Risk assessment: from message 5" in r.text
    assert ADULT in r.text and CHILD in r.text and made.hashes[0] in r.text
    (view,) = _audit(db, "watch.alert.view")
    assert view.outcome == "success" and view.actor == "ceop.page"


def test_another_agency_gets_404_and_the_attempt_is_audited(client, logged_in, watch, db):
    made = watch.alert("UK-NCA-CEOP")
    logged_in("hsi.nosy", agency="US-DHS-HSI")
    page = client.get("/console/watch/alerts")
    assert made.reference not in page.text
    assert client.get(f"/console/watch/alerts/{made.id}").status_code == 404
    r = _post(client, f"/console/watch/alerts/{made.id}/acknowledge", page.text)
    assert r.status_code == 404
    denied = _audit(db, "watch.alert.view") + _audit(db, "watch.alert.acknowledge")
    assert [(e.outcome, e.actor) for e in denied] == [("denied", "hsi.nosy")] * 2
    with db.transaction() as s:
        assert s.get(AlertRow, made.id).state == "open"


def test_message_markup_is_inert(client, logged_in, watch):
    lines = [*GROOMING_CHAT[:4], (ADULT, 31, HOSTILE), *GROOMING_CHAT[4:]]
    made = watch.alert(lines=lines)
    logged_in("ceop.xss")
    r = client.get(f"/console/watch/alerts/{made.id}")
    assert r.status_code == 200
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in r.text
    assert "<script>window.pwned" not in r.text and "<img src=x" not in r.text
    assert "<svg onload" not in r.text
    assert re.search(r"<script(?! src=\"/static/)", r.text) is None


def test_acknowledge_then_invalid_transition_shows_why(client, logged_in, watch, db):
    made = watch.alert()
    logged_in("ceop.ack")
    page = client.get(f"/console/watch/alerts/{made.id}")
    assert client.post(f"/console/watch/alerts/{made.id}/acknowledge",
                       follow_redirects=False).status_code == 403  # no CSRF token
    r = _post(client, f"/console/watch/alerts/{made.id}/acknowledge", page.text)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=acknowledged")
    again = _post(client, f"/console/watch/alerts/{made.id}/acknowledge", page.text)
    assert again.status_code == 409 and "already acknowledged" in again.text
    assert 'role="alert"' in again.text
    (ack,) = _audit(db, "watch.alert.acknowledge")
    assert ack.outcome == "success"


def test_dismiss_with_reason_stores_feedback(client, logged_in, watch, db):
    made = watch.alert()
    logged_in("ceop.dis")
    page = client.get(f"/console/watch/alerts/{made.id}")
    bad = _post(client, f"/console/watch/alerts/{made.id}/dismiss", page.text, reason="other")
    assert bad.status_code == 422 and "Say in the note" in bad.text
    r = _post(client, f"/console/watch/alerts/{made.id}/dismiss", page.text,
              reason="not_grooming", note="a teacher and her class")
    assert r.status_code == 303
    with db.transaction() as s:
        (fb,) = s.scalars(select(AlertFeedbackRow))
        assert (fb.label, fb.reason, fb.note) == ("not_grooming", "not_grooming",
                                                  "a teacher and her class")
    shown = client.get(r.headers["location"]).text
    assert "Acknowledge" not in shown and "verdict not grooming" in shown


def test_intervene_and_open_case_from_the_page(client, logged_in, watch, db, keyring):
    made = watch.alert()
    with db.transaction() as s:
        preservation.set_webhook(s, keyring, s.get(ProviderRow, made.provider_id),
                                 "https://provider.example/hook", actor="test")
    logged_in("ceop.act")
    page = client.get(f"/console/watch/alerts/{made.id}")
    assert "This is a message from the police" in page.text  # the starting text, editable
    r = _post(client, f"/console/watch/alerts/{made.id}/intervene", page.text,
              kind="private_advice", target=CHILD, message="Please talk to an adult you trust.")
    assert r.status_code == 303
    r = _post(client, f"/console/watch/alerts/{made.id}/case", page.text)
    assert r.status_code == 303 and r.headers["location"].startswith("/cases/")
    case_page = client.get(r.headers["location"])
    assert case_page.status_code == 200 and made.texts[4] in case_page.text
    assert made.hashes[4] in case_page.text  # each message's ingest hash is on the case page
    assert "Advise the reporter" not in case_page.text  # Watch cases have no reporter
    with db.transaction() as s:
        (row,) = s.scalars(select(InterventionRow))
        assert (row.kind, row.target_id, row.body) == (
            "private_advice", CHILD, "Please talk to an adult you trust.")
        alert = s.get(AlertRow, made.id)
        assert alert.state == "actioned" and s.get(CaseRow, alert.case_id) is not None
    shown = client.get(f"/console/watch/alerts/{made.id}").text
    assert "private advice → u_kim" in shown and "Open a case" not in shown
