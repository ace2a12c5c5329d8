"""Parse and check a questionnaire flow given as plain data (the loader reads the YAML).

Checked at load, all problems reported at once in one `FlowError`: unknown or unreachable
questions, cycles, conditions that look at questions not asked yet or at answers that do not
exist, missing translations, a classification that could leave a path unclassified, an
out-of-scope outcome with nowhere to send the reporter. A flow that loads is safe to serve.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from childsafe.reports.core.answers import ANSWER_TYPES, YES_NO_VALUES
from childsafe.reports.core.conditions import check_references, parse_condition
from childsafe.reports.core.errors import FlowError
from childsafe.reports.core.i18n import LANGUAGES, Audience, Text, parse_text
from childsafe.reports.core.model import (
    END,
    Branch,
    Category,
    Flow,
    Option,
    Outcome,
    Question,
    Rule,
)

IDENT = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def parse_flow(raw: Any, *, source: str = "flow") -> Flow:
    """Build a `Flow` from parsed YAML/JSON; raise `FlowError` listing every problem."""
    p: list[str] = []
    if not isinstance(raw, Mapping):
        raise FlowError(["top level must be a mapping"], source=source)
    flow_id = raw.get("id")
    if not isinstance(flow_id, str) or not IDENT.match(flow_id):
        p.append("id: expected a lower-case identifier")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        p.append("version: expected a positive integer")
    langs = tuple(raw.get("languages") or ())
    missing = [lang for lang in LANGUAGES if lang not in langs]
    if missing:
        p.append(f"languages: must include {missing}")
    title = parse_text(raw["title"], "title", langs, p) if "title" in raw else None

    questions = _parse_questions(raw.get("questions"), langs, p)
    start = str(raw.get("start", ""))
    if start not in questions:
        p.append(f"start: unknown question {start!r}")
    emergency = raw.get("emergency") or {}
    emergency_q = str(emergency.get("question", "")) if isinstance(emergency, Mapping) else ""
    if emergency_q != start:
        p.append("emergency.question: the flow must start with the emergency question")
    elif emergency_q in questions and questions[emergency_q].type != "yes_no":
        p.append("emergency.question: must be a yes_no question")
    emergency = emergency if isinstance(emergency, Mapping) else {}
    notice = parse_text(emergency.get("notice"), "emergency.notice", langs, p)
    unknown_number = parse_text(emergency.get("unknown_number"), "emergency.unknown_number",
                                langs, p)
    audience_q = raw.get("audience_question")
    if audience_q is not None:
        _check_audience_question(questions.get(str(audience_q)), str(audience_q), p)

    provider_q = raw.get("provider_question")
    if provider_q is not None and (str(provider_q) not in questions
                                   or questions[str(provider_q)].type != "short_text"):
        p.append(f"provider_question: {provider_q!r} must be a short_text question")
    if start in questions:
        _check_graph(questions, start, p)
    signposts = {str(k): parse_text(v, f"signposts.{k}", langs, p)
                 for k, v in (raw.get("signposts") or {}).items()}
    rules = _parse_rules(raw.get("classification"), questions, langs, p)
    outcomes = _parse_outcomes(raw.get("outcomes"), rules, signposts, langs, p)
    if p:
        raise FlowError(p, source=source)
    return Flow(id=str(flow_id), version=int(version), languages=langs, start=start,  # type: ignore[arg-type]
                questions=questions, emergency_question=emergency_q, emergency_notice=notice,
                emergency_unknown_number=unknown_number,
                audience_question=str(audience_q) if audience_q is not None else None,
                rules=rules, outcomes=outcomes, signpost_texts=signposts, title=title,
                provider_question=str(provider_q) if provider_q is not None else None)


def _parse_questions(raw: Any, langs: tuple[str, ...], p: list[str]) -> dict[str, Question]:
    if not isinstance(raw, list) or not raw:
        p.append("questions: expected a non-empty list")
        return {}
    out: dict[str, Question] = {}
    for i, q in enumerate(raw):
        where = f"questions[{i}]"
        if not isinstance(q, Mapping):
            p.append(f"{where}: expected a mapping")
            continue
        qid = q.get("id")
        if not isinstance(qid, str) or not IDENT.match(qid) or qid == END:
            p.append(f"{where}.id: expected a lower-case identifier other than 'end'")
            continue
        where = f"question {qid!r}"
        if qid in out:
            p.append(f"{where}: duplicate id")
        kind = str(q.get("type"))
        if kind not in ANSWER_TYPES:
            p.append(f"{where}.type: unknown answer type {kind!r} "
                     f"(known: {', '.join(ANSWER_TYPES.names())})")
            continue
        options = _parse_options(q.get("options"), where, langs, p)
        if ANSWER_TYPES.get(kind).has_options and len(options) < 2:
            p.append(f"{where}.options: a {kind} question needs at least two options")
        if not ANSWER_TYPES.get(kind).has_options and options:
            p.append(f"{where}.options: a {kind} question takes no options")
        dates = str(q.get("dates", "past"))
        if dates not in ("past", "any"):
            p.append(f"{where}.dates: expected 'past' or 'any'")
        branches = []
        for j, b in enumerate(q.get("next") or []):
            if not isinstance(b, Mapping) or "goto" not in b or "when" not in b:
                p.append(f"{where}.next[{j}]: expected {{when: ..., goto: ...}}")
                continue
            cond = parse_condition(b["when"], f"{where}.next[{j}].when", p)
            branches.append(Branch(cond, str(b["goto"])))
        out[qid] = Question(
            id=qid, type=kind, text=parse_text(q.get("text"), f"{where}.text", langs, p),
            help=parse_text(q["help"], f"{where}.help", langs, p) if "help" in q else None,
            options=options, required=bool(q.get("required", True)),
            max_length=int(q.get("max_length", 500)), dates=dates, branches=tuple(branches),
            default_next=str(q.get("default", END)))
    return out


def _parse_options(raw: Any, where: str, langs: tuple[str, ...],
                   p: list[str]) -> tuple[Option, ...]:
    options: list[Option] = []
    for k, o in enumerate(raw or []):
        value = o.get("value") if isinstance(o, Mapping) else None
        # YAML 1.1 turns bare yes/no/on/off into booleans: insist on real identifiers.
        if not isinstance(value, str) or not IDENT.match(value):
            p.append(f"{where}.options[{k}].value: expected a quoted lower-case identifier")
            continue
        if any(x.value == value for x in options):
            p.append(f"{where}.options: duplicate value {value!r}")
        options.append(Option(value, parse_text(o.get("text"), f"{where}.options.{value}",
                                                langs, p), bool(o.get("exclusive", False))))
    return tuple(options)


def _check_audience_question(q: Question | None, qid: str, p: list[str]) -> None:
    if q is None or q.type != "single_choice":
        p.append(f"audience_question: {qid!r} must be a single_choice question")
    elif {o.value for o in q.options} != {a.value for a in Audience}:
        p.append("audience_question: options must be exactly "
                 f"{sorted(a.value for a in Audience)}")


def _check_graph(qs: Mapping[str, Question], start: str, p: list[str]) -> None:
    for q in qs.values():
        for target in q.targets():
            if target != END and target not in qs:
                p.append(f"question {q.id!r}: goes to unknown question {target!r}")
    seen: set[str] = set()
    stack = [start]
    while stack:
        qid = stack.pop()
        if qid in seen or qid not in qs:
            continue
        seen.add(qid)
        stack.extend(qs[qid].targets())
    for qid in qs:
        if qid not in seen:
            p.append(f"question {qid!r}: unreachable from {start!r}")
    cycle = _find_cycle(qs, start)
    if cycle:
        p.append(f"cycle: {' -> '.join(cycle)}")
        return  # ancestor sets are meaningless in a cyclic graph
    parents: dict[str, set[str]] = {qid: set() for qid in qs}
    for q in qs.values():
        for target in q.targets():
            if target in parents:
                parents[target].add(q.id)
    for q in qs.values():
        before = _ancestors(q.id, parents) | {q.id}
        for j, b in enumerate(q.branches):
            check_references(b.when, f"question {q.id!r}.next[{j}]",
                             lambda x, before=before: x in before,  # type: ignore[misc]
                             lambda x: _values(qs.get(x)), p)


def _find_cycle(qs: Mapping[str, Question], start: str) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(qid: str) -> list[str] | None:
        if qid not in qs or state.get(qid) == 2:
            return None
        if state.get(qid) == 1:
            return path[path.index(qid):] + [qid]
        state[qid] = 1
        path.append(qid)
        for target in qs[qid].targets():
            found = visit(target)
            if found:
                return found
        path.pop()
        state[qid] = 2
        return None

    for root in [start, *qs]:
        found = visit(root)
        if found:
            return found
    return None


def _ancestors(qid: str, parents: Mapping[str, set[str]]) -> set[str]:
    out: set[str] = set()
    stack = list(parents.get(qid, ()))
    while stack:
        x = stack.pop()
        if x not in out:
            out.add(x)
            stack.extend(parents.get(x, ()))
    return out


def _values(q: Question | None) -> tuple[Any, ...] | None:
    if q is None:
        return None
    if q.type == "yes_no":
        return YES_NO_VALUES
    if ANSWER_TYPES.get(q.type).has_options:
        return tuple(o.value for o in q.options)
    return None


def _parse_rules(raw: Any, qs: Mapping[str, Question], langs: tuple[str, ...],
                 p: list[str]) -> tuple[Rule, ...]:
    if not isinstance(raw, list) or not raw:
        p.append("classification: expected a non-empty list of rules")
        return ()
    rules: list[Rule] = []
    for i, r in enumerate(raw):
        where = f"classification[{i}]"
        if not isinstance(r, Mapping):
            p.append(f"{where}: expected a mapping")
            continue
        rid = str(r.get("id", ""))
        if not IDENT.match(rid) or any(x.id == rid for x in rules):
            p.append(f"{where}.id: expected a unique lower-case identifier")
        try:
            category = Category(str(r.get("category")))
        except ValueError:
            p.append(f"{where}.category: unknown category {r.get('category')!r}")
            continue
        cond = parse_condition(r["when"], f"{where}.when", p) if "when" in r else None
        if cond is not None:
            check_references(cond, f"{where}.when", lambda x: x in qs,
                             lambda x: _values(qs.get(x)), p)
        rules.append(Rule(rid, category, cond, parse_text(r.get("reason"), f"{where}.reason",
                                                          langs, p)))
    if rules and rules[-1].when is not None:
        p.append("classification: the last rule must have no 'when' so every path is classified")
    return tuple(rules)


def _parse_outcomes(raw: Any, rules: tuple[Rule, ...], signposts: Mapping[str, Text],
                    langs: tuple[str, ...], p: list[str]) -> dict[Category, Outcome]:
    out: dict[Category, Outcome] = {}
    for key, o in (raw or {}).items():
        try:
            category = Category(str(key))
        except ValueError:
            p.append(f"outcomes: unknown category {key!r}")
            continue
        where = f"outcomes.{category.value}"
        if not isinstance(o, Mapping):
            p.append(f"{where}: expected a mapping")
            continue
        kinds = tuple(str(s) for s in o.get("signposts") or ())
        for kind in kinds:
            if kind not in signposts:
                p.append(f"{where}.signposts: unknown signpost {kind!r}")
        if not category.in_scope and not kinds:
            p.append(f"{where}: an out-of-scope outcome must send the reporter somewhere")
        out[category] = Outcome(category, parse_text(o.get("title"), f"{where}.title", langs, p),
                                parse_text(o.get("message"), f"{where}.message", langs, p),
                                kinds)
    for rule in rules:
        if rule.category not in out:
            p.append(f"outcomes: no outcome for category {rule.category.value!r}")
    return out
