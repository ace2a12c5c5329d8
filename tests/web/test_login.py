"""Login with password + TOTP, enrolment with a QR code, lockout, session rotation."""

import pyotp
from sqlalchemy import select

from childsafe.store.models import AuditRow
from tests.helpers import STRONG_PASSWORD, csrf_from, user_row
from tests.web.conftest import login


def test_full_login_reaches_home(client, clock, make_officer):
    officer = make_officer("ceop.alex")
    r = login(client, clock, officer)
    assert r.status_code == 303 and r.headers["location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "Welcome, Ceop.Alex" in home.text
    assert "National Crime Agency" in home.text


def test_mfa_is_required_password_alone_is_not_enough(client, make_officer):
    officer = make_officer("ceop.mfa")
    page = client.get("/login")
    r = client.post("/login", data={"username": officer.username, "password": officer.password,
                                    "csrf": csrf_from(page.text)}, follow_redirects=False)
    assert r.headers["location"] == "/login/mfa"
    # The half-authenticated session opens nothing.
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/api/v1/me").status_code == 401


def test_unenrolled_officer_must_enrol_with_qr(client, clock, make_officer, keyring, db):
    officer = make_officer("ceop.new", enrolled=False)
    page = client.get("/login")
    r = client.post("/login", data={"username": officer.username, "password": officer.password,
                                    "csrf": csrf_from(page.text)}, follow_redirects=False)
    assert r.headers["location"] == "/login/enrol"
    enrol = client.get("/login/enrol")
    assert 'src="data:image/svg+xml;base64,' in enrol.text
    assert client.get("/login/mfa", follow_redirects=False).headers["location"] == "/login/enrol"
    from childsafe.store import accounts
    with db.transaction() as s:
        secret = accounts.totp_secret(keyring, accounts.get_user(s, "ceop.new"))
    assert " ".join(secret[i:i + 4] for i in range(0, 32, 4)) in enrol.text
    bad = client.post("/login/enrol", data={"code": "123", "csrf": csrf_from(enrol.text)})
    assert bad.status_code == 401 and "did not work" in bad.text
    clock.advance(seconds=31)
    r = client.post("/login/enrol", data={"code": pyotp.TOTP(secret).at(clock.now),
                                          "csrf": csrf_from(bad.text)}, follow_redirects=False)
    assert r.headers["location"] == "/"
    assert user_row(db, "ceop.new").totp_enrolled


def test_new_session_id_at_each_privilege_change(client, clock, make_officer):
    officer = make_officer("ceop.rot")
    page = client.get("/login")
    client.post("/login", data={"username": officer.username, "password": officer.password,
                                "csrf": csrf_from(page.text)}, follow_redirects=False)
    pending = client.cookies.get("__Host-cs_session")
    mfa = client.get("/login/mfa")
    clock.advance(seconds=31)
    r = client.post("/login/mfa", data={"code": clock.code(officer.totp_secret),
                                        "csrf": csrf_from(mfa.text)}, follow_redirects=False)
    final = r.cookies.get("__Host-cs_session")
    assert pending and final and pending != final
    cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("__Host-cs_session")][0]
    lowered = cookie.lower()
    assert "httponly" in lowered and "secure" in lowered and "samesite=strict" in lowered
    assert "path=/" in lowered and "domain" not in lowered


def test_lockout_after_five_failures(client, clock, make_officer, db):
    officer = make_officer("ceop.lock")
    for _ in range(5):
        page = client.get("/login")
        r = client.post("/login", data={"username": officer.username, "password": "nope-nope-nope",
                                        "csrf": csrf_from(page.text)})
        assert r.status_code == 401
    # Right password, right code: still locked for 10 minutes.
    page = client.get("/login")
    r = client.post("/login", data={"username": officer.username, "password": STRONG_PASSWORD,
                                    "csrf": csrf_from(page.text)}, follow_redirects=False)
    assert r.status_code == 401
    assert user_row(db, "ceop.lock").locked_until is not None
    clock.advance(minutes=10, seconds=1)
    assert login(client, clock, officer).headers["location"] == "/"


def test_unknown_user_and_bad_password_look_the_same(client, make_officer):
    make_officer("ceop.same")
    page = client.get("/login")
    a = client.post("/login", data={"username": "ceop.same", "password": "wrong-wrong-wrong",
                                    "csrf": csrf_from(page.text)})
    b = client.post("/login", data={"username": "nobody.here", "password": "wrong-wrong-wrong",
                                    "csrf": csrf_from(page.text)})
    assert a.status_code == b.status_code == 401
    assert csrf_from(a.text) and a.text.replace("ceop.same", "X") == b.text.replace("nobody.here", "X")


def test_logins_are_audited(client, clock, make_officer, db):
    officer = make_officer("ceop.audit")
    page = client.get("/login")
    client.post("/login", data={"username": officer.username, "password": "wrong-wrong-wrong",
                                "csrf": csrf_from(page.text)})
    login(client, clock, officer)
    with db.transaction() as s:
        rows = s.scalars(select(AuditRow).where(AuditRow.actor == "ceop.audit")).all()
        seen = {(r.action, r.outcome) for r in rows}
    assert ("login.password", "failure") in seen
    assert ("login.password", "success") in seen and ("login.mfa", "success") in seen


def test_totp_code_cannot_be_replayed(client, clock, make_officer):
    officer = make_officer("ceop.replay")
    code = clock.code(officer.totp_secret)
    clock.advance(seconds=-31)  # login() moves forward 31 s to exactly this step
    assert login(client, clock, officer, code=code).headers["location"] == "/"
    client.cookies.clear()
    clock.advance(seconds=-31)
    r = login(client, clock, officer, code=code)
    assert r.status_code == 401


def test_logout_ends_session(client, logged_in):
    logged_in()
    home = client.get("/")
    r = client.post("/logout", data={"csrf": csrf_from(home.text)}, follow_redirects=False)
    assert r.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303
