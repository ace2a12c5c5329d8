"""Triage: a priority (P1 immediate … P4 informational) and the reasons for it, from facts.

Rules are data (`childsafe/reports/triage/rules.yaml`, versioned). Base rules set a priority;
the highest matched wins. Raising rules then move it up a level each (never above P1), for
aggravating facts such as a very young victim or a suspect already reported. Every matched
rule contributes its reason, so an officer reads "P1 because: meeting arranged for Sat 28 Nov
18:00 UTC; victim aged 12".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        return int(self.value[1])

    def raised(self, levels: int = 1) -> Priority:
        return Priority(f"P{max(1, self.rank - levels)}")


SLA = {Priority.P1: timedelta(minutes=15), Priority.P2: timedelta(hours=4),
       Priority.P3: timedelta(days=3), Priority.P4: timedelta(days=7)}


class TriageRulesError(ValueError):
    """The packaged rules are malformed: a bug of ours, raised at load."""


@dataclass(frozen=True, slots=True)
class TriageFacts:
    """What triage looks at; built by the adapter from the report, evidence and history."""

    category: str
    immediate: bool = False
    cues: frozenset[str] = frozenset()
    meeting_at: datetime | None = None
    victim_age: int | None = None
    victim_age_band: str | None = None  # under_13, 13_15, 16_17, 18_plus (when known)
    evidence_count: int = 0
    has_conversation: bool = False
    suspect_prior_cases: int = 0
    now: datetime | None = None


_CONDITIONS = {"immediate", "category_in", "cues_any", "meeting_within_hours", "victim_under",
               "suspect_prior_cases_at_least", "evidence_at_least", "no_evidence"}


@dataclass(frozen=True, slots=True)
class Condition:
    """All listed tests must hold (an empty condition always holds)."""

    tests: Mapping[str, Any] = field(default_factory=dict)

    def holds(self, f: TriageFacts) -> bool:
        t = self.tests
        if "immediate" in t and f.immediate != bool(t["immediate"]):
            return False
        if "category_in" in t and f.category not in t["category_in"]:
            return False
        if "cues_any" in t and not (f.cues & set(t["cues_any"])):
            return False
        if "meeting_within_hours" in t:
            if f.meeting_at is None or f.now is None:
                return False
            ahead = f.meeting_at - f.now
            # A meeting set in the past few hours may still be under way.
            if not timedelta(hours=-12) <= ahead <= timedelta(hours=float(t["meeting_within_hours"])):
                return False
        if "victim_under" in t and not _younger_than(f, int(t["victim_under"])):
            return False
        if "suspect_prior_cases_at_least" in t and \
                f.suspect_prior_cases < int(t["suspect_prior_cases_at_least"]):
            return False
        if "evidence_at_least" in t and f.evidence_count < int(t["evidence_at_least"]):
            return False
        return not ("no_evidence" in t and (f.evidence_count == 0) != bool(t["no_evidence"]))


def _younger_than(f: TriageFacts, age: int) -> bool:
    if f.victim_age is not None:
        return f.victim_age < age
    upper = {"under_13": 12, "13_15": 15, "16_17": 17}.get(f.victim_age_band or "")
    return upper is not None and upper < age


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    when: Condition
    reason: str
    priority: Priority | None = None  # a base rule
    raise_by: int = 0  # a raising rule


@dataclass(frozen=True, slots=True)
class TriageRules:
    id: str
    version: int
    default: Priority
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class TriageDecision:
    priority: Priority
    reasons: tuple[str, ...]
    rule_ids: tuple[str, ...]
    rules_version: str

    def explain(self) -> str:
        return f"{self.priority} because: " + "; ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {"priority": self.priority.value, "reasons": list(self.reasons),
                "rules": list(self.rule_ids), "version": self.rules_version}


def _reason(template: str, f: TriageFacts) -> str:
    values: dict[str, Any] = {
        "category": f.category.replace("_", " "),
        "victim_age": f.victim_age if f.victim_age is not None else
        {"under_13": "under 13", "13_15": "13-15", "16_17": "16-17"}.get(f.victim_age_band or "",
                                                                        "unknown"),
        "prior": f.suspect_prior_cases,
        "meeting": f"{f.meeting_at:%a %d %b %H:%M} UTC" if f.meeting_at else "unknown",
        "evidence": f.evidence_count,
    }
    return template.format(**values)


def decide(rules: TriageRules, facts: TriageFacts) -> TriageDecision:
    base = [r for r in rules.rules if r.priority is not None and r.when.holds(facts)]
    raising = [r for r in rules.rules if r.raise_by and r.when.holds(facts)]
    priority = min((r.priority for r in base if r.priority is not None),
                   key=lambda p: p.rank, default=rules.default)
    for rule in raising:
        priority = priority.raised(rule.raise_by)
    matched = sorted(base, key=lambda r: r.priority.rank if r.priority else 9) + raising
    reasons = tuple(dict.fromkeys(_reason(r.reason, facts) for r in matched)) or \
        ("no aggravating factor found",)
    return TriageDecision(priority, reasons, tuple(r.id for r in matched),
                          f"{rules.id}@{rules.version}")


def parse_rules(raw: Any) -> TriageRules:
    """Validate the rule file; every problem is listed at once."""
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        raise TriageRulesError("triage rules must be a mapping")
    rid, version = raw.get("id"), raw.get("version")
    if not isinstance(rid, str) or not isinstance(version, int):
        problems.append("needs `id` (text) and `version` (integer)")
    try:
        default = Priority(raw.get("default", "P3"))
    except ValueError:
        problems.append("`default` must be P1..P4")
        default = Priority.P3
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(raw.get("rules") or []):
        where = f"rules[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            problems.append(f"{where}: needs an `id`")
            continue
        if item["id"] in seen:
            problems.append(f"{where}: duplicate id {item['id']!r}")
        seen.add(item["id"])
        when = item.get("when") or {}
        unknown = set(when) - _CONDITIONS if isinstance(when, Mapping) else {"?"}
        if unknown:
            problems.append(f"{where}: unknown condition(s) {sorted(unknown)}")
            continue
        priority, raise_by = item.get("priority"), int(item.get("raise_by", 0) or 0)
        if (priority is None) == (raise_by == 0):
            problems.append(f"{where}: give exactly one of `priority` or `raise_by`")
            continue
        try:
            prio = Priority(priority) if priority is not None else None
        except ValueError:
            problems.append(f"{where}: priority must be P1..P4")
            continue
        reason = item.get("reason")
        if not isinstance(reason, str) or not reason:
            problems.append(f"{where}: needs a `reason`")
            continue
        try:
            _reason(reason, TriageFacts(category="x"))
        except (KeyError, ValueError) as exc:
            problems.append(f"{where}: reason has an unknown placeholder ({exc})")
            continue
        rules.append(Rule(item["id"], Condition(dict(when)), reason, prio, raise_by))
    if not rules:
        problems.append("no rules")
    if problems:
        raise TriageRulesError("triage rules are invalid: " + "; ".join(problems))
    return TriageRules(str(rid), int(version), default, tuple(rules))  # type: ignore[arg-type]
