"""Rooms providers register for monitoring, and the agencies that choose to monitor them.

Room ids are opaque (`rm_` + 96 random bits) because the badge endpoint is public: a room id
on a chat page says nothing about the provider and cannot be guessed. Registration is an
upsert on the provider's own room id, so a client may register on every start-up without
remembering our id. Choosing or dropping a room is audited and pushes the new badge to the
provider in the same transaction (nothing leaves if it rolls back).
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent
from childsafe.core.crypto import Keyring
from childsafe.core.errors import InvalidInput, NotFound
from childsafe.core.principal import Principal
from childsafe.store import audit
from childsafe.store.models import AgencyRow, ProviderRow
from childsafe.store.watch_models import RoomAssignmentRow, RoomRow

log = logging.getLogger("childsafe.watch")

AUDIENCES = ("child", "teen", "general", "adult")
ROOM_ID = re.compile(r"^rm_[a-f0-9]{24}$")
_EXTERNAL_ID = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# ISO 3166-1 alpha-2 (officially assigned), so a typo is refused rather than never routed.
_ISO_ALPHA2 = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"""
ISO_COUNTRIES = frozenset(_ISO_ALPHA2.split())


@dataclass(frozen=True, slots=True)
class RoomSpec:
    """A room as the provider describes it, validated."""

    external_id: str
    title: str
    audience: str
    language: str
    region: str
    active: bool = True


def validate_room(external_id: str, title: str, audience: str, language: str, region: str,
                  active: bool = True) -> RoomSpec:
    """Check every field; the error names the field and says what would be accepted."""
    external_id = (external_id or "").strip()
    if not _EXTERNAL_ID.match(external_id):
        raise InvalidInput("external_id must be 1-128 printable ASCII characters without "
                           "spaces (your own room id).", field="external_id")
    title = " ".join((title or "").split())
    if not title or len(title) > 200 or _CONTROL.search(title):
        raise InvalidInput("title must be 1-200 characters.", field="title")
    if audience not in AUDIENCES:
        raise InvalidInput(f"audience must be one of {', '.join(AUDIENCES)}.", field="audience")
    language = (language or "").strip()
    if not _LANGUAGE.match(language) or len(language) > 8:
        raise InvalidInput("language must be a BCP 47 language tag such as en, fr or pt-BR.",
                           field="language")
    region = (region or "").strip().upper()
    if region == "UK":
        region = "GB"
    if region != "*" and region not in ISO_COUNTRIES:
        raise InvalidInput("region must be an ISO 3166-1 alpha-2 country code such as GB, or "
                           "'*' for a room open to every country.", field="region")
    return RoomSpec(external_id, title, audience, language, region, bool(active))


def new_room_id() -> str:
    return "rm_" + secrets.token_hex(12)


def _find(session: Session, provider_id: int, external_id: str) -> RoomRow | None:
    return session.scalar(select(RoomRow).where(RoomRow.provider_id == provider_id,
                                                RoomRow.external_id == external_id))


def register_room(session: Session, provider_id: int, spec: RoomSpec, *, now: datetime,
                  actor: str = "provider") -> tuple[RoomRow, bool]:
    """Create or update the provider's room; True when it was created."""
    row = _find(session, provider_id, spec.external_id)
    if row is None:
        row = RoomRow(id=new_room_id(), provider_id=provider_id, external_id=spec.external_id,
                      title=spec.title, audience=spec.audience, language=spec.language,
                      region=spec.region, active=spec.active, created_at=now, updated_at=now)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # a concurrent registration of the same room won
            row = _find(session, provider_id, spec.external_id)
            if row is None:
                raise
        else:
            audit.append(session, AuditEvent("watch.room_register", actor=actor,
                                             object_type="room", object_id=row.id,
                                             detail={"provider": provider_id,
                                                     "audience": spec.audience,
                                                     "region": spec.region}))
            return row, True
    fields = {"title": spec.title, "audience": spec.audience, "language": spec.language,
              "region": spec.region, "active": spec.active}
    changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
    if changed:
        for key, value in changed.items():
            setattr(row, key, value)
        row.updated_at = now
        audit.append(session, AuditEvent("watch.room_update", actor=actor, object_type="room",
                                         object_id=row.id, detail={"changed": sorted(changed)}))
    return row, False


def provider_rooms(session: Session, provider_id: int, *, after: str | None = None,
                   limit: int = 50, external_id: str | None = None) -> list[RoomRow]:
    """A page of the provider's rooms in id order (keyset: pass the last id as `after`)."""
    query = select(RoomRow).where(RoomRow.provider_id == provider_id)
    if after:
        query = query.where(RoomRow.id > after)
    if external_id is not None:
        query = query.where(RoomRow.external_id == external_id)
    return list(session.scalars(query.order_by(RoomRow.id).limit(limit)))


