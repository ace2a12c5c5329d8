"""Shifts in local time zones, duty, coverage gaps and alert routing."""

from datetime import UTC, date, datetime

import pytest

from childsafe.watch.core.roster import (
    ALL_DAYS,
    RosterError,
    Route,
    coverage,
    format_clock,
    format_days,
    gaps,
    make_shift,
    next_on_duty,
    on_duty,
    parse_days,
    route,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("text", "days"), [
    ("mon-fri", "mon,tue,wed,thu,fri"), ("sat,sun", "sat,sun"), ("daily", "daily"),
    ("fri-mon", "mon,fri,sat,sun"), ("Wed", "wed"), ("mon-sun", "daily")])
def test_days_parse_and_format(text, days):
    assert format_days(parse_days(text)) == days


@pytest.mark.parametrize("text", ["", "funday", "mon-xyz", ","])
def test_bad_days_name_the_field(text):
    with pytest.raises(RosterError) as err:
        parse_days(text)
    assert err.value.field == "days"


@pytest.mark.parametrize(("field", "kwargs"), [
    ("timezone", {"timezone": "Mars/Olympus"}), ("start", {"start": "9am"}),
    ("end", {"end": "25:00"}), ("start", {"start": "10:75"}), ("label", {"label": "x" * 81})])
def test_bad_shift_parts(field, kwargs):
    args = {"timezone": "Europe/London", "days": "mon-fri", "start": "09:00", "end": "17:00"} | kwargs
    with pytest.raises(RosterError) as err:
        make_shift("ceop", **args)
    assert err.value.field == field


def test_shift_is_in_its_own_time_zone_with_daylight_saving():
    london = make_shift("ceop", "Europe/London", "mon-fri", "09:00", "17:00")
    # Winter: London is UTC; summer: UTC+1, so 08:30 UTC is 09:30 local.
    assert london.covers(at("2026-12-01T09:30"))
    assert not london.covers(at("2026-12-01T08:30"))
    assert london.covers(at("2026-07-01T08:30"))
    assert not london.covers(at("2026-12-05T10:00"))  # Saturday


def test_overnight_shift_belongs_to_the_day_it_starts():
    night = make_shift("ceop", "UTC", "fri", "22:00", "06:00")
    assert night.covers(at("2026-12-04T23:00"))  # Friday night
    assert night.covers(at("2026-12-05T05:59"))  # Saturday early, still Friday's shift
    assert not night.covers(at("2026-12-05T06:00"))
    assert not night.covers(at("2026-12-04T05:00"))  # Friday early belongs to Thursday
    full = make_shift("x", "UTC", ALL_DAYS, "00:00", "00:00")
    assert all(full.covers(at(f"2026-12-01T{h:02d}:17")) for h in range(24))


def follow_the_sun():
    return [make_shift("ceop", "Europe/London", "daily", "08:00", "16:00"),
            make_shift("afp", "Australia/Sydney", "daily", "07:00", "19:00"),
            make_shift("vgt-us", "America/New_York", "daily", "11:00", "19:00")]


def test_three_agencies_cover_the_day_and_one_gap_shows():
    # December: London UTC+0 08-16, Sydney UTC+11 07-19 -> 20-08 UTC, New York UTC-5 -> 16-24 UTC.
    slots = coverage(follow_the_sun(), date(2026, 12, 1), slot_minutes=60)
    assert len(slots) == 24
    assert gaps(slots) == []
    assert slots[10].agencies == ("ceop",)
    assert set(slots[22].agencies) == {"afp", "vgt-us"}
    without_us = [s for s in follow_the_sun() if s.agency != "vgt-us"]
    assert gaps(coverage(without_us, date(2026, 12, 1), slot_minutes=60)) == [
        (at("2026-12-01T16:00"), at("2026-12-01T20:00"))]


def test_on_duty_and_next_on_duty():
    shifts = follow_the_sun()
    assert on_duty(shifts, at("2026-12-01T12:00")) == ["ceop"]
    ceop_only = shifts[:1]
    agency, when = next_on_duty(ceop_only, at("2026-12-01T17:00"))
    assert agency == "ceop" and when == at("2026-12-02T08:00")
    assert next_on_duty([], at("2026-12-01T17:00")) is None


def test_route_prefers_on_duty_then_jurisdiction_then_next_shift():
    shifts = follow_the_sun()
    monitoring = ["vgt-us", "afp", "ceop"]
    assert route(monitoring, shifts, at("2026-12-01T12:00")) == Route("ceop", False)
    # 23:00 UTC: Sydney and New York both on; the room's jurisdiction wins, else order given.
    assert route(monitoring, shifts, at("2026-12-01T23:00"), prefer="afp") == Route("afp", False)
    assert route(monitoring, shifts, at("2026-12-01T23:00")) == Route("vgt-us", False)
    # Only CEOP monitors: at night the alert waits for CEOP's next shift, flagged.
    assert route(["ceop"], shifts, at("2026-12-01T20:00")) == Route("ceop", True)
    # Nobody has shifts: the jurisdiction agency, out of hours. Nobody monitors: no route.
    assert route(["ceop", "afp"], [], at("2026-12-01T20:00"), prefer="afp") == Route("afp", True)
    assert route([], shifts, at("2026-12-01T20:00")) is None


def test_clock_format():
    assert format_clock(0) == "00:00" and format_clock(17 * 60 + 5) == "17:05"
