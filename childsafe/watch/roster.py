"""The duty roster in the store: an agency's shifts, its handover notes, and room coverage.

Shifts are validated by the pure core (`core.roster.make_shift`); this module scopes every
read and change to the officer's own agency (another agency's shift is "not found"), audits
changes and pushes the badges of the agency's rooms when its shifts change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent
from childsafe.core.crypto import Keyring
from childsafe.core.errors import InvalidInput, NotFound
from childsafe.core.principal import Principal
from childsafe.store import audit
from childsafe.store.models import UserRow
from childsafe.store.watch_models import HandoverNoteRow, RoomRow, ShiftRow
from childsafe.watch import duty, rooms
from childsafe.watch.badge import AgencyRef, agency_refs
from childsafe.watch.core.roster import RosterError, Slot, coverage, gaps, make_shift, zone
from childsafe.watch.housekeeping import refresh_rooms

NOTE_MAX = 4000
# A sensible first zone for the shift form of agencies that have no shift yet.
AGENCY_ZONES = {"UK-NCA-CEOP": "Europe/London", "US-DHS-HSI": "America/New_York",
                "AU-AFP-ACCCE": "Australia/Sydney", "CA-RCMP-NCECC": "America/Toronto",
                "NZ-POLICE-OCEANZ": "Pacific/Auckland", "NL-POLICE": "Europe/Amsterdam",
                "IT-POLIZIA-POSTALE": "Europe/Rome", "CH-FEDPOL": "Europe/Zurich",
                "KR-KNPA": "Asia/Seoul", "PH-PNP-WCPC": "Asia/Manila",
                "AE-MOI": "Asia/Dubai", "KE-NPS": "Africa/Nairobi", "CO-PONAL": "America/Bogota",
                "ID-POLRI": "Asia/Jakarta", "EU-EUROPOL-EC3": "Europe/Amsterdam",
                "INT-INTERPOL": "Europe/Paris"}


def shifts(session: Session, agency_id: int) -> list[ShiftRow]:
    """The agency's shifts, by zone, start time and id."""
    return list(session.scalars(select(ShiftRow).where(ShiftRow.agency_id == agency_id)
                                .order_by(ShiftRow.timezone, ShiftRow.start_minute,
                                          ShiftRow.id)))


def agency_timezone(session: Session, agency_id: int, agency_code: str) -> str:
    """The agency's own zone: that of its first shift, else a default for known agencies."""
    first = session.scalar(select(ShiftRow.timezone).where(ShiftRow.agency_id == agency_id)
                           .order_by(ShiftRow.id).limit(1))
    return first or AGENCY_ZONES.get(agency_code, "UTC")


def _refresh_agency_rooms(session: Session, keyring: Keyring | None, agency_id: int,
                          now: datetime) -> None:
    refresh_rooms(session, keyring, [r.id for r in rooms.monitored_rooms(session, agency_id)],
                  now)


def add_shift(session: Session, keyring: Keyring | None, who: Principal, *, timezone: str,
              days: str | int, start: str | int, end: str | int, label: str = "",
              now: datetime, ip: str | None = None) -> ShiftRow:
    """Validate and add a shift for the officer's agency (audited; badges refreshed)."""
    try:
        shift = make_shift(who.agency_id, (timezone or "").strip(), days, start, end,
                           label or "")
    except RosterError as exc:
        raise InvalidInput(str(exc), field=exc.field) from exc
    row = ShiftRow(agency_id=who.agency_id, label=shift.label, timezone=shift.timezone,
                   days=shift.days, start_minute=shift.start_minute, end_minute=shift.end_minute,
                   created_by=who.user_id, created_at=now)
    session.add(row)
    session.flush()
    audit.append(session, AuditEvent("watch.shift_add", actor=who.username,
                                     agency=who.agency_code, object_type="shift",
                                     object_id=str(row.id), ip=ip,
                                     detail={"timezone": row.timezone, "days": row.days,
                                             "start": row.start_minute, "end": row.end_minute}),
                 at=now)
    _refresh_agency_rooms(session, keyring, who.agency_id, now)
    return row


def remove_shift(session: Session, keyring: Keyring | None, who: Principal, shift_id: int, *,
                 now: datetime, ip: str | None = None) -> None:
    row = session.get(ShiftRow, shift_id)
    if row is None or row.agency_id != who.agency_id:
        raise NotFound("No such shift in your agency's roster.")
    detail = {"timezone": row.timezone, "days": row.days, "start": row.start_minute,
              "end": row.end_minute}
    session.delete(row)
    session.flush()
    audit.append(session, AuditEvent("watch.shift_remove", actor=who.username,
                                     agency=who.agency_code, object_type="shift",
                                     object_id=str(shift_id), ip=ip, detail=detail), at=now)
    _refresh_agency_rooms(session, keyring, who.agency_id, now)


# ---- handover notes -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Note:
    id: int
    author: str
    body: str
    created_at: datetime


def add_note(session: Session, who: Principal, body: str, *, now: datetime,
             ip: str | None = None) -> HandoverNoteRow:
    """A note from one shift to the next; only the agency's officers read it."""
    body = (body or "").strip()
    if not body:
        raise InvalidInput("Write the handover note first.", field="body")
    if len(body) > NOTE_MAX:
        raise InvalidInput(f"A handover note is at most {NOTE_MAX} characters.", field="body")
    row = HandoverNoteRow(agency_id=who.agency_id, author_id=who.user_id, body=body,
                          created_at=now)
    session.add(row)
    session.flush()
    audit.append(session, AuditEvent("watch.handover_note", actor=who.username,
                                     agency=who.agency_code, object_type="handover_note",
                                     object_id=str(row.id), ip=ip,
                                     detail={"length": len(body)}), at=now)
    return row


def notes(session: Session, who: Principal, *, limit: int = 30) -> list[Note]:
    """The agency's latest handover notes, newest first."""
    found = session.execute(
        select(HandoverNoteRow, UserRow.display_name)
        .join(UserRow, UserRow.id == HandoverNoteRow.author_id)
        .where(HandoverNoteRow.agency_id == who.agency_id)
        .order_by(HandoverNoteRow.created_at.desc(), HandoverNoteRow.id.desc()).limit(limit))
    return [Note(row.id, name, row.body, row.created_at) for row, name in found]


# ---- coverage -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RoomCoverage:
    room: RoomRow
    agencies: tuple[AgencyRef, ...]  # who monitors the room, in the order they chose it
    slots: list[Slot]  # slot.agencies are agency ids
    gaps: list[tuple[datetime, datetime]]
    agency_ids: tuple[int, ...]  # aligned with `agencies`, to read the slots


def room_coverage(session: Session, agency_id: int, day: date, *, tz: str = "UTC",
                  slot_minutes: int = 30) -> list[RoomCoverage]:
    """For each room the agency monitors: who covers each slot of `day` (in `tz`), and gaps."""
    try:
        zone(tz)
    except RosterError as exc:
        raise InvalidInput(str(exc), field="tz") from exc
    found = []
    for room in rooms.monitored_rooms(session, agency_id):
        monitoring = duty.monitoring_agencies(session, room.id)
        refs = agency_refs(session, monitoring)
        slots = coverage(duty.shifts_of(session, monitoring), day, slot_minutes=slot_minutes,
                         tz=tz)
        known = tuple(a for a in monitoring if a in refs)
        found.append(RoomCoverage(room, tuple(refs[a] for a in known), slots, gaps(slots),
                                  known))
    return found
