"""Agency and jurisdiction rows: seeding from the VGT table and routing lookups."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Mapping
from importlib import resources

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

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
    _forget_after_commit(session)
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


ROUTES_TTL_S = 60.0  # another process's re-seed reaches this one within a minute
_ROUTES = (select(JurisdictionRow.country, JurisdictionRow.emergency_number,
                  JurisdictionRow.help_line, AgencyRow.id, AgencyRow.code)
           .join(AgencyRow, AgencyRow.id == JurisdictionRow.agency_id))
_Routes = dict[str, tuple[Jurisdiction, int]]
_routes_cache: weakref.WeakKeyDictionary[Pool, tuple[float, _Routes]] = \
    weakref.WeakKeyDictionary()
_routes_lock = threading.Lock()


def _load_routes(session: Session) -> _Routes:
    return {row.country: (Jurisdiction(row.country, row.code, row.emergency_number,
                                       row.help_line), row.id)
            for row in session.execute(_ROUTES)}


def _pool_of(session: Session) -> Pool:
    """The cache key: one per database, shared by the engine and its option views."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    return engine.pool


def _forget_after_commit(session: Session) -> None:
    pool = _pool_of(session)
    forget_routes(pool)  # now, so this transaction routes by its own rows
    for end in ("after_commit", "after_rollback"):  # and what was read meanwhile
        event.listen(session, end, lambda _s: forget_routes(pool), once=True)


def forget_routes(pool: Pool) -> None:
    """Drop this process's routing snapshot (after a seed or a new agency)."""
    with _routes_lock:
        _routes_cache.pop(pool, None)


def cached_routes(pool: Pool) -> _Routes | None:
    """This process's routing table for the database behind `pool`, if it is fresh."""
    with _routes_lock:
        cached = _routes_cache.get(pool)
    if cached is not None and time.monotonic() - cached[0] < ROUTES_TTL_S:
        return cached[1]
    return None


def routes(session: Session) -> _Routes:
    """The whole routing table (country -> jurisdiction, agency id), kept per process.

    Jurisdictions change only when agencies are seeded or created; this process forgets its
    snapshot then, and other processes reload theirs after `ROUTES_TTL_S`. Every report needs
    a route, so intake looks it up here before its transaction instead of querying per report.
    """
    pool = _pool_of(session)
    cached = cached_routes(pool)
    if cached is not None:
        return cached
    now = time.monotonic()
    table = _load_routes(session)
    if table:  # an unseeded store is not cached: seeding must show at once
        with _routes_lock:
            _routes_cache[pool] = (now, table)
    return table


def route_in(table: Mapping[str, tuple[Jurisdiction, int]], country: str
             ) -> tuple[Jurisdiction, int]:
    """Who receives a report from `country` by a routing table (`routes`): its jurisdiction
    and the agency's id; no member agency -> the INTERPOL fallback."""
    code = normalize_country(country)
    found = table.get(code)
    if found is not None:
        return found
    fallback = table.get(FALLBACK_COUNTRY)
    if fallback is None:
        raise NotFound("No agencies are seeded; run `childsafe admin migrate --seed`.")
    row, agency_id = fallback
    return Jurisdiction(code, row.agency_code, row.emergency_number, row.help_line), agency_id


def destination(session: Session, country: str) -> tuple[Jurisdiction, int]:
    """`route_country` from the cached table, without loading the agency row."""
    return route_in(routes(session), country)


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
    _forget_after_commit(session)
    return row
