"""Load the packaged intake data (flows, tips, guidance) and the VGT contact table.

The only place in `childsafe.reports` that reads files; everything is parsed and checked by the
pure core, and cached, so a broken data file fails at start-up (call `check_all()` there),
not in front of a reporter.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib import resources
from typing import Any

import yaml

from childsafe.reports.core.contacts import Routing
from childsafe.reports.core.countries import parse_country_names
from childsafe.reports.core.errors import FlowError
from childsafe.reports.core.flow import parse_flow
from childsafe.reports.core.i18n import LANGUAGES, pick_language
from childsafe.reports.core.model import Flow
from childsafe.reports.core.tips import Guide, TipSheet, parse_guide, parse_tips
from childsafe.reports.core.triage import TriageRules, parse_rules

PACKAGE = "childsafe.reports"
DEFAULT_FLOW = "report"


def _read_yaml(folder: str, name: str) -> Any:
    resource = resources.files(PACKAGE).joinpath(folder, f"{name}.yaml")
    if not resource.is_file():
        raise FlowError([f"no data file {folder}/{name}.yaml"], source=f"{folder}/{name}")
    return yaml.safe_load(resource.read_text(encoding="utf-8"))


@cache
def load_triage_rules() -> TriageRules:
    return parse_rules(_read_yaml("triage", "rules"))


def flow_names() -> list[str]:
    folder = resources.files(PACKAGE).joinpath("flows")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


@cache
def load_flow(name: str = DEFAULT_FLOW) -> Flow:
    """The named flow (latest packaged version). Raises `FlowError` if the data is broken."""
    return parse_flow(_read_yaml("flows", name), source=f"flows/{name}.yaml")


@cache
def load_tips() -> TipSheet:
    return parse_tips(_read_yaml("tips", "safety_tips"), source="tips/safety_tips.yaml")


@cache
def load_guide(name: str) -> Guide:
    """A guidance page: `capture_conversation` or `why_details`."""
    return parse_guide(_read_yaml("tips", name), source=f"tips/{name}.yaml")


GUIDES = ("capture_conversation", "why_details")


@cache
def load_routing() -> Routing:
    """Country -> emergency number and help lines, from the platform's VGT agency table."""
    from childsafe.core.agencies import parse_vgt_table

    text = resources.files("childsafe.data").joinpath("vgt_agencies.csv").read_text("utf-8")
    return parse_vgt_table(text)[1]


@cache
def _country_names() -> dict[str, dict[str, str]]:
    return parse_country_names(_read_yaml("data", "countries"), LANGUAGES)


def _sort_key(name: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", name)
                   if not unicodedata.combining(ch)).casefold()


@cache
def country_choices(lang: str) -> tuple[tuple[str, str], ...]:
    """(code, name) pairs for the country question, sorted by name in `lang`."""
    names = _country_names()[pick_language(lang)]
    return tuple(sorted(names.items(), key=lambda item: _sort_key(item[1])))


def check_all() -> None:
    """Load every data file once; call at start-up so broken data stops the server."""
    for name in flow_names():
        load_flow(name)
    load_tips()
    for guide in GUIDES:
        load_guide(guide)
    _country_names()
    load_triage_rules()
