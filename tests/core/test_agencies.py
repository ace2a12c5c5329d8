from pathlib import Path

import pytest

from childsafe.core.agencies import normalize_country, parse_vgt_table
from childsafe.core.errors import InvalidInput

TABLE = (Path(__file__).parents[2] / "childsafe" / "data" / "vgt_agencies.csv").read_text()


def test_vgt_members_and_interpol_fallback():
    agencies, routing = parse_vgt_table(TABLE)
    codes = {a.code for a in agencies}
    assert {"UK-NCA-CEOP", "US-DHS-HSI", "AU-AFP-ACCCE", "CA-RCMP-NCECC", "INT-INTERPOL"} <= codes
    assert routing.route("GB").agency_code == "UK-NCA-CEOP"
    assert routing.route("uk").agency_code == "UK-NCA-CEOP"
    assert routing.route("US").emergency_number == "911"
    assert routing.route("AU").emergency_number == "000"
    assert routing.route("FR").agency_code == "INT-INTERPOL"
    assert routing.route("BR").agency_code == "INT-INTERPOL"


@pytest.mark.parametrize("bad", ["", "G", "GBR", "1A", "g\u00e9", "<s>"])
def test_bad_country_codes(bad):
    with pytest.raises(InvalidInput):
        normalize_country(bad)


def test_table_without_fallback_rejected():
    text = "country_code,agency_code,agency_name,emergency_number,help_line\nGB,UK-X,X,999,\n"
    with pytest.raises(InvalidInput, match="fallback"):
        parse_vgt_table(text)


def test_bad_row_names_its_line():
    text = ("country_code,agency_code,agency_name,emergency_number,help_line\n"
            "*,INT,Interpol,112,\nGBR,UK-X,X,999,\n")
    with pytest.raises(InvalidInput, match="line 3"):
        parse_vgt_table(text)
