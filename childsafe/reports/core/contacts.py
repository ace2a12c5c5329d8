"""Where to turn: emergency numbers and help lines by country, and signposts built from them.

The core only sees a `Routing` protocol (`route(country) -> jurisdiction`); the platform's
`childsafe.core.agencies.RoutingTable` fits it as is, and tests pass a dict-backed fake.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from childsafe.reports.core.i18n import Text


class JurisdictionLike(Protocol):
    @property
    def emergency_number(self) -> str: ...

    @property
    def help_line(self) -> str: ...


class Routing(Protocol):
    def route(self, country: str) -> JurisdictionLike: ...


@dataclass(frozen=True, slots=True)
class Signpost:
    """One place the reporter can turn to, ready to show (already localised and filled in)."""

    kind: str
    text: str


def help_lines(jurisdiction: JurisdictionLike | None) -> list[str]:
    """The VGT table's `help_line` cell holds several lines separated by ';'."""
    if jurisdiction is None:
        return []
    return [part.strip() for part in jurisdiction.help_line.split(";") if part.strip()]


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def build_signposts(kinds: tuple[str, ...], texts: Mapping[str, Text], lang: str,
                    audience: str | None, *, provider: str | None,
                    jurisdiction: JurisdictionLike | None) -> tuple[Signpost, ...]:
    """Fill each signpost template; a template whose value is unknown falls back to its
    `<kind>_generic` sibling (e.g. "the app" instead of the provider's name), or is dropped."""
    values_list: list[dict[str, str]] = []
    out: list[Signpost] = []
    for kind in kinds:
        if kind == "help_line":
            values_list = [{"help_line": line} for line in help_lines(jurisdiction)] or [{}]
        else:
            values_list = [{
                "provider": provider or "",
                "emergency_number": jurisdiction.emergency_number if jurisdiction else "",
            }]
        for values in values_list:
            template = texts[kind].render(lang, audience)
            if any(not values.get(name) for name in _placeholders(template)):
                generic = texts.get(f"{kind}_generic")
                if generic is None:
                    continue
                template = generic.render(lang, audience)
            out.append(Signpost(kind, template.format(**values)))
    return tuple(out)
