"""Who is reporting. Reports are not anonymous: an officer must be able to reach the reporter.

`parse_reporter` validates a whole form at once and returns every problem in the reporter's
language. Contact details are normalised (phone numbers to E.164 using the country as the
region, email domains to lower case) so the store can match and verify them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import phonenumbers

from childsafe.reports.core.answers import has_unsafe_chars
from childsafe.reports.core.countries import normalize_country_code
from childsafe.reports.core.errors import FieldProblem, IdentityInvalid
from childsafe.reports.core.messages import message

NAME_MAX = 100
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"^{_ATOM}(\.{_ATOM})*$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


class AgeBand(StrEnum):
    UNDER_13 = "under_13"
    AGE_13_15 = "13_15"
    AGE_16_17 = "16_17"
    ADULT = "18_plus"

    @property
    def is_minor(self) -> bool:
        return self is not AgeBand.ADULT


class Relationship(StrEnum):
    """The reporter's relationship to the child the report is about."""

    SELF = "self"
    PARENT_CARER = "parent_carer"
    RELATIVE = "relative"
    FRIEND = "friend"
    TEACHER_PROFESSIONAL = "teacher_professional"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Reporter:
    name: str
    email: str | None
    phone: str | None  # E.164, e.g. +447700900123
    country: str  # ISO 3166-1 alpha-2
    age_band: AgeBand
    relationship: Relationship

    @property
    def is_minor(self) -> bool:
        return self.age_band.is_minor


def normalize_email(raw: str) -> str | None:
    """The address with a lower-cased (IDNA-encoded) domain, or None when it is not valid.

    Deliberately syntax only: deliverability is proved by the verification code.
    """
    value = raw.strip()
    if len(value) > 254 or value.count("@") != 1:
        return None
    local, domain = value.split("@")
    if not local or len(local) > 64 or not _LOCAL.match(local):
        return None
    try:
        domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(x) for x in labels) or not _TLD.match(labels[-1]):
        return None
    return f"{local}@{domain}"


def normalize_phone(raw: str, country: str | None) -> str | None:
    """E.164 form of a valid number; national numbers are read in `country`'s format."""
    try:
        number = phonenumbers.parse(raw.strip(), country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return value.strip() if isinstance(value, str) else ""


def parse_reporter(raw: Mapping[str, Any], lang: str = "en") -> Reporter:
    """Validate a reporter form; raise `IdentityInvalid` listing every field problem."""
    problems: list[FieldProblem] = []

    def fail(field: str, key: str) -> None:
        problems.append(FieldProblem(field, key, message(key, lang)))

    name = _text(raw, "name")
    if not name:
        fail("name", "name")
    elif len(name) > NAME_MAX:
        problems.append(FieldProblem("name", "too_long",
                                     message("too_long", lang, limit=NAME_MAX)))
    elif has_unsafe_chars(name):
        problems.append(FieldProblem("name", "bad_chars", message("bad_chars", lang)))

    country = normalize_country_code(raw.get("country"))
    if country is None:
        fail("country", "country")

    email_raw, phone_raw = _text(raw, "email"), _text(raw, "phone")
    email = normalize_email(email_raw) if email_raw else None
    phone = normalize_phone(phone_raw, country) if phone_raw else None
    if not email_raw and not phone_raw:
        fail("contact", "contact")
    if email_raw and email is None:
        fail("email", "email")
    if phone_raw and phone is None:
        fail("phone", "phone")

    try:
        age_band = AgeBand(_text(raw, "age_band"))
    except ValueError:
        fail("age_band", "age_band")
    try:
        relationship = Relationship(_text(raw, "relationship"))
    except ValueError:
        fail("relationship", "relationship")

    if problems:
        raise IdentityInvalid(problems)
    return Reporter(name, email, phone, country, age_band, relationship)  # type: ignore[arg-type]
