"""The police-station directory officers escalate to (local police when a child is in danger).

`seed_police_stations` loads a small *fictional* directory for the demo: invented names,
`*.example` addresses and numbers from the ranges regulators reserve for drama (UK
020 7946 0xxx, North America 555-01xx, Australia 02 5550 xxxx, France 01 99 00 xx xx), so
nothing in a demo can reach a real station. A real deployment loads its own directory.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe.store.case_models import PoliceStationRow

FALLBACK_COUNTRY = "*"  # INTERPOL's National Central Bureau route, for any other country

# (country, name, region, email, phone, address)
DEMO_STATIONS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("GB", "Northbridge Police Station — Child Protection Desk", "Greater London",
     "cp-desk@northbridge-police.example", "+44 20 7946 0101",
     "1 Example Street, London, EC1A 0XX"),
    ("GB", "Eastmoor Police Station — Public Protection Unit", "West Yorkshire",
     "ppu@eastmoor-police.example", "+44 20 7946 0102", "22 Sample Road, Eastmoor, LS0 0XX"),
    ("GB", "Kelvinside Police Office — Child Abuse Investigation", "Scotland",
     "caiu@kelvinside-police.example", "+44 20 7946 0103", "5 Fictional Lane, Glasgow, G0 0XX"),
    ("US", "Springfield Police Department — Crimes Against Children", "Illinois",
     "cac@springfield-pd.example", "+1 202 555 0101", "100 Example Ave, Springfield, IL"),
    ("US", "Riverton County Sheriff — Special Victims Unit", "Oregon",
     "svu@riverton-sheriff.example", "+1 202 555 0102", "200 Sample Blvd, Riverton, OR"),
    ("AU", "Harbourside Police Station — Child Protection Squad", "New South Wales",
     "cps@harbourside-police.example", "+61 2 5550 0101", "1 Example Parade, Sydney NSW"),
    ("AU", "Red Gum Police Station — Family Violence and Child Safety", "Victoria",
     "fvcs@redgum-police.example", "+61 2 5550 0102", "9 Sample Street, Melbourne VIC"),
    ("CA", "Lakeshore Police Service — Internet Child Exploitation Unit", "Ontario",
     "ice@lakeshore-police.example", "+1 613 555 0101", "10 Example Road, Toronto ON"),
    ("CA", "Prairie View Detachment — Child Protection", "Saskatchewan",
     "cp@prairieview-police.example", "+1 613 555 0102", "3 Sample Drive, Regina SK"),
    (FALLBACK_COUNTRY, "INTERPOL National Central Bureau — duty desk (demo)", "any country",
     "ncb-duty@interpol-ncb.example", "+33 1 99 00 01 01",
     "Forwarded to the NCB of the child's country"),
)


def seed_police_stations(session: Session) -> int:
    """Add the demo directory; idempotent (a station already present by country and name is
    left as it is). Returns how many rows were added."""
    existing = {(country, name) for country, name in session.execute(
        select(PoliceStationRow.country, PoliceStationRow.name))}
    added = 0
    for country, name, region, email, phone, address in DEMO_STATIONS:
        if (country, name) in existing:
            continue
        session.add(PoliceStationRow(country=country, name=name, region=region, email=email,
                                     phone=phone, address=address))
        added += 1
    session.flush()
    return added


def stations_for(session: Session, country: str) -> list[PoliceStationRow]:
    """Stations of `country` (ISO alpha-2) by region and name; where the directory has none,
    the INTERPOL NCB rows, so an officer always has somewhere to escalate."""
    code = (country or "").strip().upper()[:2]
    rows = list(session.scalars(select(PoliceStationRow).where(PoliceStationRow.country == code)
                                .order_by(PoliceStationRow.region, PoliceStationRow.name)))
    if rows or code == FALLBACK_COUNTRY:
        return rows
    return list(session.scalars(select(PoliceStationRow)
                                .where(PoliceStationRow.country == FALLBACK_COUNTRY)
                                .order_by(PoliceStationRow.name)))


def get_station(session: Session, station_id: int) -> PoliceStationRow | None:
    return session.get(PoliceStationRow, station_id)
