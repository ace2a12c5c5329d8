"""Agency admins manage their own officers; every change is audited; no escalation."""

from sqlalchemy import select

from childsafe.store import accounts
from childsafe.store.models import AuditRow, SessionRow
from tests.helpers import csrf_from, user_row
from tests.web.conftest import login


def test_admin_creates_officer_who_must_enrol(client, logged_in, db):
    logged_in("ceop.boss", roles="agency-admin")
    page = client.get("/admin/officers")
    assert page.status_code == 200 and "ceop.boss" in page.text
    r = client.post("/admin/officers", data={
        "username": "ceop.newbie", "display_name": "New Bie", "email": "newbie@example.com",
        "role": "officer", "password": "a-long-initial-password", "csrf": csrf_from(page.text)},
        follow_redirects=False)
    assert r.status_code == 303
    user = user_row(db, "ceop.newbie")
    assert not user.totp_enrolled and user.roles == "officer"
    with db.transaction() as s:
        assert s.scalar(select(AuditRow).where(AuditRow.action == "user.create",
                                               AuditRow.actor == "ceop.boss")) is not None


def test_invalid_officer_form_shows_inline_error(client, logged_in):
    logged_in("ceop.boss2", roles="agency-admin")
    page = client.get("/admin/officers")
    r = client.post("/admin/officers", data={
        "username": "x", "display_name": "X", "role": "officer", "password": "short",
        "csrf": csrf_from(page.text)})
    assert r.status_code == 422 and 'role="alert"' in r.text and "Username must be" in r.text


def test_cannot_grant_platform_admin_or_touch_other_agency(client, logged_in, make_officer):
    logged_in("ceop.boss3", roles="agency-admin")
    mine = make_officer("ceop.peer")
    theirs = make_officer("hsi.peer", agency="US-DHS-HSI")
    token = csrf_from(client.get("/admin/officers").text)
    r = client.post(f"/admin/officers/{mine.id}/roles", data={"role": "platform-admin",
                                                                "csrf": token})
    assert r.status_code == 422
    r = client.post(f"/admin/officers/{theirs.id}/disable", data={"csrf": token})
    assert r.status_code == 404


def test_disable_and_role_change_end_sessions(app, client, clock, logged_in, db, make_officer):
    from fastapi.testclient import TestClient

    logged_in("ceop.boss4", roles="agency-admin")
    target = make_officer("ceop.target")
    other = TestClient(app, base_url="https://testserver")
    assert login(other, clock, target).status_code == 303
    assert other.get("/").status_code == 200
    token = csrf_from(client.get("/admin/officers").text)
    r = client.post(f"/admin/officers/{target.id}/roles", data={"role": "supervisor",
                                                                "csrf": token},
                    follow_redirects=False)
    assert r.status_code == 303
    assert other.get("/", follow_redirects=False).status_code == 303
    assert login(other, clock, target).status_code == 303
    client.post(f"/admin/officers/{target.id}/disable", data={"csrf": token})
    assert other.get("/", follow_redirects=False).status_code == 303
    with db.transaction() as s:
        assert s.scalars(select(SessionRow).where(SessionRow.user_id == target.id)).all() == []
        actions = [r.action for r in s.scalars(select(AuditRow).where(
            AuditRow.object_id == str(target.id), AuditRow.actor == "ceop.boss4"))]
    assert actions == ["user.roles", "user.disable"]


def test_actions_without_csrf_refused(client, logged_in, make_officer, db):
    logged_in("ceop.boss5", roles="agency-admin")
    target = make_officer("ceop.victim")
    r = client.post(f"/admin/officers/{target.id}/disable", data={})
    assert r.status_code == 403
    assert not user_row(db, "ceop.victim").disabled


def test_officer_role_cannot_manage(client, logged_in):
    logged_in("ceop.plain")
    assert client.get("/admin/officers").status_code == 403


def test_reset_mfa_and_unlock(client, logged_in, make_officer, db):
    logged_in("ceop.boss6", roles="agency-admin")
    target = make_officer("ceop.locked")
    with db.transaction() as s:
        u = accounts.get_user(s, "ceop.locked")
        from datetime import UTC, datetime, timedelta
        u.locked_until = datetime.now(UTC) + timedelta(days=1)
    token = csrf_from(client.get("/admin/officers").text)
    client.post(f"/admin/officers/{target.id}/unlock", data={"csrf": token})
    client.post(f"/admin/officers/{target.id}/reset-mfa", data={"csrf": token})
    u = user_row(db, "ceop.locked")
    assert u.locked_until is None and not u.totp_enrolled
