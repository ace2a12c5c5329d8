"""Safety tips and guidance pages as data: parsed and checked here, rendered per audience.

Pages are structured (title, intro, sections of points) rather than free markdown so the
web layer escapes every string the same way and translators see one sentence at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from childsafe.reports.core.errors import FlowError
from childsafe.reports.core.i18n import LANGUAGES, Audience, Text, parse_text


@dataclass(frozen=True, slots=True)
class Tip:
    id: str
    title: Text
    body: Text


@dataclass(frozen=True, slots=True)
class RenderedTip:
    id: str
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class TipSheet:
    version: int
    by_audience: Mapping[Audience, tuple[Tip, ...]]

    def tips_for(self, audience: Audience | str, lang: str) -> list[RenderedTip]:
        who = Audience(audience)
        return [RenderedTip(t.id, t.title.render(lang, who), t.body.render(lang, who))
                for t in self.by_audience[who]]


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: Text
    points: tuple[Text, ...]


@dataclass(frozen=True, slots=True)
class RenderedSection:
    id: str
    title: str
    points: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RenderedGuide:
    id: str
    title: str
    intro: str
    sections: tuple[RenderedSection, ...]


@dataclass(frozen=True, slots=True)
class Guide:
    id: str
    version: int
    title: Text
    intro: Text
    sections: tuple[Section, ...]

    def render(self, lang: str, audience: Audience | str | None = None) -> RenderedGuide:
        who = str(audience) if audience else None
        return RenderedGuide(
            self.id, self.title.render(lang, who), self.intro.render(lang, who),
            tuple(RenderedSection(s.id, s.title.render(lang, who),
                                  tuple(pt.render(lang, who) for pt in s.points))
                  for s in self.sections))


def _header(raw: Any, p: list[str]) -> tuple[int, tuple[str, ...]]:
    if not isinstance(raw, Mapping):
        p.append("top level must be a mapping")
        return 0, LANGUAGES
    version = raw.get("version")
    if not isinstance(version, int) or version < 1:
        p.append("version: expected a positive integer")
        version = 0
    langs = tuple(raw.get("languages") or ())
    missing = [lang for lang in LANGUAGES if lang not in langs]
    if missing:
        p.append(f"languages: must include {missing}")
    return version, langs


def parse_tips(raw: Any, *, source: str = "tips") -> TipSheet:
    """Every audience must have at least one tip, every string every language."""
    p: list[str] = []
    version, langs = _header(raw, p)
    by_audience: dict[Audience, tuple[Tip, ...]] = {}
    audiences = raw.get("audiences") if isinstance(raw, Mapping) else None
    for who in Audience:
        items = (audiences or {}).get(who.value) if isinstance(audiences, Mapping) else None
        if not isinstance(items, list) or not items:
            p.append(f"audiences.{who.value}: expected a non-empty list of tips")
            continue
        tips = []
        for i, t in enumerate(items):
            where = f"audiences.{who.value}[{i}]"
            if not isinstance(t, Mapping) or not isinstance(t.get("id"), str):
                p.append(f"{where}: expected a mapping with an id")
                continue
            tips.append(Tip(t["id"], parse_text(t.get("title"), f"{where}.title", langs, p),
                            parse_text(t.get("body"), f"{where}.body", langs, p)))
        by_audience[who] = tuple(tips)
    if isinstance(audiences, Mapping):
        for extra in set(map(str, audiences)) - {a.value for a in Audience}:
            p.append(f"audiences: unknown audience {extra!r}")
    if p:
        raise FlowError(p, source=source)
    return TipSheet(version, by_audience)


def parse_guide(raw: Any, *, source: str = "guide") -> Guide:
    p: list[str] = []
    version, langs = _header(raw, p)
    raw = raw if isinstance(raw, Mapping) else {}
    sections = []
    for i, s in enumerate(raw.get("sections") or []):
        where = f"sections[{i}]"
        if not isinstance(s, Mapping) or not isinstance(s.get("id"), str):
            p.append(f"{where}: expected a mapping with an id")
            continue
        points = s.get("points")
        if not isinstance(points, list) or not points:
            p.append(f"{where}.points: expected a non-empty list")
            points = []
        sections.append(Section(s["id"], parse_text(s.get("title"), f"{where}.title", langs, p),
                                tuple(parse_text(pt, f"{where}.points[{j}]", langs, p)
                                      for j, pt in enumerate(points))))
    if not sections:
        p.append("sections: expected a non-empty list")
    guide = Guide(str(raw.get("id", "")), version,
                  parse_text(raw.get("title"), "title", langs, p),
                  parse_text(raw.get("intro"), "intro", langs, p), tuple(sections))
    if p:
        raise FlowError(p, source=source)
    return guide
