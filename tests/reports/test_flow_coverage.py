"""Exhaustive walk of the packaged flow: every question, branch and category is reachable,
and every complete path evaluates and classifies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from childsafe.reports import catalog
from childsafe.reports.core.engine import evaluate, step
from childsafe.reports.core.model import Category, Flow, Question
from childsafe.reports.core.views import question_view


def candidates(q: Question) -> list[Any]:
    if q.type == "yes_no":
        return ["yes", "no"]
    if q.type == "single_choice":
        return [o.value for o in q.options]
    if q.type == "multi_choice":
        singles = [[o.value] for o in q.options]
        return singles + [[q.options[0].value, q.options[-2].value]]
    if q.type == "country":
        return ["GB"]
    if q.type == "date_time":
        return ["2024-05-30"]
    return ["sam_99"] + ([""] if not q.required else [])


def all_paths(flow: Flow, now, given: dict[str, Any]) -> Iterator[dict[str, Any]]:
    s = step(flow, given, now=now)
    assert s.error is None
    if s.question is None:
        yield dict(given)
        return
    question = s.question
    choices = candidates(question)
    if question.id == "who":
        choices = ["young_person"]  # audiences change wording only; covered elsewhere
    for value in choices:
        yield from all_paths(flow, now, {**given, question.id: value})


def test_every_path(flow, now):
    asked: set[str] = set()
    categories: set[Category] = set()
    rules: set[str] = set()
    count = 0
    for answers in all_paths(flow, now, {}):
        count += 1
        result = evaluate(flow, answers, now=now)
        asked |= set(answers)
        categories.add(result.classification.category)
        rules |= {r.rule for r in result.classification.reasons}
    assert count > 100
    assert asked == set(flow.questions)
    assert categories == set(Category)
    assert rules == {r.id for r in flow.rules}


def test_question_views(flow):
    for q in flow.questions.values():
        for lang in flow.languages:
            view = question_view(q, lang, "parent_carer")
            assert view.text and view.id == q.id
            if q.type in ("yes_no", "single_choice", "multi_choice"):
                assert len(view.options) >= 2 and all(o.label for o in view.options)
    assert question_view(flow.question("cues"), "en").multiple


def test_country_choices_cover_every_country():
    from childsafe.reports.core.countries import ISO_COUNTRIES

    for lang in ("en", "fr", "fr-CA", "de"):
        choices = catalog.country_choices(lang)
        assert {code for code, _ in choices} == ISO_COUNTRIES
    assert dict(catalog.country_choices("fr"))["GB"] == "Royaume-Uni"
    assert dict(catalog.country_choices("en"))["NO"] == "Norway"
