"""Watch set-up console: rooms, roster and handover notes, coverage, thresholds (both stores)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from childsafe.store.models import AuditRow
from tests.helpers import csrf_from
from tests.watch import room_factory as rf
from tests.web.conftest import login


@pytest.fixture
def as_user(app, clock, make_officer):
    """A logged-in client per user (several agencies in one test)."""
    clients = []

    def _as(username, *, roles="officer", agency="UK-NCA-CEOP"):
        client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
        clients.append(client)
        assert login(client, clock, make_officer(username, roles=roles, agency=agency)
                     ).status_code == 303
        return client
    yield _as
    for client in clients:
        client.close()


@pytest.fixture
def room_id(db):
    provider_id, _ = rf.provider(db)
    rf.room(db, provider_id, "general-1", title="General chat", audience="general", region="US")
    return rf.room(db, provider_id)


def _post(client, page, url, data):
    return client.post(url, data=data | {"csrf": csrf_from(client.get(page).text)},
                       follow_redirects=False)


def _actions(db, agency):
    with db.transaction() as s:
        return list(s.scalars(select(AuditRow.action).where(AuditRow.agency == agency,
                                                            AuditRow.action.like("watch.%"))))


def test_supervisor_chooses_rooms_with_csrf(as_user, db, room_id):
    sup = as_user("ceop.sup", roles="supervisor")
    page = sup.get("/console/watch/rooms")
    assert page.status_code == 200 and "Teen lounge" in page.text and "General chat" in page.text
    assert 'href="/console/watch/rooms"' in page.text  # the console navigation links here
    no_csrf = sup.post(f"/console/watch/rooms/{room_id}/monitor", data={"monitor": "1"},
                       follow_redirects=False)
    assert no_csrf.status_code == 403
    r = _post(sup, "/console/watch/rooms", f"/console/watch/rooms/{room_id}/monitor",
              {"monitor": "1", "back": "audience=teen&evil=1"})
    assert r.status_code == 303
    assert r.headers["location"] == "/console/watch/rooms?audience=teen&done=monitor"
    mine = sup.get("/console/watch/rooms?mine=yes")
    assert "Teen lounge" in mine.text and "General chat" not in mine.text
    assert "UK-NCA-CEOP" in mine.text and "Stop monitoring" in mine.text
    assert "General chat" in sup.get("/console/watch/rooms?audience=general&region=us").text
    assert _actions(db, "UK-NCA-CEOP") == ["watch.room_monitor"]


def test_officer_views_but_cannot_change(as_user, room_id):
    officer = as_user("ceop.off")
    page = officer.get("/console/watch/rooms")
    assert page.status_code == 200 and "Stop monitoring" not in page.text
    assert ">Monitor<" not in page.text
    r = _post(officer, "/console/watch/rooms", f"/console/watch/rooms/{room_id}/monitor",
              {"monitor": "1"})
    assert r.status_code == 403
    assert "Add a shift" not in officer.get("/console/watch/roster").text
    r = _post(officer, "/console/watch/roster", "/console/watch/roster/shifts",
              {"timezone": "UTC", "days": "daily", "start": "00:00", "end": "08:00"})
    assert r.status_code == 403


def test_roles_without_watch_are_refused(as_user):
    editor = as_user("list.ed", roles="list-editor", agency="UK-NCA-CEOP")
    for path in ("rooms", "roster", "coverage", "thresholds"):
        assert editor.get(f"/console/watch/{path}").status_code == 403
    assert 'href="/console/watch/rooms"' not in editor.get("/block").text


SHIFT_ERRORS = [("timezone", "Mars/Base", "Unknown time zone"), ("days", "someday", "Unknown day"),
                ("start", "25:00", "not a time of day"), ("end", "8am", "must look like 09:00")]


def test_shift_errors_are_shown_inline(as_user):
    sup = as_user("ceop.sup", roles="supervisor")
    for field, value, message in SHIFT_ERRORS:
        form = {"timezone": "Europe/London", "days": "mon-fri", "start": "08:00",
                "end": "16:00", "label": "Day"} | {field: value}
        r = _post(sup, "/console/watch/roster", "/console/watch/roster/shifts", form)
        assert r.status_code == 422 and message in r.text
        assert re.search(rf'id="shift-{field}" name="{field}" value="{re.escape(value)}"[^>]*'
                         r'aria-invalid="true"', r.text)
    assert "No shift yet" in sup.get("/console/watch/roster").text


def test_shifts_and_notes_belong_to_the_agency(as_user, db):
    ceop = as_user("ceop.sup", roles="supervisor")
    r = _post(ceop, "/console/watch/roster", "/console/watch/roster/shifts",
              {"timezone": "Europe/London", "days": "mon-fri", "start": "22:00",
               "end": "06:00", "label": "Night watch"})
    assert r.status_code == 303
    page = ceop.get("/console/watch/roster")
    assert "Night watch" in page.text and "(next day)" in page.text
    shift_id = re.search(r'id="shift-(\d+)"', page.text).group(1)
    assert _post(ceop, "/console/watch/roster", "/console/watch/roster/notes",
                 {"body": "Teen lounge: user asking ages, keep an eye on it."}).status_code == 303
    assert "keep an eye on it" in ceop.get("/console/watch/roster").text

    hsi = as_user("hsi.sup", roles="supervisor", agency="US-DHS-HSI")
    theirs = hsi.get("/console/watch/roster")
    assert "Night watch" not in theirs.text and "keep an eye" not in theirs.text
    r = _post(hsi, "/console/watch/roster", f"/console/watch/roster/shifts/{shift_id}/remove", {})
    assert r.status_code == 404
    huge = _post(ceop, "/console/watch/roster", f"/console/watch/roster/shifts/{2**64 + 1}/remove", {})
    assert huge.status_code == 422  # an id past 64 bits is a clear error, not a 500
    admin = as_user("ceop.admin", roles="agency-admin")  # manages the roster, reads no notes
    own = admin.get("/console/watch/roster")
    assert "Night watch" in own.text and "keep an eye" not in own.text
    assert _post(admin, "/console/watch/roster", "/console/watch/roster/notes",
                 {"body": "hello"}).status_code == 403
    empty = _post(ceop, "/console/watch/roster", "/console/watch/roster/notes", {"body": "  "})
    assert empty.status_code == 422 and "Write the handover note first" in empty.text
    assert _post(ceop, "/console/watch/roster", f"/console/watch/roster/shifts/{shift_id}/remove",
                 {}).status_code == 303
    assert "Night watch" not in ceop.get("/console/watch/roster").text
    assert _actions(db, "UK-NCA-CEOP") == ["watch.shift_add", "watch.handover_note",
                                           "watch.shift_remove"]


def test_coverage_shows_each_agency_and_the_gaps(as_user, db, room_id):
    as_user("ceop.sup", roles="supervisor")
    as_user("afp.sup", roles="supervisor", agency="AU-AFP-ACCCE")
    ceop, afp = rf.principal(db, "ceop.sup"), rf.principal(db, "afp.sup")
    rf.monitor(db, ceop, room_id)
    rf.monitor(db, afp, room_id)
    rf.shift(db, ceop, "Europe/London", "daily", "08:00", "16:00")
    rf.shift(db, afp, "Australia/Sydney", "daily", "09:00", "17:00")  # 22:00-06:00 UTC
    viewer = as_user("ceop.view")  # officers may view
    r = viewer.get("/console/watch/coverage?day=2026-11-24&tz=UTC")
    assert r.status_code == 200
    assert re.findall(r'<li class="gap-item">([^<]+)</li>', r.text) == [
        "06:00–08:00", "16:00–22:00"]
    svg = re.search(r"<svg class=\"coverage\".*?</svg>", r.text, re.S).group(0)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    desc = root.find(f"{ns}desc").text
    assert "UK-NCA-CEOP: 08:00–16:00" in desc and "AU-AFP-ACCCE: 00:00–06:00, 22:00–24:00" in desc
    assert "Gaps: 06:00–08:00, 16:00–22:00" in desc
    assert len([e for e in root.iter(f"{ns}rect") if e.get("class") == "gap"]) == 2
    london = viewer.get("/console/watch/coverage?day=2026-11-24")  # agency's own zone
    assert "(Europe/London)" in london.text
    bad = viewer.get("/console/watch/coverage?day=tomorrow&tz=Nowhere/Land")
    assert bad.status_code == 200 and "Unknown time zone" in bad.text
    rf.shift(db, ceop, "Europe/London", "daily", "16:00", "08:00")
    full = viewer.get("/console/watch/coverage?day=2026-11-24&tz=UTC")
    assert "Covered all day." in full.text and "gap-item" not in full.text


def test_thresholds_validated_and_audited(as_user, db):
    officer = as_user("ceop.off")
    page = officer.get("/console/watch/thresholds")
    assert page.status_code == 200 and "precision of at least 0.9" in page.text
    assert "(the default)" in page.text and "Change it" not in page.text
    sup = as_user("ceop.sup", roles="supervisor")
    for value in ("1.5", "0.01", "abc"):
        r = _post(sup, "/console/watch/thresholds", "/console/watch/thresholds",
                  {"detector": "rules", "threshold": value})
        assert r.status_code == 422 and 'aria-invalid="true"' in r.text
    r = _post(sup, "/console/watch/thresholds", "/console/watch/thresholds",
              {"detector": "no-such", "threshold": "0.7"})
    assert r.status_code == 422 and "Choose a detector" in r.text
    r = _post(sup, "/console/watch/thresholds", "/console/watch/thresholds",
              {"detector": "rules", "threshold": "0.7"})
    assert r.status_code == 303
    saved = officer.get("/console/watch/thresholds").text
    assert 'id="current-threshold">0.7<' in saved and "(the default)" not in saved
    assert _post(officer, "/console/watch/thresholds", "/console/watch/thresholds",
                 {"detector": "rules", "threshold": "0.5"}).status_code == 403
    assert _actions(db, "UK-NCA-CEOP") == ["watch.threshold_set"]
    other = as_user("hsi.off", agency="US-DHS-HSI")
    assert "(the default)" in other.get("/console/watch/thresholds").text
