"""Reporter identity: reports are not anonymous, and contact details are normalised."""

from __future__ import annotations

import pytest

from childsafe.reports.core.errors import IdentityInvalid
from childsafe.reports.core.identity import (
    AgeBand,
    Relationship,
    normalize_email,
    normalize_phone,
    parse_reporter,
)

GOOD = {"name": "Alex Example", "email": "Alex.Example@Mail.Example.com", "phone": "",
        "country": "gb", "age_band": "13_15", "relationship": "self"}


def problems(raw, lang="en") -> dict[str, str]:
    with pytest.raises(IdentityInvalid) as info:
        parse_reporter(raw, lang)
    return {p["field"]: p["reason"] for p in info.value.as_list()}


def test_valid_reporter():
    r = parse_reporter(GOOD)
    assert r.email == "Alex.Example@mail.example.com"  # local part case kept, domain lowered
    assert r.phone is None and r.country == "GB"
    assert r.age_band is AgeBand.AGE_13_15 and r.is_minor
    assert r.relationship is Relationship.SELF


@pytest.mark.parametrize(("raw", "country", "e164"),
                         [("020 7946 0018", "GB", "+442079460018"),
                          ("(201) 555-0123", "US", "+12015550123"),
                          ("06 12 34 56 78", "FR", "+33612345678"),
                          ("+44 20 7946 0018", "FR", "+442079460018")])
def test_phone_is_normalised_to_e164_using_the_country(raw, country, e164):
    assert normalize_phone(raw, country) == e164
    r = parse_reporter({**GOOD, "email": "", "phone": raw, "country": country})
    assert r.phone == e164 and r.email is None


@pytest.mark.parametrize("raw", ["12", "not a number", "+99 123", "0770090012345678"])
def test_invalid_phone(raw):
    assert normalize_phone(raw, "GB") is None


@pytest.mark.parametrize("raw", ["a@b", "no-at.example.com", "two@@example.com",
                                 "x@-bad-.example.com", "sp ace@example.com",
                                 "x@example.c0m", ".dot@example.com", "a..b@example.com",
                                 "x@" + "a" * 64 + ".example.com", "x" * 65 + "@example.com",
                                 "<script>@example.com"])
def test_invalid_email(raw):
    assert normalize_email(raw) is None


def test_international_domain_is_encoded():
    assert normalize_email("zoe@exämple.test") == "zoe@xn--exmple-cua.test"


def test_at_least_one_contact():
    assert problems({**GOOD, "email": " ", "phone": ""}) == {"contact": "contact"}


def test_every_problem_at_once_in_french():
    with pytest.raises(IdentityInvalid) as info:
        parse_reporter({"name": "", "email": "nope", "phone": "123", "country": "EU",
                        "age_band": "ancient", "relationship": "pen_pal"}, "fr")
    by_field = {p.field: p.detail for p in info.value.problems}
    assert set(by_field) == {"name", "email", "phone", "country", "age_band", "relationship"}
    assert by_field["email"] == "Cette adresse e-mail ne semble pas correcte."


def test_name_limits():
    assert problems({**GOOD, "name": "x" * 101}) == {"name": "too_long"}
    assert problems({**GOOD, "name": "Ann\u202eA"}) == {"name": "bad_chars"}
    assert parse_reporter({**GOOD, "name": "  Zoë O’Brien-山田 "}).name == "Zoë O’Brien-山田"


@pytest.mark.parametrize("band", [b.value for b in AgeBand])
@pytest.mark.parametrize("rel", [r.value for r in Relationship])
def test_all_bands_and_relationships(band, rel):
    r = parse_reporter({**GOOD, "age_band": band, "relationship": rel})
    assert r.is_minor == (band != "18_plus")


def test_phone_with_invalid_country_still_needs_international_form():
    assert problems({**GOOD, "email": "", "phone": "020 7946 0018", "country": "ZZ"}) == {
        "country": "country", "phone": "phone"}
