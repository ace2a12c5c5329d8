"""ISO 3166-1 alpha-2 country codes (officially assigned), as a constant: no I/O in the core.

Taken from the Debian iso-codes table. `UK` is accepted as an alias of `GB`; `EU` and
the other exceptionally reserved codes are not countries a reporter can live in.
"""

from __future__ import annotations

_TABLE = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE
    BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD
    CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF
    GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU
    ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
    MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI
    SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK
    TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
"""
ISO_COUNTRIES: frozenset[str] = frozenset(_TABLE.split())

ALIASES = {"UK": "GB"}


def normalize_country_code(value: object) -> str | None:
    """The canonical alpha-2 code, or None when `value` is not an assigned country."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    code = ALIASES.get(code, code)
    return code if code in ISO_COUNTRIES else None


def parse_country_names(raw: object, languages: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """`{lang: {code: name}}` from the packaged names file; every assigned code in every
    language, so the country question's list is never partial. Raises ValueError."""
    names = raw.get("names") if isinstance(raw, dict) else None
    if not isinstance(names, dict):
        raise ValueError("country names: expected a 'names' mapping")
    missing = ISO_COUNTRIES - set(names)
    extra = set(names) - ISO_COUNTRIES
    if missing or extra:
        raise ValueError(f"country names: missing {sorted(missing)}, unknown {sorted(extra)}")
    out: dict[str, dict[str, str]] = {lang: {} for lang in languages}
    for code, by_lang in names.items():
        for lang in languages:
            name = by_lang.get(lang) if isinstance(by_lang, dict) else None
            if not isinstance(name, str) or not name:
                raise ValueError(f"country names: {code} has no {lang!r} name")
            out[lang][code] = name
    return out
