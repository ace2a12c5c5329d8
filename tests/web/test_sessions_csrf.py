"""Idle and absolute session expiry, disabling, and CSRF rejection."""

from childsafe.store import accounts
from tests.helpers import csrf_from


def test_idle_timeout_30_minutes(client, clock, logged_in):
    logged_in()
    clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    clock.advance(minutes=29)  # activity resets the idle clock
    assert client.get("/").status_code == 200
    clock.advance(minutes=30)
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_absolute_lifetime_12_hours(client, clock, logged_in):
    logged_in()
    for _ in range(11 * 3):
        clock.advance(minutes=20)
        assert client.get("/").status_code == 200
    clock.advance(minutes=60)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_disabling_user_kills_live_session(client, db, logged_in):
    logged_in("ceop.dis")
    assert client.get("/").status_code == 200
    with db.transaction() as s:
        accounts.set_disabled(s, accounts.get_user(s, "ceop.dis"), True, actor="test")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_without_csrf_rejected(client, make_officer):
    officer = make_officer("ceop.csrf")
    client.get("/login")
    r = client.post("/login", data={"username": officer.username, "password": officer.password})
    assert r.status_code == 403
    r = client.post("/login", data={"username": officer.username, "password": officer.password,
                                    "csrf": "0" * 64})
    assert r.status_code == 403


def test_csrf_token_from_another_session_rejected(app, client, clock, logged_in):
    logged_in("ceop.c1")
    token_1 = csrf_from(client.get("/").text)
    from fastapi.testclient import TestClient

    from tests.web.conftest import login
    other = TestClient(app, base_url="https://testserver")
    from tests.helpers import Officer
    login(other, clock, Officer(0, "ceop.c1", "correct-horse-battery-staple",
                                _secret(app, "ceop.c1"), "UK-NCA-CEOP"))
    r = other.post("/logout", data={"csrf": token_1}, follow_redirects=False)
    assert r.status_code == 403
    assert other.get("/").status_code == 200  # still logged in: the forged logout failed


def _secret(app, username):
    with app.state.db.transaction() as s:
        return accounts.totp_secret(app.state.settings.keyring, accounts.get_user(s, username))


def test_json_api_unsafe_method_needs_csrf_header(app, client, logged_in):
    from fastapi import APIRouter

    from childsafe.core.permissions import Permission
    from childsafe.web.deps import requires

    router = APIRouter()

    @router.post("/api/v1/test-write", dependencies=[requires(Permission.CASE_WRITE)])
    def write():
        return {"ok": True}

    app.include_router(router)
    logged_in("ceop.api")
    assert client.post("/api/v1/test-write").status_code == 403
    assert client.post("/api/v1/test-write", headers={"x-csrf-token": "f" * 64}).status_code == 403
    token = csrf_from(client.get("/").text)
    assert client.post("/api/v1/test-write", headers={"x-csrf-token": token}).json() == {"ok": True}
