"""Cross-agency isolation at the query layer: B's objects do not exist for A."""

import pytest

from childsafe.core.errors import NotFound
from childsafe.store import accounts, agencies, audit, cases


def _setup(db, make_officer):
    a = make_officer("a.officer", agency="UK-NCA-CEOP")
    b = make_officer("b.officer", agency="US-DHS-HSI")
    with db.transaction() as s:
        case_a = cases.create_case(s, agency=agencies.get_by_code(s, "UK-NCA-CEOP"), title="A")
        case_b = cases.create_case(s, agency=agencies.get_by_code(s, "US-DHS-HSI"), title="B")
        pa = accounts.principal_for(s, accounts.get_user(s, "a.officer"))
        pb = accounts.principal_for(s, accounts.get_user(s, "b.officer"))
    return a, b, case_a, case_b, pa, pb


def test_officer_sees_only_own_agency(db, make_officer):
    _a, b, case_a, case_b, pa, _pb = _setup(db, make_officer)
    with db.transaction() as s:
        assert [c.id for c in cases.list_cases(s, pa)] == [case_a.id]
        assert cases.get_case(s, pa, case_a.id).title == "A"
        with pytest.raises(NotFound):
            cases.get_case(s, pa, case_b.id)
        with pytest.raises(NotFound):
            accounts.get_user_scoped(s, pa, b.id)


def test_sharing_grants_visibility_and_is_audited(db, make_officer):
    _a, _b, case_a, case_b, pa, pb = _setup(db, make_officer)
    with db.transaction() as s:
        cases.share_case(s, pb, case_b, agencies.get_by_code(s, "UK-NCA-CEOP"),
                         reason="suspect also active in GB")
    with db.transaction() as s:
        assert {c.id for c in cases.list_cases(s, pa)} == {case_a.id, case_b.id}
        assert cases.get_case(s, pa, case_b.id).title == "B"
        actions = [r.action for r in audit.recent(s)]
        assert "case.share" in actions and actions.count("case.view") == 1
