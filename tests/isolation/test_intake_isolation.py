"""Intake never puts one agency's report into another agency's case (both stores).

Found by the isolation matrix: duplicate detection (same evidence, same suspect, 24 h)
linked a report routed to US-DHS-HSI into the UK-NCA-CEOP case of an earlier report, so CEOP
read the US reporter's identity and HSI never saw its report. Duplicates now link within one
agency only; across agencies the match is what pooling shows (an agency code and a count).
"""

from __future__ import annotations

from sqlalchemy import select

from childsafe.reports import pooling
from childsafe.store import accounts
from childsafe.store.models import CaseRow, utcnow
from childsafe.store.report_models import ReportRow
from tests.reports.case_factory import context, file_report


def test_same_evidence_and_suspect_in_two_agencies_makes_two_cases(db, settings, make_officer):
    ctx = context(settings)
    now = utcnow()  # the same capture (same hash) about the same suspect, three times
    uk_report, uk_case = file_report(db, ctx, agency="UK-NCA-CEOP", suspect="u2", now=now)
    us_report, _ = file_report(db, ctx, agency="US-DHS-HSI", suspect="u2", now=now)
    again, again_case = file_report(db, ctx, agency="UK-NCA-CEOP", suspect="u2", now=now)
    with db.transaction() as s:
        us = s.get(ReportRow, us_report.id)
        assert us is not None and us.duplicate_of is None
        owner = s.get(CaseRow, us.case_id)
        assert owner is not None and owner.agency_id == us.agency_id != uk_case.agency_id
        # Within one agency a duplicate still joins the first case.
        assert s.get(ReportRow, again.id).duplicate_of == uk_report.id  # type: ignore[union-attr]
        assert again_case.id == uk_case.id
        # Every report sits in a case of the agency it was routed to.
        for report, case in s.execute(select(ReportRow, CaseRow).join(
                CaseRow, CaseRow.id == ReportRow.case_id)):
            assert report.agency_id == case.agency_id
    make_officer("ceop.pool", agency="UK-NCA-CEOP")
    with db.transaction() as s:
        who = accounts.principal_for(s, accounts.get_user(s, "ceop.pool"))
        assert pooling.matches(s, who, uk_case.id) == [pooling.PoolMatch("US-DHS-HSI", 1)]
