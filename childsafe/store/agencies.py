"""Agency and jurisdiction rows: seeding from the VGT table and routing lookups."""

from __future__ import annotations

from importlib import resources

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from childsafe.core.agencies import (
    FALLBACK_COUNTRY,
    Agency,
    Jurisdiction,
    normalize_country,
    parse_vgt_table,
)
from childsafe.core.errors import NotFound
from childsafe.store.models import AgencyRow, JurisdictionRow


def packaged_vgt_table() -> str:
    return resources.files("childsafe.data").joinpath("vgt_agencies.csv").read_text("utf-8")


def seed_agencies(session: Session, table_text: str | None = None) -> tuple[int, int]:
    """Insert or update every agency and jurisdiction; returns (agencies, jurisdictions)."""
    agencies, routing = parse_vgt_table(table_text or packaged_vgt_table())
    by_code = {row.code: row for row in session.scalars(select(AgencyRow))}
    for agency in agencies:
        row = by_code.get(agency.code)
        if row is None:
            row = AgencyRow(code=agency.code)
            session.add(row)
            by_code[agency.code] = row
        row.name, row.emergency_number = agency.name, agency.emergency_number
        row.help_line, row.note, row.is_fallback = agency.help_line, agency.note, agency.is_fallback
    session.flush()
    existing = {row.country: row for row in session.scalars(select(JurisdictionRow))}
    all_rows = [*routing.jurisdictions.values(), routing.fallback]
    for j in all_rows:
        jrow = existing.get(j.country) or JurisdictionRow(country=j.country)
        jrow.agency_id = by_code[j.agency_code].id
        jrow.emergency_number, jrow.help_line = j.emergency_number, j.help_line
        session.add(jrow)
    session.flush()
    return len(agencies), len(all_rows)


def to_agency(row: AgencyRow) -> Agency:
    return Agency(row.code, row.name, row.emergency_number, row.help_line, row.note,
                  (FALLBACK_COUNTRY,) if row.is_fallback else ())


def list_agencies(session: Session) -> list[AgencyRow]:
    return list(session.scalars(select(AgencyRow).order_by(AgencyRow.code)))


def get_by_code(session: Session, code: str) -> AgencyRow:
    row = session.scalar(select(AgencyRow).where(AgencyRow.code == code.strip().upper()))
    if row is None:
        raise NotFound(f"No agency with code {code!r}.")
    return row


def route_country(session: Session, country: str) -> tuple[Jurisdiction, AgencyRow]:
    """Who receives a report from `country`; no member agency -> the INTERPOL fallback row."""
    code = normalize_country(country)
    # One round trip for the country's row and the fallback's, with their agencies.
    rows = session.execute(select(JurisdictionRow, AgencyRow)
                           .join(AgencyRow, AgencyRow.id == JurisdictionRow.agency_id)
                           .where(JurisdictionRow.country.in_((code, FALLBACK_COUNTRY)))).all()
    found = {jrow.country: (jrow, agency) for jrow, agency in rows}
    match = found.get(code) or found.get(FALLBACK_COUNTRY)
    if match is None:
        raise NotFound("No agencies are seeded; run `childsafe admin migrate --seed`.")
    row, agency = match
    return Jurisdiction(code, agency.code, row.emergency_number, row.help_line), agency


_DESTINATION = (select(JurisdictionRow.country, JurisdictionRow.emergency_number,
                       JurisdictionRow.help_line, AgencyRow.id, AgencyRow.code)
                .join(AgencyRow, AgencyRow.id == JurisdictionRow.agency_id)
                .where(JurisdictionRow.country.in_(bindparam("countries", expanding=True))))


def destination(session: Session, country: str) -> tuple[Jurisdiction, int]:
    """`route_country` without loading the agency row: the jurisdiction and the agency's id."""
    code = normalize_country(country)
    found = {row.country: row for row in session.execute(
        _DESTINATION, {"countries": [code, FALLBACK_COUNTRY]})}
    row = found.get(code) or found.get(FALLBACK_COUNTRY)
    if row is None:
        raise NotFound("No agencies are seeded; run `childsafe admin migrate --seed`.")
    return Jurisdiction(code, row.code, row.emergency_number, row.help_line), row.id


def create_agency(session: Session, code: str, name: str, *, emergency_number: str = "",
                  help_line: str = "") -> AgencyRow:
    from childsafe.core.agencies import validate_agency_code
    from childsafe.core.errors import Conflict, InvalidInput

    code = validate_agency_code(code)
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("Agency name must be 1-200 characters.", field="name")
    if session.scalar(select(AgencyRow.id).where(AgencyRow.code == code)) is not None:
        raise Conflict(f"Agency {code} already exists.")
    row = AgencyRow(code=code, name=name, emergency_number=emergency_number,
                    help_line=help_line, note="", is_fallback=False)
    session.add(row)
    session.flush()
    return row
