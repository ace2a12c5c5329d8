"""The isolation matrix's core rows on PostgreSQL (marked integration): tenant predicates,
the refusal audit written after the rollback, and 404s identical to a missing object must
hold on both stores. The full matrix runs on SQLite (`test_matrix.py`)."""

from __future__ import annotations

import pytest

from tests.isolation.checks import check_cell
from tests.isolation.matrix import COLLECTIONS, OPS, Op
from tests.isolation.world import ACTORS, World

pytestmark = pytest.mark.integration

_ROWS = {
    ("GET", "/cases/{case_id}", "case"), ("GET", "/cases/{case_id}", "shared_case"),
    ("POST", "/cases/{case_id}/close", "shared_case"),
    ("POST", "/cases/{case_id}/note", "shared_case"),
    ("GET", "/cases/{case_id}/referral", "shared_case"),
    ("GET", "/cases/{case_id}/evidence/{evidence_id}", "evidence"),
    ("GET", "/cases/{case_id}/evidence/{evidence_id}", "crossed_evidence"),
    ("GET", "/console/watch/alerts/{alert_id}", "alert"),
    ("POST", "/console/watch/alerts/{alert_id}/intervene", "alert"),
    ("GET", "/api/v1/reports/{reference}", "report"),
    ("POST", "/api/v1/rooms/{room_id}/messages", "room"),
    ("POST", "/console/watch/roster/shifts/{shift_id}/remove", "shift"),
    ("POST", "/admin/officers/{user_id}/roles", "officer_account"),
    ("POST", "/api/v1/sharing-requests/{request_id}/approve", "sharing_request"),
    ("GET", "/audit/export", "none"),
}
SUBSET = [op for op in OPS + COLLECTIONS if (op.method, op.path, op.target) in _ROWS]


def test_subset_is_what_it_says() -> None:
    assert len(SUBSET) == len(_ROWS)


@pytest.mark.parametrize(("op", "actor"), [
    pytest.param(op, actor, id=f"{op.id}-{actor}") for op in SUBSET for actor in ACTORS])
def test_cell(pg_world: World, op: Op, actor: str) -> None:
    check_cell(pg_world, op, actor)
