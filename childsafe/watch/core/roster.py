"""Follow the sun: shifts in each agency's own time zone, who is on duty, and 24-hour coverage.

A room is covered at an instant when one of the agencies that monitor it has a shift on.
Shifts are weekly and local (an officer in Sydney thinks "Mon–Fri 09:00–17:00 Sydney time"),
so every question is answered by converting the instant to each shift's zone — daylight
saving changes then move coverage the way they move the officers.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_DAYS = 0b1111111
MINUTES_PER_DAY = 24 * 60


class RosterError(ValueError):
    """A shift that cannot be right (bad zone, day or minute); the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Shift:
    """A weekly shift; `days` are the days it *starts* on; end <= start runs past midnight
    (equal start and end is a 24-hour shift)."""

    agency: Hashable
    timezone: str
    days: int
    start_minute: int
    end_minute: int
    label: str = ""

    def covers(self, at: datetime) -> bool:
        local = at.astimezone(zone(self.timezone))
        day, minute = local.weekday(), local.hour * 60 + local.minute
        start, end = self.start_minute, self.end_minute
        if start < end:
            return bool(self.days >> day & 1) and start <= minute < end
        yesterday = (day - 1) % 7
        return (bool(self.days >> day & 1) and minute >= start) or (
            bool(self.days >> yesterday & 1) and minute < end)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RosterError("timezone", f"Unknown time zone {name!r} (use an IANA name such as "
                                      "Europe/London).") from exc


def parse_days(text: str) -> int:
    """'mon-fri', 'sat,sun', 'daily' or 'mon,wed,fri' as a bit mask (bit 0 = Monday)."""
    text = text.strip().lower()
    if text in {"daily", "all", "every day"}:
        return ALL_DAYS
    mask = 0
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise RosterError("days", f"Unknown day in {part!r}; use mon … sun, e.g. 'mon-fri'.")
        day, last_day = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
        mask |= 1 << day
        while day != last_day:  # 'fri-mon' wraps over the weekend
            day = (day + 1) % 7
            mask |= 1 << day
    if not mask:
        raise RosterError("days", "Give at least one day, e.g. 'mon-fri' or 'daily'.")
    return mask


def format_days(mask: int) -> str:
    if mask & ALL_DAYS == ALL_DAYS:
        return "daily"
    return ",".join(name for i, name in enumerate(DAY_NAMES) if mask >> i & 1)


def parse_clock(text: str, field: str) -> int:
    """'HH:MM' (00:00-24:00) as minutes after midnight."""
    hours, sep, minutes = text.strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise RosterError(field, f"Time {text!r} must look like 09:00.")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > MINUTES_PER_DAY:
        raise RosterError(field, f"Time {text!r} is not a time of day.")
    return value % MINUTES_PER_DAY


def format_clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def make_shift(agency: Hashable, timezone: str, days: str | int, start: str | int,
               end: str | int, label: str = "") -> Shift:
    """Validate the parts of a shift as an officer typed them."""
    zone(timezone)
    mask = parse_days(days) if isinstance(days, str) else days
    if not 0 < mask <= ALL_DAYS:
        raise RosterError("days", "Give at least one day.")
    s = parse_clock(start, "start") if isinstance(start, str) else start
    e = parse_clock(end, "end") if isinstance(end, str) else end
    for name, v in (("start", s), ("end", e)):
        if not 0 <= v < MINUTES_PER_DAY:
            raise RosterError(name, f"{name} must be within the day")
    if len(label) > 80:
        raise RosterError("label", "Label is at most 80 characters.")
    return Shift(agency, timezone, mask, s, e, label.strip())


def on_duty(shifts: Iterable[Shift], at: datetime) -> list[Hashable]:
    """Agencies with a shift on at `at`, each once, in the order first seen."""
    seen: list[Hashable] = []
    for shift in shifts:
        if shift.agency not in seen and shift.covers(at):
            seen.append(shift.agency)
    return seen


def next_on_duty(shifts: Sequence[Shift], at: datetime, step_minutes: int = 5,
                 horizon_days: int = 8) -> tuple[Hashable, datetime] | None:
    """The first agency whose shift starts after `at`, and when (None: no shift at all)."""
    if not shifts:
        return None
    t = at.replace(second=0, microsecond=0)
    for _ in range(horizon_days * MINUTES_PER_DAY // step_minutes):
        t += timedelta(minutes=step_minutes)
        agencies = on_duty(shifts, t)
        if agencies:
            return agencies[0], t
    return None


@dataclass(frozen=True, slots=True)
class Slot:
    """One slot of a coverage chart: from `start` (UTC) for `minutes`, who is on duty."""

    start: datetime
    minutes: int
    agencies: tuple[Hashable, ...]

    @property
    def gap(self) -> bool:
        return not self.agencies


def coverage(shifts: Sequence[Shift], day: date, *, slot_minutes: int = 30,
             tz: str = "UTC") -> list[Slot]:
    """A day (in `tz`) cut into slots, each with the agencies on duty at its start."""
    if MINUTES_PER_DAY % slot_minutes:
        raise ValueError("slot_minutes must divide a day")
    start = datetime.combine(day, time(0), tzinfo=zone(tz))
    slots = []
    for i in range(MINUTES_PER_DAY // slot_minutes):
        at = (start + timedelta(minutes=i * slot_minutes)).astimezone(UTC)
        slots.append(Slot(at, slot_minutes, tuple(on_duty(shifts, at))))
    return slots


def gaps(slots: Sequence[Slot]) -> list[tuple[datetime, datetime]]:
    """Uncovered stretches as (from, to) in UTC, adjacent gap slots merged."""
    found: list[tuple[datetime, datetime]] = []
    for slot in slots:
        if not slot.gap:
            continue
        end = slot.start + timedelta(minutes=slot.minutes)
        if found and found[-1][1] == slot.start:
            found[-1] = (found[-1][0], end)
        else:
            found.append((slot.start, end))
    return found


@dataclass(frozen=True, slots=True)
class Route:
    """Where an alert goes: the agency on duty, or, out of hours, the next one on."""

    agency: Hashable
    out_of_hours: bool


def route(monitoring: Sequence[Hashable], shifts: Sequence[Shift], at: datetime,
          prefer: Hashable | None = None) -> Route | None:
    """Pick the agency for an alert in a room monitored by `monitoring` agencies.

    On duty wins; among several on duty, `prefer` (the room's own jurisdiction) first, then
    the order given. Nobody on duty: the agency whose shift starts next, marked out of hours
    (it sees the alert at the top of its queue when it signs on); no shifts at all: `prefer`
    or the first monitoring agency. None when nobody monitors the room.
    """
    if not monitoring:
        return None
    relevant = [s for s in shifts if s.agency in monitoring]
    duty = on_duty(relevant, at)
    on = [agency for agency in monitoring if agency in duty]
    if on:
        return Route(prefer if prefer in on else on[0], False)
    upcoming = next_on_duty(relevant, at)
    if upcoming is not None:
        return Route(upcoming[0], True)
    return Route(prefer if prefer in monitoring else monitoring[0], True)
