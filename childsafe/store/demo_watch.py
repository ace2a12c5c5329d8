"""Demo data for Watch: a provider's rooms, three agencies following the sun, assignments.

CEOP (London), HSI (New York) and the AFP's ACCCE (Sydney) each staff a daily shift in their
own time zone, overlapping so that the rooms they share are covered 24 hours whatever the
daylight-saving dates. One room is monitored by CEOP alone, so the coverage chart has gaps
to show. Room titles are ordinary chat-room names.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from childsafe.store import agencies, providers
from childsafe.store.models import ProviderRow, UserRow
from childsafe.store.watch_models import HandoverNoteRow, RoomAssignmentRow, ShiftRow
from childsafe.watch import rooms
from childsafe.watch.core.roster import make_shift

DEMO_PROVIDER = "Chatty"
# external id, title, audience, language, region, agencies (in the order they chose it)
DEMO_ROOMS = [
    ("teen-lounge-3", "Teen lounge", "teen", "en", "GB",
     ("UK-NCA-CEOP", "US-DHS-HSI", "AU-AFP-ACCCE")),
    ("homework-help", "Homework help", "teen", "en", "US",
     ("US-DHS-HSI", "UK-NCA-CEOP", "AU-AFP-ACCCE")),
    ("game-chat-au", "Game chat", "general", "en", "AU",
     ("AU-AFP-ACCCE", "UK-NCA-CEOP", "US-DHS-HSI")),
    ("music-fans", "Music fans", "general", "en", "*", ("UK-NCA-CEOP",)),
    ("salon-ados", "Salon ados", "teen", "fr", "*", ()),
]
# agency, zone, days, start, end, label: 07-16 London, 10-19 New York, 09-18 Sydney
DEMO_SHIFTS = [
    ("UK-NCA-CEOP", "Europe/London", "daily", "07:00", "16:00", "London day desk"),
    ("US-DHS-HSI", "America/New_York", "daily", "10:00", "19:00", "C3 watch floor"),
    ("AU-AFP-ACCCE", "Australia/Sydney", "daily", "09:00", "18:00", "ACCCE day shift"),
]
DEMO_NOTE = ("Quiet shift. In the teen lounge one account kept asking people their age and "
             "whether they were alone; an alert is open on it. Please check it first.")


def _provider(session: Session) -> ProviderRow:
    row = session.scalar(select(ProviderRow).where(ProviderRow.name == DEMO_PROVIDER))
    if row is None:
        row = providers.create_provider(session, DEMO_PROVIDER,
                                        contact_email="safety@chatty.example.com",
                                        abuse_desk_url="https://chatty.example.com/abuse",
                                        actor="demo")
    return row


def seed_watch_demo(session: Session, now: datetime) -> None:
    """Idempotent: adds the demo rooms, shifts, assignments and a handover note if missing."""
    provider = _provider(session)
    ids = {code: agencies.get_by_code(session, code).id
           for code in {c for *_, codes in DEMO_ROOMS for c in codes} | {
               s[0] for s in DEMO_SHIFTS}}
    for external_id, title, audience, language, region, codes in DEMO_ROOMS:
        spec = rooms.validate_room(external_id, title, audience, language, region)
        room, _ = rooms.register_room(session, provider.id, spec, now=now, actor="demo")
        have = set(session.scalars(select(RoomAssignmentRow.agency_id)
                                   .where(RoomAssignmentRow.room_id == room.id)))
        for code in codes:
            if ids[code] not in have:
                session.add(RoomAssignmentRow(room_id=room.id, agency_id=ids[code],
                                              created_at=now))
    for code, tz, days, start, end, label in DEMO_SHIFTS:
        if session.scalar(select(func.count()).select_from(ShiftRow)
                          .where(ShiftRow.agency_id == ids[code])):
            continue
        shift = make_shift(ids[code], tz, days, start, end, label)
        session.add(ShiftRow(agency_id=ids[code], label=shift.label, timezone=shift.timezone,
                             days=shift.days, start_minute=shift.start_minute,
                             end_minute=shift.end_minute, created_at=now))
    author = session.scalar(select(UserRow).where(UserRow.username == "ceop.supervisor"))
    if author is not None and not session.scalar(
            select(func.count()).select_from(HandoverNoteRow)
            .where(HandoverNoteRow.agency_id == author.agency_id)):
        session.add(HandoverNoteRow(agency_id=author.agency_id, author_id=author.id,
                                    body=DEMO_NOTE, created_at=now))
    session.flush()

