"""The parsed shape of a questionnaire flow (see `flow.parse_flow` for the YAML form)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from childsafe.reports.core.conditions import Condition
from childsafe.reports.core.i18n import Audience, Text

END = "end"


class Category(StrEnum):
    """What a report is about. In-scope ones go to an agency; out-of-scope ones get signposts."""

    GROOMING = "grooming"
    IMAGE_REQUEST = "image_request"
    SEXTORTION = "sextortion"
    MEETING_PRESSURE = "meeting_pressure"
    SEXUAL_TALK = "sexual_talk"
    UNSOLICITED_MATERIAL = "unsolicited_material"
    INDECENT_IMAGES_SEEN = "indecent_images_seen"
    # A worry that fits no cue above still reaches an officer: a missed case costs more than a
    # misfiled one. Triage decides what it is.
    OTHER_CONCERN = "other_concern"
    BULLYING = "bullying"
    HACKED_OR_FAKE_ACCOUNT = "hacked_or_fake_account"
    SPAM = "spam"

    @property
    def in_scope(self) -> bool:
        return self not in OUT_OF_SCOPE


OUT_OF_SCOPE = frozenset({Category.BULLYING, Category.HACKED_OR_FAKE_ACCOUNT, Category.SPAM})


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    text: Text
    exclusive: bool = False  # e.g. "none of these": cannot be combined with other choices


@dataclass(frozen=True, slots=True)
class Branch:
    when: Condition
    goto: str


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    type: str
    text: Text
    help: Text | None = None
    options: tuple[Option, ...] = ()
    required: bool = True
    max_length: int = 500
    dates: str = "past"  # date_time only: "past" (something that happened) or "any"
    branches: tuple[Branch, ...] = ()
    default_next: str = END

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)

    def next_id(self, answers: Mapping[str, Any]) -> str:
        """The first matching branch wins; otherwise `default_next`."""
        for branch in self.branches:
            if branch.when.holds(answers):
                return branch.goto
        return self.default_next

    def targets(self) -> tuple[str, ...]:
        return (*(b.goto for b in self.branches), self.default_next)


@dataclass(frozen=True, slots=True)
class Rule:
    """A classification rule: rules are ordered, the first match decides the category and every
    match is kept as a reason (so triage sees all cues, not just the winning one)."""

    id: str
    category: Category
    when: Condition | None
    reason: Text


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the reporter is told at the end for a category, and where else they may turn."""

    category: Category
    title: Text
    message: Text
    signposts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Flow:
    id: str
    version: int
    languages: tuple[str, ...]
    start: str
    questions: Mapping[str, Question]
    emergency_question: str
    emergency_notice: Text  # may use {emergency_number}
    emergency_unknown_number: Text  # what {emergency_number} says when the country is unknown
    audience_question: str | None
    rules: tuple[Rule, ...]
    outcomes: Mapping[Category, Outcome]
    signpost_texts: Mapping[str, Text] = field(default_factory=dict)
    provider_question: str | None = None  # its answer names the app in signposts
    title: Text | None = None

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    def question(self, qid: str) -> Question:
        return self.questions[qid]

    def audience_of(self, answers: Mapping[str, Any]) -> Audience | None:
        """The audience chosen in the flow's "who is reporting" question, if answered."""
        if self.audience_question is None:
            return None
        value = answers.get(self.audience_question)
        try:
            return Audience(value) if value else None
        except ValueError:
            return None
