"""Agencies of the Virtual Global Taskforce and the country -> agency routing table.

Agencies are tenants: every case, alert and officer belongs to exactly one. Countries
without a member agency route to INTERPOL (the `*` row of the table).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from childsafe.core.errors import InvalidInput

FALLBACK_COUNTRY = "*"
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_AGENCY_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,47}$")


@dataclass(frozen=True, slots=True)
class Agency:
    code: str
    name: str
    emergency_number: str = ""
    help_line: str = ""
    note: str = ""
    countries: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_fallback(self) -> bool:
        return FALLBACK_COUNTRY in self.countries


@dataclass(frozen=True, slots=True)
class Jurisdiction:
    """One country's row: who receives its reports and whom to call in an emergency."""

    country: str
    agency_code: str
    emergency_number: str
    help_line: str


@dataclass(frozen=True, slots=True)
class RoutingTable:
    jurisdictions: Mapping[str, Jurisdiction]
    fallback: Jurisdiction

    def route(self, country: str) -> Jurisdiction:
        """The jurisdiction for an ISO 3166-1 alpha-2 code; unknown members fall back to INTERPOL."""
        code = normalize_country(country)
        return self.jurisdictions.get(code, self.fallback)


def normalize_country(value: str) -> str:
    code = (value or "").strip().upper()
    if code == "UK":  # common alias; ISO uses GB
        code = "GB"
    if not _COUNTRY.match(code):
        raise InvalidInput("Country must be a two-letter ISO 3166-1 code such as GB or FR.",
                           field="country")
    return code


def validate_agency_code(value: str) -> str:
    code = (value or "").strip().upper()
    if not _AGENCY_CODE.match(code):
        raise InvalidInput(
            "Agency code must be 2-48 characters of A-Z, 0-9 and '-', e.g. UK-NCA-CEOP.",
            field="code")
    return code


def parse_vgt_table(text: str) -> tuple[list[Agency], RoutingTable]:
    """Parse the VGT CSV (country_code, agency_code, agency_name, emergency_number, ...).

    Raises InvalidInput naming the line for any malformed row, and if no `*` fallback exists.
    """
    reader = csv.DictReader(io.StringIO(text))
    required = {"country_code", "agency_code", "agency_name", "emergency_number", "help_line"}
    if not reader.fieldnames or not required <= set(reader.fieldnames):
        raise InvalidInput(f"agency table needs columns {sorted(required)}")
    agencies: dict[str, Agency] = {}
    rows: dict[str, Jurisdiction] = {}
    fallback: Jurisdiction | None = None
    for line_no, row in enumerate(reader, start=2):
        country = (row.get("country_code") or "").strip().upper()
        try:
            code = validate_agency_code(row.get("agency_code") or "")
            if country != FALLBACK_COUNTRY:
                country = normalize_country(country)
        except InvalidInput as exc:
            raise InvalidInput(f"line {line_no}: {exc.detail}") from exc
        name = (row.get("agency_name") or "").strip()
        if not name:
            raise InvalidInput(f"line {line_no}: agency_name is empty")
        jurisdiction = Jurisdiction(country, code, (row.get("emergency_number") or "").strip(),
                                    (row.get("help_line") or "").strip())
        previous = agencies.get(code)
        countries = (previous.countries if previous else ()) + (country,)
        agencies[code] = Agency(code, name, jurisdiction.emergency_number,
                                jurisdiction.help_line,
                                (row.get("membership_note") or "").strip(), countries)
        if country == FALLBACK_COUNTRY:
            fallback = jurisdiction
        elif country in rows:
            raise InvalidInput(f"line {line_no}: country {country} is listed twice")
        else:
            rows[country] = jurisdiction
    if fallback is None:
        raise InvalidInput("agency table has no '*' fallback row (INTERPOL)")
    return list(agencies.values()), RoutingTable(rows, fallback)


def agencies_by_code(agencies: Iterable[Agency]) -> dict[str, Agency]:
    return {a.code: a for a in agencies}
