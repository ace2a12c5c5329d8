"""Localised, audience-aware text as data.

A `Text` holds one string per language, optionally with per-audience variants: a child reads
"Has someone asked you…", a parent "Has someone asked your child…". Every string exists in
every language of its flow; that is checked at load, so rendering never falls back silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

LANGUAGES: tuple[str, ...] = ("en", "fr")
DEFAULT_LANGUAGE = "en"
DEFAULT_VARIANT = "default"


class Audience(StrEnum):
    """Who is filling in the form; it changes wording, never the meaning of a question."""

    YOUNG_PERSON = "young_person"
    PARENT_CARER = "parent_carer"
    OTHER_ADULT = "other_adult"
    PROFESSIONAL = "professional"


def pick_language(lang: str | None, available: Iterable[str] = LANGUAGES) -> str:
    """The best supported language for a tag such as "fr-CA"; English when none fits."""
    options = tuple(available)
    base = (lang or "").strip().lower().replace("_", "-").split("-")[0]
    return base if base in options else (DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in options
                                         else options[0])


@dataclass(frozen=True, slots=True)
class Text:
    """`variants[variant][lang]`; the "default" variant is always present."""

    variants: Mapping[str, Mapping[str, str]]

    def render(self, lang: str, audience: str | None = None) -> str:
        variant = self.variants.get(audience or DEFAULT_VARIANT) or self.variants[DEFAULT_VARIANT]
        return variant.get(lang) or self.variants[DEFAULT_VARIANT][DEFAULT_LANGUAGE]

    @classmethod
    def plain(cls, **by_lang: str) -> Text:
        return cls({DEFAULT_VARIANT: dict(by_lang)})


def parse_text(raw: Any, where: str, languages: Iterable[str], problems: list[str]) -> Text:
    """Parse `{en:, fr:}` or `{default: {en:, fr:}, young_person: {...}}`; record problems.

    Problems are appended rather than raised so a whole file reports every fault at once.
    """
    langs = tuple(languages)
    if not isinstance(raw, Mapping) or not raw:
        problems.append(f"{where}: expected a mapping of language -> text")
        return Text({DEFAULT_VARIANT: {}})
    if all(isinstance(v, str) for v in raw.values()):
        raw = {DEFAULT_VARIANT: raw}
    variants: dict[str, dict[str, str]] = {}
    allowed = {DEFAULT_VARIANT, *(a.value for a in Audience)}
    for variant, by_lang in raw.items():
        name = str(variant)
        if name not in allowed:
            problems.append(f"{where}: unknown audience variant {name!r}")
            continue
        if not isinstance(by_lang, Mapping):
            problems.append(f"{where}.{name}: expected a mapping of language -> text")
            continue
        for lang in langs:
            value = by_lang.get(lang)
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{where}.{name}: missing translation {lang!r}")
        extra = set(map(str, by_lang)) - set(langs)
        if extra:
            problems.append(f"{where}.{name}: unknown language(s) {sorted(extra)}")
        variants[name] = {str(k): str(v) for k, v in by_lang.items()}
    if DEFAULT_VARIANT not in variants:
        problems.append(f"{where}: needs a 'default' variant")
        variants[DEFAULT_VARIANT] = next(iter(variants.values()), {})
    return Text(variants)
