"""Cue rules as data: parse and validate a cue document, compile it once, match fast.

A cue document (one per language, `childsafe/watch/cues/*.yaml`) names non-explicit
grooming cues, each tied to a stage of O'Connell's model, plus age-signal patterns.
Everything is validated at load and precompiled into one alternation so that a message
costs one scan; a broken file fails with `CueError` naming the file and the rule.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

STAGES: tuple[str, ...] = (
    "friendship_forming",
    "relationship_forming",
    "risk_assessment",
    "exclusivity",
    "sexual_stage",
)
STAGE_INDEX = {name: i for i, name in enumerate(STAGES)}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_REGEX_SYNTAX = re.compile(r"\\[A-Za-z]|\(\?P<")


class CueError(ValueError):
    """A cue document is invalid; the message names the source file and the rule."""

    def __init__(self, source: str, where: str, problem: str) -> None:
        super().__init__(f"{source}: {where}: {problem}")
        self.source, self.where, self.problem = source, where, problem


def _fold_table() -> dict[int, str]:
    # Built once: str.translate is far cheaper per message than NFKD normalisation.
    table: dict[int, str] = {0x2019: "'", 0x2018: "'", 0x02BC: "'"}
    for code in range(0xC0, 0x250):
        base = "".join(c for c in unicodedata.normalize("NFKD", chr(code)) if not unicodedata.combining(c))
        if base and base != chr(code):
            table[code] = base.lower()
    table.update({ord("œ"): "oe", ord("æ"): "ae", ord("ß"): "ss"})
    return table


_FOLD = _fold_table()


def normalise(text: str) -> str:
    """Lower-case and strip accents, so rules are written once in plain ASCII."""
    return text.lower().translate(_FOLD)


@dataclass(frozen=True, slots=True)
class CueRule:
    """One cue: its id (shared across languages), stage, weight and source patterns."""

    id: str
    stage: str
    weight: float
    patterns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AgeRule:
    """An age signal: a pattern with group `age` (or `year` plus `offset` for school years)."""

    pattern: str
    offset: int


@dataclass(frozen=True, slots=True)
class CueSet:
    """The validated content of one cue document."""

    language: str
    version: int
    source: str
    cues: tuple[CueRule, ...]
    ages: tuple[AgeRule, ...]


def _compile(source: str, where: str, pattern: Any) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern.strip():
        raise CueError(source, where, "pattern must be a non-empty string")
    literal = _REGEX_SYNTAX.sub("", pattern)
    if literal != normalise(literal):
        raise CueError(source, where, f"pattern {pattern!r} must be lower-case without accents")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise CueError(source, where, f"bad regex {pattern!r}: {exc}") from exc


def parse_cue_document(doc: Any, source: str) -> CueSet:
    """Validate a parsed YAML document; raise `CueError` on the first problem found."""
    if not isinstance(doc, Mapping):
        raise CueError(source, "document", "must be a mapping")
    language, version = doc.get("language"), doc.get("version")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2}", language):
        raise CueError(source, "language", "must be a two-letter code")
    if not isinstance(version, int) or version < 1:
        raise CueError(source, "version", "must be a positive integer")
    raw_cues = doc.get("cues")
    if not isinstance(raw_cues, list) or not raw_cues:
        raise CueError(source, "cues", "must be a non-empty list")
    cues: list[CueRule] = []
    seen: set[str] = set()
    for i, item in enumerate(raw_cues):
        if not isinstance(item, Mapping):
            raise CueError(source, f"cues[{i}]", "must be a mapping")
        cue_id = item.get("id")
        if not isinstance(cue_id, str) or not _ID.match(cue_id):
            raise CueError(source, f"cues[{i}]", "id must be snake_case")
        if cue_id in seen:
            raise CueError(source, cue_id, "duplicate id")
        seen.add(cue_id)
        stage, weight = item.get("stage"), item.get("weight")
        if stage not in STAGE_INDEX:
            raise CueError(source, cue_id, f"unknown stage {stage!r}; expected one of {STAGES}")
        if not isinstance(weight, int | float) or not 0 < weight <= 5:
            raise CueError(source, cue_id, "weight must be a number in (0, 5]")
        patterns = [str(p) for p in item.get("patterns") or []]
        keywords = item.get("keywords") or []
        if not isinstance(keywords, list):
            raise CueError(source, cue_id, "keywords must be a list")
        patterns += [r"\s+".join(re.escape(w) for w in normalise(str(k)).split()) for k in keywords]
        if not patterns:
            raise CueError(source, cue_id, "needs patterns or keywords")
        for p in patterns:
            if _compile(source, cue_id, p).groups:
                raise CueError(source, cue_id, f"pattern {p!r} must use only (?:...) groups")
        cues.append(CueRule(cue_id, str(stage), float(weight), tuple(patterns)))
    ages: list[AgeRule] = []
    for i, item in enumerate(doc.get("age_signals") or []):
        where = f"age_signals[{i}]"
        if not isinstance(item, Mapping):
            raise CueError(source, where, "must be a mapping")
        compiled = _compile(source, where, item.get("pattern"))
        if set(compiled.groupindex) != {"age"}:
            raise CueError(source, where, "pattern needs exactly one named group 'age'")
        offset = item.get("offset", 0)
        if not isinstance(offset, int) or not 0 <= offset <= 10:
            raise CueError(source, where, "offset must be an integer in [0, 10]")
        ages.append(AgeRule(compiled.pattern, offset))
    return CueSet(language, version, source, tuple(cues), tuple(ages))


class CueMatcher:
    """All cue sets compiled into one regex; the cue of a match is `m.lastgroup`.

    Cue ids shared across languages merge into one group, so scores do not depend on the
    language a cue was written in. Patterns are wrapped in word-boundary guards that also
    work when a pattern starts or ends with punctuation.
    """

    def __init__(self, cue_sets: Sequence[CueSet]) -> None:
        merged: dict[str, list[str]] = {}
        meta: dict[str, tuple[str, float]] = {}
        for cue_set in cue_sets:
            for cue in cue_set.cues:
                known = meta.setdefault(cue.id, (cue.stage, cue.weight))
                if known[0] != cue.stage:
                    raise CueError(cue_set.source, cue.id, f"stage differs from another file ({known[0]})")
                merged.setdefault(cue.id, []).extend(cue.patterns)
        groups = [f"(?P<{cid}>{'|'.join(f'(?:{p})' for p in pats)})" for cid, pats in merged.items()]
        self.regex = re.compile(r"(?<!\w)(?:" + "|".join(groups) + r")(?!\w)")
        self.meta: dict[str, tuple[str, float]] = meta
        age_patterns = [(re.compile(r"(?<!\w)(?:" + a.pattern + r")(?!\w)"), a.offset)
                        for s in cue_sets for a in s.ages]
        self.age_patterns: tuple[tuple[re.Pattern[str], int], ...] = tuple(age_patterns)
        self.languages = tuple(sorted({s.language for s in cue_sets}))

    def cues(self, normalised: str) -> list[str]:
        """Cue ids found in an already normalised text, in order (repeats kept)."""
        return [m.lastgroup for m in self.regex.finditer(normalised) if m.lastgroup]

    def ages(self, normalised: str) -> list[int]:
        """Ages stated in the text (school years converted with the rule's offset)."""
        found: list[int] = []
        for pattern, offset in self.age_patterns:
            for m in pattern.finditer(normalised):
                age = int(m.group("age")) + offset
                if 5 <= age <= 99:
                    found.append(age)
        return found
