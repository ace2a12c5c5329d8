"""Branching and classification conditions: a tiny, closed grammar read from flow data.

    {q: cues, includes: asked_photos}        {q: what, is: bullying}
    {q: what, in: [bullying, spam]}          {q: cues, includes_any: [a, b]}
    {q: meet, answered: true}                {all: [...]}  {any: [...]}  {not: {...}}

Closed on purpose: flows are reviewed by safeguarding staff, and a grammar this small can be
checked completely at load (every referenced question and option must exist).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Answers = Mapping[str, Any]
LEAF_OPS = ("is", "in", "includes", "includes_any", "answered")
GROUP_OPS = ("all", "any", "not")


@dataclass(frozen=True, slots=True)
class Condition:
    op: str
    question: str | None = None
    value: Any = None
    children: tuple[Condition, ...] = ()

    def holds(self, answers: Answers) -> bool:
        if self.op == "all":
            return all(c.holds(answers) for c in self.children)
        if self.op == "any":
            return any(c.holds(answers) for c in self.children)
        if self.op == "not":
            return not self.children[0].holds(answers)
        assert self.question is not None
        present = answers.get(self.question) not in (None, "", (), [])
        if self.op == "answered":
            return present == bool(self.value)
        if not present:
            return False
        got = answers[self.question]
        if self.op == "is":
            return bool(got == self.value)
        if self.op == "in":
            return got in self.value
        chosen = set(got) if isinstance(got, list | tuple | set | frozenset) else {got}
        if self.op == "includes":
            return self.value in chosen
        return bool(chosen & set(self.value))  # includes_any

    def leaves(self) -> list[Condition]:
        if self.op in GROUP_OPS:
            return [leaf for c in self.children for leaf in c.leaves()]
        return [self]


def parse_condition(raw: Any, where: str, problems: list[str]) -> Condition:
    """Parse one condition; structural faults are appended to `problems` (never raised)."""
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: a condition must be a mapping")
        return Condition("all")
    groups = [k for k in GROUP_OPS if k in raw]
    if groups:
        op = groups[0]
        if len(raw) != 1:
            problems.append(f"{where}: '{op}' must be the only key")
        body = raw[op]
        if op == "not":
            return Condition("not", children=(parse_condition(body, f"{where}.not", problems),))
        if not isinstance(body, list) or not body:
            problems.append(f"{where}.{op}: expected a non-empty list")
            return Condition(op)
        kids = tuple(parse_condition(c, f"{where}.{op}[{i}]", problems)
                     for i, c in enumerate(body))
        return Condition(op, children=kids)
    ops = [k for k in LEAF_OPS if k in raw]
    if "q" not in raw or len(ops) != 1 or set(raw) - {"q", *ops}:
        problems.append(f"{where}: expected {{q: <question>, <one of {', '.join(LEAF_OPS)}>}}")
        return Condition("all")
    op = ops[0]
    value = raw[op]
    if op in ("in", "includes_any"):
        if not isinstance(value, list) or not value:
            problems.append(f"{where}.{op}: expected a non-empty list")
            value = []
        value = tuple(value)
    return Condition(op, question=str(raw["q"]), value=value)


def check_references(cond: Condition, where: str, allowed: Callable[[str], bool],
                     values_of: Callable[[str], tuple[Any, ...] | None],
                     problems: list[str]) -> None:
    """Every leaf names a question it may see, and only values that question can produce."""
    for leaf in cond.leaves():
        q = leaf.question or ""
        if not allowed(q):
            problems.append(f"{where}: refers to question {q!r}, which is unknown or is not "
                            "asked before this point")
            continue
        if leaf.op == "answered":
            continue
        valid = values_of(q)
        if valid is None:
            continue  # free-text answers: any literal is acceptable
        wanted = leaf.value if leaf.op in ("in", "includes_any") else (leaf.value,)
        for v in wanted:
            if v not in valid:
                problems.append(f"{where}: {v!r} is not an answer of question {q!r}")
