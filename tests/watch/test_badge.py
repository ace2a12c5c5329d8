"""The badge's pure parts: states from the roster, the next shift's exact start, text, SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from childsafe.watch.badge import (
    AgencyRef,
    BadgeState,
    badge_svg,
    badge_text,
    choose_language,
    compute,
    next_shift_start,
)
from childsafe.watch.core.roster import make_shift, on_duty

NAMES = {1: AgencyRef("UK-NCA-CEOP", "National Crime Agency - CEOP Command"),
         2: AgencyRef("AU-AFP-ACCCE", "Australian Federal Police - ACCCE"),
         3: AgencyRef("X-<B>", 'Agency "<script>alert(1)</script>" & co')}
LONDON = make_shift(1, "Europe/London", "mon-fri", "08:00", "16:00")
SYDNEY = make_shift(2, "Australia/Sydney", "daily", "09:00", "17:00")
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _badge(monitoring, shifts, at):
    duty = on_duty([s for s in shifts if s.agency in monitoring], at)
    return compute("rm_x", monitoring, duty, shifts, NAMES, at)


def test_states():
    assert _badge([], [LONDON], MONDAY_9).state is BadgeState.NOT_MONITORED
    on = _badge([1, 2], [LONDON, SYDNEY], MONDAY_9)
    assert on.state is BadgeState.MONITORED and [a.code for a in on.on_duty] == ["UK-NCA-CEOP"]
    # 17:00 UTC: London ended, Sydney (UTC+11) starts at 22:00 UTC.
    off = _badge([1, 2], [LONDON, SYDNEY], MONDAY_9 + timedelta(hours=8))
    assert off.state is BadgeState.OFF_DUTY
    assert off.next_review_at == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert off.next_agency is not None and off.next_agency.code == "AU-AFP-ACCCE"
    no_shifts = _badge([1], [], MONDAY_9)
    assert no_shifts.state is BadgeState.OFF_DUTY and no_shifts.next_review_at is None


def test_digest_changes_exactly_with_what_is_shown():
    a = _badge([1], [LONDON], MONDAY_9)
    b = _badge([1], [LONDON], MONDAY_9 + timedelta(hours=1))
    c = _badge([1], [LONDON], MONDAY_9 + timedelta(hours=8))
    d = _badge([1], [LONDON], MONDAY_9 + timedelta(hours=9))
    assert a.digest() == b.digest() and c.digest() == d.digest() and a.digest() != c.digest()


def test_next_shift_start_is_exact_across_midnight_and_daylight_saving():
    night = make_shift(1, "America/New_York", "mon-fri", "22:00", "06:00")
    # Friday 12:00 UTC (07:00 New York): next start Friday 22:00 New York = Saturday 03:00 UTC.
    friday = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert next_shift_start([night], friday) == (1, datetime(2026, 11, 28, 3, 0, tzinfo=UTC))
    # London springs forward on 29 March 2026: the 08:00 start is 07:00 UTC from then on.
    sunday = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
    assert next_shift_start([LONDON], sunday) == (1, datetime(2026, 3, 30, 7, 0, tzinfo=UTC))
    assert next_shift_start([], sunday) is None
    # Exactly at a start the next one is a day later (the current one is on duty, not next).
    at_start = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert next_shift_start([LONDON], at_start)[1] == at_start + timedelta(days=1)


@pytest.mark.parametrize(("query", "header", "expected"), [
    ("fr", "en", "fr"), (None, "fr-FR,fr;q=0.9", "fr"), (None, "de,en;q=0.5,fr;q=0.7", "fr"),
    (None, "de", "en"), (None, None, "en"), ("xx", "fr;q=0", "en"), (None, "fr;q=abc", "en"),
])
def test_language_choice(query, header, expected):
    assert choose_language(query, header) == expected


def test_text_names_the_agencies_and_the_next_shift():
    off = _badge([1, 2], [LONDON, SYDNEY], MONDAY_9 + timedelta(hours=8))
    en, fr = badge_text(off, "en"), badge_text(off, "fr")
    assert "National Crime Agency - CEOP Command and Australian Federal Police" in en.message
    assert "Mon 23 Nov, 22:00 UTC" in en.message and "lun. 23 nov., 22:00 UTC" in fr.message
    assert fr.help == "Obtenir de l'aide ou signaler un abus"


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("monitoring", [[], [1], [3]])
@pytest.mark.parametrize("hour", [9, 17])
def test_svg_is_well_formed_accessible_and_inert(lang, monitoring, hour):
    badge = _badge(monitoring, [LONDON, make_shift(3, "UTC", "daily", "10:00", "11:00")],
                   MONDAY_9.replace(hour=hour))
    svg = badge_svg(badge, lang)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == badge_text(badge, lang).label
    assert root.find(f"{ns}desc").text == badge_text(badge, lang).message
    assert "<script" not in svg and "href" not in svg and "style" not in svg
