"""The roster in the store: shifts and notes scoped to the agency, audited; coverage per room."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from childsafe.core.errors import InvalidInput, NotFound
from childsafe.watch import roster, thresholds
from tests.watch import room_factory as rf


@pytest.fixture
def staff(db, make_officer):
    make_officer("ceop.s", roles="supervisor")
    make_officer("hsi.s", agency="US-DHS-HSI", roles="supervisor")
    return rf.principal(db, "ceop.s"), rf.principal(db, "hsi.s")


SHIFT_ERRORS = [({"timezone": "Europe/Lundon"}, "timezone"), ({"days": ""}, "days"),
                ({"start": "7"}, "start"), ({"end": "23:60"}, "end"), ({"label": "x" * 81}, "label")]


def test_invalid_shifts_name_the_field(db, staff):
    shift = {"timezone": "Europe/London", "days": "mon-fri", "start": "08:00", "end": "16:00"}
    for kwargs, field in SHIFT_ERRORS:
        with pytest.raises(InvalidInput) as err, db.transaction() as s:
            roster.add_shift(s, None, staff[0], **(shift | kwargs), now=rf.MONDAY_9)
        assert err.value.field == field


def test_shifts_are_the_agencys_own(db, staff):
    ceop, hsi = staff
    assert roster.AGENCY_ZONES["US-DHS-HSI"] == "America/New_York"
    with db.transaction() as s:
        assert roster.agency_timezone(s, ceop.agency_id, ceop.agency_code) == "Europe/London"
    shift_id = rf.shift(db, ceop, "Europe/Dublin", "sat,sun", "20:00", "04:00")
    with db.transaction() as s:
        (row,) = roster.shifts(s, ceop.agency_id)
        assert (row.days, row.start_minute, row.end_minute) == (0b1100000, 1200, 240)
        assert roster.shifts(s, hsi.agency_id) == []
        assert roster.agency_timezone(s, ceop.agency_id, ceop.agency_code) == "Europe/Dublin"
    with pytest.raises(NotFound), db.transaction() as s:
        roster.remove_shift(s, None, hsi, shift_id, now=rf.MONDAY_9)
    with db.transaction() as s:
        roster.remove_shift(s, None, ceop, shift_id, now=rf.MONDAY_9)
        assert roster.shifts(s, ceop.agency_id) == []


def test_handover_notes_newest_first_and_private_to_the_agency(db, staff):
    ceop, hsi = staff
    for i in range(3):
        with db.transaction() as s:
            roster.add_note(s, ceop, f"note {i}", now=rf.MONDAY_9 + timedelta(hours=i))
    with db.transaction() as s:
        assert [n.body for n in roster.notes(s, ceop)] == ["note 2", "note 1", "note 0"]
        assert roster.notes(s, ceop)[0].author == "Ceop.S"
        assert [n.body for n in roster.notes(s, ceop, limit=1)] == ["note 2"]
        assert roster.notes(s, hsi) == []
    with pytest.raises(InvalidInput), db.transaction() as s:
        roster.add_note(s, ceop, "x" * (roster.NOTE_MAX + 1), now=rf.MONDAY_9)


def test_coverage_of_shared_rooms_and_their_gaps(db, staff):
    ceop, hsi = staff
    provider_id, _ = rf.provider(db)
    room_id = rf.room(db, provider_id)
    rf.monitor(db, ceop, room_id)
    rf.monitor(db, hsi, room_id)
    rf.shift(db, ceop, "Europe/London", "mon-fri", "08:00", "16:00")
    rf.shift(db, hsi, "America/New_York", "mon-fri", "09:00", "17:00")  # 14:00-22:00 UTC
    with db.transaction() as s:
        (tuesday,) = roster.room_coverage(s, hsi.agency_id, date(2026, 11, 24))
        (saturday,) = roster.room_coverage(s, hsi.agency_id, date(2026, 11, 28))
    assert [a.code for a in tuesday.agencies] == ["UK-NCA-CEOP", "US-DHS-HSI"]
    assert tuesday.gaps == [(datetime(2026, 11, 24, 0, 0, tzinfo=UTC),
                             datetime(2026, 11, 24, 8, 0, tzinfo=UTC)),
                            (datetime(2026, 11, 24, 22, 0, tzinfo=UTC),
                             datetime(2026, 11, 25, 0, 0, tzinfo=UTC))]
    both = [s for s in tuesday.slots if len(s.agencies) == 2]
    assert both[0].start.hour == 14 and len(both) == 4  # 14:00-16:00 overlap
    assert len(saturday.gaps) == 1 and saturday.slots[0].agencies == ()
    with pytest.raises(InvalidInput), db.transaction() as s:
        roster.room_coverage(s, hsi.agency_id, date(2026, 11, 24), tz="Atlantis/Capital")


def test_threshold_settings_default_then_agency_own(db, staff):
    ceop, hsi = staff
    with db.transaction() as s:
        assert thresholds.current(s, ceop.agency_id).is_default
        thresholds.update(s, ceop, detector="rules", threshold="0,72", now=rf.MONDAY_9)
    with db.transaction() as s:
        point = thresholds.current(s, ceop.agency_id)
        assert (point.detector, point.threshold, point.is_default) == ("rules", 0.72, False)
        assert thresholds.current(s, hsi.agency_id) == thresholds.default_point()
    for value in ("0.04", "1", "nan", ""):
        with pytest.raises(InvalidInput) as err, db.transaction() as s:
            thresholds.update(s, ceop, detector="rules", threshold=value, now=rf.MONDAY_9)
        assert err.value.field == "threshold"
