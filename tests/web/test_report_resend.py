"""A new verification code when the first one expired or was typed wrongly too often."""

from sqlalchemy import select

from childsafe.store.report_models import ReportRow
from tests.helpers import csrf_from
from tests.web.test_report_pages import file_report, mail_code


def test_expired_code_can_be_renewed_and_used(client, db, settings, clock):
    _w, token = file_report(client)
    old_code, _link = mail_code(db, settings)
    clock.advance(hours=25)
    page = client.get(f"/report/status/{token}")
    r = client.post(f"/report/status/{token}/verify",
                    data={"csrf": csrf_from(page.text), "code": old_code})
    assert r.status_code == 410 and "Send me a new code" in r.text
    r = client.post(f"/report/status/{token}/resend", data={"csrf": csrf_from(r.text)})
    assert r.status_code == 200 and "A new code is on its way" in r.text
    new_code, _ = mail_code(db, settings)
    r = client.post(f"/report/status/{token}/verify",
                    data={"csrf": csrf_from(r.text), "code": new_code})
    assert r.status_code == 200
    with db.transaction() as s:
        assert s.scalar(select(ReportRow.state)) == "with_officers"


def test_resend_is_limited_and_needs_csrf(client, db, settings, clock):
    _w, token = file_report(client)
    page = client.get(f"/report/status/{token}")
    assert client.post(f"/report/status/{token}/resend", data={}).status_code == 403
    statuses = [client.post(f"/report/status/{token}/resend",
                            data={"csrf": csrf_from(page.text)}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_no_resend_after_72_hours(client, db, settings, clock):
    _w, token = file_report(client)
    page = client.get(f"/report/status/{token}")
    clock.advance(hours=72, seconds=1)
    r = client.post(f"/report/status/{token}/resend", data={"csrf": csrf_from(page.text)})
    assert r.status_code == 404
