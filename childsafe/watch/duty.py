"""Who watches a room now: the roster read from the store and handed to the pure core."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe.store.models import JurisdictionRow
from childsafe.store.watch_models import RoomAssignmentRow, RoomRow, ShiftRow
from childsafe.watch.core.roster import Route, Shift, on_duty, route


def shifts_of(session: Session, agency_ids: list[int] | None = None) -> list[Shift]:
    """Shifts as core values (agency = agency id), oldest first."""
    query = select(ShiftRow).order_by(ShiftRow.id)
    if agency_ids is not None:
        query = query.where(ShiftRow.agency_id.in_(agency_ids))
    return [Shift(row.agency_id, row.timezone, row.days, row.start_minute, row.end_minute,
                  row.label) for row in session.scalars(query)]


def monitoring_agencies(session: Session, room_id: str) -> list[int]:
    """Agencies that monitor the room, in the order they chose it."""
    return list(session.scalars(select(RoomAssignmentRow.agency_id)
                                .where(RoomAssignmentRow.room_id == room_id)
                                .order_by(RoomAssignmentRow.id)))


def jurisdiction_agency(session: Session, region: str) -> int | None:
    return session.scalar(select(JurisdictionRow.agency_id)
                          .where(JurisdictionRow.country == region.upper()))


def on_duty_for_room(session: Session, room_id: str, at: datetime) -> list[int]:
    agencies = monitoring_agencies(session, room_id)
    if not agencies:
        return []
    return [a for a in on_duty(shifts_of(session, agencies), at) if isinstance(a, int)]


def route_alert(session: Session, room: RoomRow, at: datetime) -> Route | None:
    """The agency an alert of this room goes to at `at` (None: nobody monitors the room)."""
    agencies = monitoring_agencies(session, room.id)
    if not agencies:
        return None
    return route(agencies, shifts_of(session, agencies), at,
                 prefer=jurisdiction_agency(session, room.region))
