"""International pooling on both stores: a match reveals an agency and a count, never a case;
sharing happens only when the other agency's supervisor approves."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from childsafe.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from childsafe.reports import pooling
from childsafe.store import accounts, cases
from childsafe.store.models import AuditRow, utcnow
from tests.helpers import csrf_from
from tests.reports.case_factory import context, file_report
from tests.web.conftest import login


@pytest.fixture
def world(db, settings):
    """CEOP holds case A about suspect u2; HSI holds two cases about u2 and one about u7;
    AFP holds one case about u9."""
    ctx = context(settings)
    _, a = file_report(db, ctx, agency="UK-NCA-CEOP", suspect="u2", room="gb-1")
    _, b1 = file_report(db, ctx, agency="US-DHS-HSI", suspect="u2", room="us-1")
    _, b2 = file_report(db, ctx, agency="US-DHS-HSI", suspect="u2", room="us-2")
    _, b3 = file_report(db, ctx, agency="US-DHS-HSI", suspect="u7", room="us-3")
    _, c = file_report(db, ctx, agency="AU-AFP-ACCCE", suspect="u9", room="au-1")
    return {"a": a.id, "b1": b1.id, "b2": b2.id, "b3": b3.id, "c": c.id}


def principal(db, make_officer, username, agency, roles="supervisor"):
    make_officer(username, agency=agency, roles=roles)
    with db.transaction() as s:
        return accounts.principal_for(s, accounts.get_user(s, username))


@pytest.fixture
def people(db, make_officer):
    return {"ceop": principal(db, make_officer, "ceop.sup", "UK-NCA-CEOP"),
            "ceop_officer": principal(db, make_officer, "ceop.off", "UK-NCA-CEOP", "officer"),
            "hsi": principal(db, make_officer, "hsi.sup", "US-DHS-HSI"),
            "afp": principal(db, make_officer, "afp.sup", "AU-AFP-ACCCE")}


def test_match_reveals_agency_and_count_only(db, world, people):
    with db.transaction() as s:
        found = pooling.matches(s, people["ceop_officer"], world["a"])
    assert found == [pooling.PoolMatch("US-DHS-HSI", 2)]
    assert set(pooling.PoolMatch.__dataclass_fields__) == {"agency_code", "cases"}
    with db.transaction() as s:
        entry = s.scalars(select(AuditRow).where(AuditRow.action == "case.pooling")).one()
        assert entry.detail == {"matches": {"US-DHS-HSI": 2}} and entry.object_id == world["a"]
        assert pooling.matches(s, people["hsi"], world["b1"]) == [
            pooling.PoolMatch("UK-NCA-CEOP", 1)]  # and not its own other case


def test_third_agency_sees_nothing(db, world, people):
    with db.transaction() as s:
        with pytest.raises(NotFound):
            pooling.matches(s, people["afp"], world["a"])
        assert pooling.matches(s, people["afp"], world["c"]) == []
        assert pooling.list_requests(s, people["afp"]) == []


def test_request_rules(db, world, people):
    now = utcnow()
    with db.transaction() as s:
        with pytest.raises(PermissionDenied):
            pooling.request_sharing(s, people["ceop_officer"], world["a"], "US-DHS-HSI", "x", now)
        with pytest.raises(InvalidInput):
            pooling.request_sharing(s, people["ceop"], world["a"], "US-DHS-HSI", "  ", now)
        with pytest.raises(InvalidInput):  # AFP holds nothing matching
            pooling.request_sharing(s, people["ceop"], world["a"], "AU-AFP-ACCCE", "why", now)
        with pytest.raises(InvalidInput):
            pooling.request_sharing(s, people["ceop"], world["a"], "UK-NCA-CEOP", "why", now)
        with pytest.raises(NotFound):  # another agency's case
            pooling.request_sharing(s, people["ceop"], world["b1"], "US-DHS-HSI", "why", now)
        with pytest.raises(NotFound):
            pooling.request_sharing(s, people["ceop"], world["a"], "NOPE", "why", now)
    with db.transaction() as s:
        made = pooling.request_sharing(s, people["ceop"], world["a"], "US-DHS-HSI",
                                       "Same account grooming in both countries", now)
        assert (made.state, made.direction, made.case_id) == ("pending", "outgoing", world["a"])
    with pytest.raises(Conflict), db.transaction() as s:
        pooling.request_sharing(s, people["ceop"], world["a"], "US-DHS-HSI", "again", now)


def test_incoming_shows_own_matching_cases_never_the_requesters(db, world, people):
    with db.transaction() as s:
        pooling.request_sharing(s, people["ceop"], world["a"], "US-DHS-HSI", "same suspect",
                                utcnow())
    with db.transaction() as s:
        [incoming] = pooling.list_requests(s, people["hsi"])
        assert incoming.from_agency == "UK-NCA-CEOP" and incoming.case_id is None
        assert {c.id for c in incoming.matching_cases} == {world["b1"], world["b2"]}
        assert incoming.requested_by == "Ceop.Sup"
        [outgoing] = pooling.list_requests(s, people["ceop"], direction="outgoing")
        assert outgoing.to_agency == "US-DHS-HSI" and outgoing.matching_cases == ()
        assert pooling.list_requests(s, people["ceop"]) == []  # nothing incoming for CEOP


def test_approve_shares_their_matching_cases(db, world, people):
    with db.transaction() as s:
        rid = pooling.request_sharing(s, people["ceop"], world["a"], "US-DHS-HSI", "same suspect",
                                      utcnow()).id
    for who in ("afp", "ceop"):  # neither the third agency nor the requester can decide
        with pytest.raises(NotFound), db.transaction() as s:
            pooling.decide(s, people[who], rid, approve=True, now=utcnow())
    with pytest.raises(NotFound), db.transaction() as s:
        cases.get_case(s, people["ceop"], world["b1"])
    with db.transaction() as s:
        done = pooling.decide(s, people["hsi"], rid, approve=True, now=utcnow(), note="ok")
        assert done.state == "approved"
    with db.transaction() as s:
        for key in ("b1", "b2"):
            assert cases.get_case(s, people["ceop_officer"], world[key]).id == world[key]
        with pytest.raises(NotFound):
            cases.get_case(s, people["ceop"], world["b3"])  # no match: not shared
        with pytest.raises(NotFound):
            cases.get_case(s, people["afp"], world["b1"])
        assert pooling.matches(s, people["ceop"], world["a"]) == []  # now visible: no match
        actions = s.scalars(select(AuditRow.action).where(
            AuditRow.action.in_(["case.share", "sharing.approve"])).order_by(AuditRow.seq)).all()
        assert actions == ["case.share", "case.share", "sharing.approve"]
    with pytest.raises(Conflict), db.transaction() as s:
        pooling.decide(s, people["hsi"], rid, approve=False, now=utcnow())


def test_refuse_shares_nothing(db, world, people):
    with db.transaction() as s:
        rid = pooling.request_sharing(s, people["ceop"], world["a"], "US-DHS-HSI", "same suspect",
                                      utcnow()).id
    with db.transaction() as s:
        assert pooling.decide(s, people["hsi"], rid, approve=False, now=utcnow(),
                              note="ongoing covert operation").state == "refused"
    with db.transaction() as s:
        with pytest.raises(NotFound):
            cases.get_case(s, people["ceop"], world["b1"])
        entry = s.scalars(select(AuditRow).where(AuditRow.action == "sharing.refuse")).one()
        assert entry.detail["shared_cases"] == [] and entry.agency == "US-DHS-HSI"
        assert pooling.matches(s, people["ceop"], world["a"]) == [
            pooling.PoolMatch("US-DHS-HSI", 2)]


# ---- the JSON API ---------------------------------------------------------------------------

@pytest.fixture
def app(settings, db, clock):
    from childsafe.web.app import create_app

    application = create_app(settings, db)
    application.state.clock = clock
    return application


@pytest.fixture
def browser(app, clock, make_officer):
    """A logged-in API client per officer, with the CSRF header set."""
    made = []

    def _open(username, agency, roles="supervisor"):
        client = TestClient(app, base_url="https://testserver")
        client.__enter__()
        made.append(client)
        response = login(client, clock, make_officer(username, agency=agency, roles=roles))
        assert response.status_code == 303
        client.headers["x-csrf-token"] = csrf_from(client.get("/").text)
        return client

    yield _open
    for client in made:
        client.__exit__(None, None, None)


def test_api_flow(world, browser):
    ceop = browser("ceop.api", "UK-NCA-CEOP")
    officer = browser("ceop.api.off", "UK-NCA-CEOP", "officer")
    hsi = browser("hsi.api", "US-DHS-HSI")
    afp = browser("afp.api", "AU-AFP-ACCCE")
    r = officer.get(f"/api/v1/cases/{world['a']}/pooling")
    assert r.status_code == 200
    assert r.json() == {"case_id": world["a"],
                        "matches": [{"agency_code": "US-DHS-HSI", "cases": 2}]}
    assert world["b1"] not in r.text and world["b2"] not in r.text
    assert afp.get(f"/api/v1/cases/{world['a']}/pooling").status_code == 404
    assert officer.get("/api/v1/sharing-requests").status_code == 403  # supervisors only
    assert officer.post("/api/v1/sharing-requests", json={
        "case_id": world["a"], "to_agency": "US-DHS-HSI", "reason": "x"}).status_code == 403
    no_csrf = ceop.post("/api/v1/sharing-requests", headers={"x-csrf-token": ""}, json={
        "case_id": world["a"], "to_agency": "US-DHS-HSI", "reason": "same suspect"})
    assert no_csrf.status_code == 403
    r = ceop.post("/api/v1/sharing-requests", json={
        "case_id": world["a"], "to_agency": "US-DHS-HSI", "reason": "same suspect"})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["state"] == "pending" and r.json()["case_id"] == world["a"]
    assert afp.get("/api/v1/sharing-requests").json() == []
    [incoming] = hsi.get("/api/v1/sharing-requests").json()
    assert incoming["case_id"] is None and incoming["from_agency"] == "UK-NCA-CEOP"
    assert {c["id"] for c in incoming["matching_cases"]} == {world["b1"], world["b2"]}
    assert world["a"] not in str(incoming)
    [outgoing] = ceop.get("/api/v1/sharing-requests?direction=outgoing").json()
    assert outgoing["id"] == rid
    for client in (afp, ceop):
        assert client.post(f"/api/v1/sharing-requests/{rid}/approve").status_code == 404
    assert afp.post("/api/v1/sharing-requests/999999/refuse").status_code == 404
    assert ceop.get(f"/api/v1/cases/{world['b1']}").status_code == 404
    r = hsi.post(f"/api/v1/sharing-requests/{rid}/approve", json={"note": "go ahead"})
    assert r.status_code == 200 and r.json()["state"] == "approved"
    assert ceop.get(f"/api/v1/cases/{world['b1']}").status_code == 200
    assert afp.get(f"/api/v1/cases/{world['b1']}").status_code == 404
    assert hsi.post(f"/api/v1/sharing-requests/{rid}/refuse").status_code == 409


def test_api_refuse(world, browser):
    ceop = browser("ceop.api2", "UK-NCA-CEOP")
    hsi = browser("hsi.api2", "US-DHS-HSI")
    rid = ceop.post("/api/v1/sharing-requests", json={
        "case_id": world["a"], "to_agency": "US-DHS-HSI", "reason": "same suspect"}).json()["id"]
    r = hsi.post(f"/api/v1/sharing-requests/{rid}/refuse")
    assert r.status_code == 200 and r.json()["state"] == "refused"
    assert ceop.get(f"/api/v1/cases/{world['b1']}").status_code == 404
    [outgoing] = ceop.get("/api/v1/sharing-requests?direction=outgoing").json()
    assert outgoing["state"] == "refused"
    assert ceop.get("/api/v1/sharing-requests?direction=sideways").status_code == 422
