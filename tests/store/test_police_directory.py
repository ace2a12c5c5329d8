"""The demo police directory: fictional, idempotent, with an INTERPOL fallback."""

import re

from childsafe.store import police


def test_seed_is_idempotent_and_fictional(db):
    with db.transaction() as s:
        added = police.seed_police_stations(s)
    with db.transaction() as s:
        assert police.seed_police_stations(s) == 0
    assert added == len(police.DEMO_STATIONS)
    drama = re.compile(r"^(\+44 20 7946 0\d{3}|\+1 \d{3} 555 01\d{2}|\+61 2 5550 \d{4}"
                       r"|\+33 1 99 00 \d{2} \d{2})$")
    for country, _name, _region, email, phone, _address in police.DEMO_STATIONS:
        assert email.endswith(".example") and drama.match(phone), (email, phone)
    assert {c for c, *_ in police.DEMO_STATIONS} == {"GB", "US", "AU", "CA", "*"}


def test_stations_by_country_with_interpol_fallback(db):
    with db.transaction() as s:
        police.seed_police_stations(s)
    with db.transaction() as s:
        gb = police.stations_for(s, "gb")
        assert len(gb) == 3 and all(r.country == "GB" for r in gb)
        assert [r.region for r in gb] == sorted(r.region for r in gb)
        [ncb] = police.stations_for(s, "FR")
        assert ncb.country == "*" and "INTERPOL" in ncb.name
        assert police.get_station(s, gb[0].id).name == gb[0].name
