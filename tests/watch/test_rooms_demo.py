"""Watch demo data: idempotent, and the shared rooms are covered 24 h all year."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from childsafe.store import agencies
from childsafe.store.demo_watch import DEMO_ROOMS, seed_watch_demo
from childsafe.store.watch_models import RoomAssignmentRow, RoomRow, ShiftRow
from childsafe.watch import roster
from tests.watch.room_factory import MONDAY_9


def _count(s, row):
    return s.scalar(select(func.count()).select_from(row))


@pytest.fixture
def seeded(db):
    for _ in range(2):
        with db.transaction() as s:
            seed_watch_demo(s, MONDAY_9)
    return db


def test_seeding_twice_adds_nothing(seeded):
    with seeded.transaction() as s:
        assert _count(s, RoomRow) == len(DEMO_ROOMS)
        assert _count(s, RoomAssignmentRow) == sum(len(r[-1]) for r in DEMO_ROOMS)
        assert _count(s, ShiftRow) == 3
        assert {r.audience for r in s.scalars(select(RoomRow))} == {"teen", "general"}


@pytest.mark.parametrize("day", [date(2026, 1, 15), date(2026, 3, 20), date(2026, 4, 2),
                                 date(2026, 7, 1), date(2026, 10, 30), date(2026, 11, 24)])
def test_follow_the_sun_leaves_no_gap_in_shared_rooms(seeded, day):
    with seeded.transaction() as s:
        ceop = agencies.get_by_code(s, "UK-NCA-CEOP").id
        found = {c.room.title: c for c in roster.room_coverage(s, ceop, day, tz="UTC")}
    assert found["Teen lounge"].gaps == [] and found["Game chat"].gaps == []
    assert found["Music fans"].gaps  # monitored by CEOP alone: nights are gaps
