"""Render a question for one reader: what a form page or an API schema shows.

A view is plain data in one language and for one audience, so a template or a JSON encoder
needs no knowledge of flows, variants or translations.
"""

from __future__ import annotations

from dataclasses import dataclass

from childsafe.reports.core.messages import message
from childsafe.reports.core.model import Question


@dataclass(frozen=True, slots=True)
class OptionView:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class QuestionView:
    id: str
    type: str
    text: str
    help: str | None
    options: tuple[OptionView, ...]
    required: bool
    multiple: bool
    max_length: int | None


def question_view(question: Question, lang: str, audience: str | None = None) -> QuestionView:
    """Yes/no questions get "yes"/"no" options (as a form posts them); a country question
    gets none: the caller lists countries from `catalog.country_choices(lang)`."""
    if question.type == "yes_no":
        options = tuple(OptionView(v, message(v, lang)) for v in ("yes", "no"))
    else:
        options = tuple(OptionView(o.value, o.text.render(lang, audience))
                        for o in question.options)
    return QuestionView(
        id=question.id, type=question.type, text=question.text.render(lang, audience),
        help=question.help.render(lang, audience) if question.help else None, options=options,
        required=question.required, multiple=question.type == "multi_choice",
        max_length=question.max_length if question.type == "short_text" else None)
