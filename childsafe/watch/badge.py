"""The monitored badge: is this room watched now, by whom, and what to tell the people in it.

Three states, from the roster: `monitored` (an agency that monitors the room has a shift on),
`monitored_off_duty` (agencies monitor it but nobody is on shift: alerts wait for the next
shift, and we say when), `not_monitored`. The badge is public, so it carries only what a
child in the room may read: agency names, the state and the next shift's start — never the
provider, the room's title or anything about its conversations.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from html import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe.store.models import AgencyRow
from childsafe.watch import duty
from childsafe.watch.core.roster import Shift, on_duty, zone

LANGUAGES = ("en", "fr")


class BadgeState(StrEnum):
    MONITORED = "monitored"
    OFF_DUTY = "monitored_off_duty"
    NOT_MONITORED = "not_monitored"


@dataclass(frozen=True, slots=True)
class AgencyRef:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Badge:
    room_id: str
    state: BadgeState
    monitoring: tuple[AgencyRef, ...]
    on_duty: tuple[AgencyRef, ...]
    next_review_at: datetime | None = None  # off duty: when the next shift starts (UTC)
    next_agency: AgencyRef | None = None

    @property
    def monitored(self) -> bool:
        return self.state is not BadgeState.NOT_MONITORED

    def digest(self) -> str:
        """Changes exactly when what the badge shows changes (pushed to the provider then)."""
        doc = {"state": self.state.value, "monitoring": [a.code for a in self.monitoring],
               "on_duty": [a.code for a in self.on_duty],
               "next": self.next_review_at.isoformat() if self.next_review_at else None,
               "next_agency": self.next_agency.code if self.next_agency else None}
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def next_shift_start(shifts: Sequence[Shift], at: datetime) -> tuple[Hashable, datetime] | None:
    """The first shift start strictly after `at` (exact, in UTC), and whose shift it is."""
    best: tuple[Hashable, datetime] | None = None
    for shift in shifts:
        tz = zone(shift.timezone)
        local_day = at.astimezone(tz).date()
        for offset in range(8):
            day = local_day + timedelta(days=offset)
            if not shift.days >> day.weekday() & 1:
                continue
            start = datetime.combine(day, time(shift.start_minute // 60, shift.start_minute % 60),
                                     tzinfo=tz).astimezone(UTC)
            if start > at:
                if best is None or start < best[1]:
                    best = (shift.agency, start)
                break
    return best


def compute(room_id: str, monitoring: Sequence[Hashable], duty_now: Sequence[Hashable],
            shifts: Sequence[Shift], names: Mapping[Hashable, AgencyRef],
            at: datetime) -> Badge:
    """The badge from the roster facts (pure): who monitors, who is on duty now, the shifts."""
    watching = tuple(names[a] for a in monitoring if a in names)
    if not watching:
        return Badge(room_id, BadgeState.NOT_MONITORED, (), ())
    on = tuple(names[a] for a in monitoring if a in duty_now and a in names)
    if on:
        return Badge(room_id, BadgeState.MONITORED, watching, on)
    upcoming = next_shift_start([s for s in shifts if s.agency in monitoring], at)
    if upcoming is None:
        return Badge(room_id, BadgeState.OFF_DUTY, watching, ())
    return Badge(room_id, BadgeState.OFF_DUTY, watching, (), upcoming[1],
                 names.get(upcoming[0]))


def agency_refs(session: Session, agency_ids: Sequence[int]) -> dict[Hashable, AgencyRef]:
    if not agency_ids:
        return {}
    return {row.id: AgencyRef(row.code, row.name) for row in session.scalars(
        select(AgencyRow).where(AgencyRow.id.in_(set(agency_ids))))}


def badge_for_room(session: Session, room_id: str, at: datetime) -> Badge:
    """The badge of one room now, per the roster (`duty.on_duty_for_room`)."""
    monitoring = duty.monitoring_agencies(session, room_id)
    if not monitoring:
        return Badge(room_id, BadgeState.NOT_MONITORED, (), ())
    duty_now = duty.on_duty_for_room(session, room_id, at)
    shifts = [] if duty_now else duty.shifts_of(session, monitoring)
    return compute(room_id, monitoring, duty_now, shifts, agency_refs(session, monitoring), at)


def badges_for_rooms(session: Session, room_ids: Sequence[str], at: datetime
                     ) -> dict[str, Badge]:
    """Badges of many rooms with three queries (for the periodic push)."""
    from childsafe.store.watch_models import RoomAssignmentRow

    monitoring: dict[str, list[int]] = {}
    for room_id, agency_id in session.execute(
            select(RoomAssignmentRow.room_id, RoomAssignmentRow.agency_id)
            .where(RoomAssignmentRow.room_id.in_(room_ids)).order_by(RoomAssignmentRow.id)):
        monitoring.setdefault(room_id, []).append(agency_id)
    agencies = sorted({a for ids in monitoring.values() for a in ids})
    shifts = duty.shifts_of(session, agencies) if agencies else []
    names = agency_refs(session, agencies)
    duty_now = set(on_duty(shifts, at))
    return {room_id: compute(room_id, monitoring.get(room_id, []),
                             [a for a in monitoring.get(room_id, []) if a in duty_now],
                             shifts, names, at) for room_id in room_ids}


# ---- what to show ------------------------------------------------------------------------

_DAYS = {"en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
         "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")}
_MONTHS = {"en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                  "Dec"),
           "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.",
                  "oct.", "nov.", "déc.")}
_TEXT = {
    "en": {
        "monitored.label": "Monitored by police",
        "monitored.message": "Officers of {on} are watching this room now to help keep young "
                             "people safe. If someone makes you feel uncomfortable, report it.",
        "off.label": "Monitored by police",
        "off.message": "This room is monitored by {all}. No officer is on duty right now: "
                       "alerts are reviewed when the next shift starts{when}.",
        "off.when": " ({at})",
        "off.short": "Monitored (officers back {at})",
        "not.label": "Not monitored",
        "not.message": "This room is not monitored by police. If someone makes you feel "
                       "uncomfortable, you can still report it and get help.",
        "help": "Get help or report abuse",
        "and": "and",
    },
    "fr": {
        "monitored.label": "Surveillé par la police",
        "monitored.message": "Des agents de {on} surveillent ce salon en ce moment pour "
                             "protéger les jeunes. Si quelqu'un te met mal à l'aise, "
                             "signale-le.",
        "off.label": "Surveillé par la police",
        "off.message": "Ce salon est surveillé par {all}. Aucun agent n'est de service en ce "
                       "moment : les alertes seront examinées au début de la prochaine "
                       "permanence{when}.",
        "off.when": " ({at})",
        "off.short": "Surveillé (agents de retour {at})",
        "not.label": "Non surveillé",
        "not.message": "Ce salon n'est pas surveillé par la police. Si quelqu'un te met mal "
                       "à l'aise, tu peux quand même le signaler et obtenir de l'aide.",
        "help": "Obtenir de l'aide ou signaler un abus",
        "and": "et",
    },
}


def choose_language(requested: str | None, accept_language: str | None) -> str:
    """`?lang=` first, then the best Accept-Language match, else English."""
    if requested and requested.lower()[:2] in LANGUAGES:
        return requested.lower()[:2]
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower()[:2]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    return min(ranked)[2] if ranked else "en"


def format_when(at: datetime, lang: str) -> str:
    """'Mon 23 Nov, 21:00 UTC' / 'lun. 23 nov., 21:00 UTC' (the JSON also gives ISO 8601)."""
    at = at.astimezone(UTC)
    return (f"{_DAYS[lang][at.weekday()]} {at.day} {_MONTHS[lang][at.month - 1]}, "
            f"{at:%H:%M} UTC")


def _names(agencies: Sequence[AgencyRef], lang: str) -> str:
    names = [a.name for a in agencies]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + f" {_TEXT[lang]['and']} " + names[-1]


@dataclass(frozen=True, slots=True)
class BadgeText:
    label: str  # short, for the badge itself
    message: str  # one or two sentences for the room
    help: str  # the link text to safety help


def badge_text(badge: Badge, lang: str) -> BadgeText:
    t = _TEXT[lang if lang in _TEXT else "en"]
    if badge.state is BadgeState.MONITORED:
        return BadgeText(t["monitored.label"],
                         t["monitored.message"].format(on=_names(badge.on_duty, lang)), t["help"])
    if badge.state is BadgeState.OFF_DUTY:
        when = format_when(badge.next_review_at, lang) if badge.next_review_at else ""
        label = t["off.short"].format(at=when) if when else t["off.label"]
        return BadgeText(label, t["off.message"].format(
            all=_names(badge.monitoring, lang),
            when=t["off.when"].format(at=when) if when else ""), t["help"])
    return BadgeText(t["not.label"], t["not.message"], t["help"])


_COLOURS = {BadgeState.MONITORED: "#1b5e20", BadgeState.OFF_DUTY: "#7a4300",
            BadgeState.NOT_MONITORED: "#4a5560"}  # each >= 7:1 against white text


def badge_svg(badge: Badge, lang: str) -> str:
    """An accessible, inert SVG badge: title and desc, no script, no external reference."""
    text = badge_text(badge, lang)
    width = 34 + int(len(text.label) * 7.4)
    icon = ('<path d="M14 5 L22 8 V14 C22 19 18.5 22 14 23.5 C9.5 22 6 19 6 14 V8 Z" '
            'fill="#ffffff" fill-opacity="0.9"/>' if badge.monitored else
            '<circle cx="14" cy="14" r="7" fill="none" stroke="#ffffff" stroke-width="2"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" lang="{lang}" xml:lang="{lang}" '
            f'role="img" width="{width}" height="28" viewBox="0 0 {width} 28" '
            f'aria-labelledby="badge-title badge-desc">'
            f'<title id="badge-title">{escape(text.label)}</title>'
            f'<desc id="badge-desc">{escape(text.message)}</desc>'
            f'<rect width="{width}" height="28" rx="6" fill="{_COLOURS[badge.state]}"/>{icon}'
            f'<text x="28" y="18.5" fill="#ffffff" font-family="Verdana, DejaVu Sans, sans-serif" '
            f'font-size="13">{escape(text.label)}</text></svg>')


def badge_document(badge: Badge, lang: str, *, help_url: str, report_url: str,
                   svg_url: str) -> dict[str, object]:
    """The JSON a provider's page renders (or its server relays)."""
    text = badge_text(badge, lang)
    return {
        "room": badge.room_id, "state": badge.state.value, "monitored": badge.monitored,
        "on_duty": [{"code": a.code, "name": a.name} for a in badge.on_duty],
        "monitoring": [{"code": a.code, "name": a.name} for a in badge.monitoring],
        "next_review_at": badge.next_review_at.isoformat() if badge.next_review_at else None,
        "lang": lang, "label": text.label, "message": text.message,
        "help": {"text": text.help, "url": help_url, "report_url": report_url},
        "svg_url": svg_url, "digest": badge.digest(),
    }


def all_texts(badge: Badge) -> dict[str, dict[str, str]]:
    """Text in every language (for the webhook, so the provider needs no second call)."""
    return {lang: {"label": t.label, "message": t.message, "help": t.help}
            for lang in LANGUAGES for t in [badge_text(badge, lang)]}