def provider_room(session: Session, provider_id: int, room_id: str) -> RoomRow:
    row = session.get(RoomRow, room_id) if ROOM_ID.match(room_id) else None
    if row is None or row.provider_id != provider_id:
        raise NotFound("No room with that id was registered with this API key's provider.")
    return row


def public_room(session: Session, room_id: str) -> RoomRow:
    """An active room by its opaque id (404 for unknown or retired rooms alike)."""
    row = session.get(RoomRow, room_id) if ROOM_ID.match(room_id) else None
    if row is None or not row.active:
        raise NotFound("No monitored-room badge exists for that id.")
    return row


@dataclass(frozen=True, slots=True)
class RoomListing:
    room: RoomRow
    provider: str
    monitored_by: tuple[str, ...]  # agency codes
    mine: bool


def search_rooms(session: Session, agency_id: int, *, audience: str = "", region: str = "",
                 provider_id: int | None = None, mine: bool | None = None, page: int = 1,
                 per_page: int = 100) -> tuple[list[RoomListing], int]:
    """Active rooms for the console (any agency may choose any room), with who monitors them."""
    query = (select(RoomRow, ProviderRow.name).join(ProviderRow,
                                                    ProviderRow.id == RoomRow.provider_id)
             .where(RoomRow.active.is_(True)))
    if audience:
        query = query.where(RoomRow.audience == audience)
    if region:
        query = query.where(RoomRow.region == region.upper())
    if provider_id is not None:
        query = query.where(RoomRow.provider_id == provider_id)
    if mine is not None:
        own = select(RoomAssignmentRow.room_id).where(RoomAssignmentRow.agency_id == agency_id)
        query = query.where(RoomRow.id.in_(own) if mine else RoomRow.id.not_in(own))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    found = session.execute(query.order_by(ProviderRow.name, RoomRow.title, RoomRow.id)
                            .offset((page - 1) * per_page).limit(per_page)).all()
    ids = [room.id for room, _ in found]
    monitors: dict[str, list[tuple[int, str]]] = {}
    for room_id, agency, code in session.execute(
            select(RoomAssignmentRow.room_id, RoomAssignmentRow.agency_id, AgencyRow.code)
            .join(AgencyRow, AgencyRow.id == RoomAssignmentRow.agency_id)
            .where(RoomAssignmentRow.room_id.in_(ids)).order_by(RoomAssignmentRow.id)):
        monitors.setdefault(room_id, []).append((agency, code))
    listings = [RoomListing(room, name, tuple(c for _, c in monitors.get(room.id, [])),
                            any(a == agency_id for a, _ in monitors.get(room.id, [])))
                for room, name in found]
    return listings, int(total)


def monitored_rooms(session: Session, agency_id: int) -> list[RoomRow]:
    """Active rooms the agency monitors, by title."""
    return list(session.scalars(
        select(RoomRow).join(RoomAssignmentRow, RoomAssignmentRow.room_id == RoomRow.id)
        .where(RoomAssignmentRow.agency_id == agency_id, RoomRow.active.is_(True))
        .order_by(RoomRow.title, RoomRow.id)))


def set_monitoring(session: Session, keyring: Keyring | None, who: Principal, room_id: str,
                   monitor: bool, *, now: datetime, ip: str | None = None) -> bool:
    """Start (or stop) monitoring a room for the officer's agency; False if nothing changed.

    Audited; the room's badge is recomputed and pushed to the provider at once."""
    from childsafe.watch.housekeeping import refresh_room

    room = session.get(RoomRow, room_id) if ROOM_ID.match(room_id) else None
    if room is None or (monitor and not room.active):
        raise NotFound("No such active room.")
    existing = session.scalar(select(RoomAssignmentRow).where(
        RoomAssignmentRow.room_id == room.id, RoomAssignmentRow.agency_id == who.agency_id))
    if monitor == (existing is not None):
        return False
    if monitor:
        session.add(RoomAssignmentRow(room_id=room.id, agency_id=who.agency_id,
                                      created_by=who.user_id, created_at=now))
    else:
        session.delete(existing)
    session.flush()
    audit.append(session, AuditEvent("watch.room_monitor" if monitor else "watch.room_unmonitor",
                                     actor=who.username, agency=who.agency_code,
                                     object_type="room", object_id=room.id, ip=ip,
                                     detail={"title": room.title}), at=now)
    refresh_room(session, keyring, room, now)
    return True

