"""The case page says when a case is under legal hold (escaped, like every other field)."""

from childsafe.store import accounts, retention
from childsafe.store.models import CaseRow
from tests.store.store_factory import submit

REASON = "<b onmouseover=alert(1)>Court order 2027/114</b>"


def test_case_page_shows_the_legal_hold(client, logged_in, db, settings, clock):
    _, case_id = submit(db, settings, clock.now)
    officer = logged_in("ceop.hold", roles="supervisor")
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200 and 'id="legal-hold"' not in page.text
    with db.transaction() as s:
        who = accounts.principal_for(s, accounts.get_user(s, officer.username))
        retention.set_legal_hold(s, s.get(CaseRow, case_id), True, REASON, clock.now, by=who)
    page = client.get(f"/cases/{case_id}")
    assert 'id="legal-hold"' in page.text and "by ceop.hold" in page.text
    assert "&lt;b onmouseover=alert(1)&gt;Court order 2027/114&lt;/b&gt;" in page.text
    assert "<b onmouseover" not in page.text
