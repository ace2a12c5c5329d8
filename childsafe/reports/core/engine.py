"""Run a flow: the next question, classification, and whole-set evaluation.

Two callers, one walk. A no-JavaScript wizard posts the answers so far on every page and asks
`step()` what to show (one question per page, back/forward by `previous_question`). An API
posts every answer at once and calls `evaluate()`, which lists all problems in one error.
Answers to questions that are no longer on the path (the reporter went back and changed an
earlier answer) are dropped by the walk, never classified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from childsafe.reports.core.answers import validate_answer
from childsafe.reports.core.contacts import JurisdictionLike, Routing, Signpost, build_signposts
from childsafe.reports.core.errors import AnswerError, AnswersInvalid
from childsafe.reports.core.i18n import Audience
from childsafe.reports.core.messages import message
from childsafe.reports.core.model import END, Category, Flow, Question


@dataclass(frozen=True, slots=True)
class Step:
    """Where a reporter is: the question to show (None = finished) and the clean answers."""

    question: Question | None
    answers: dict[str, Any]
    path: tuple[str, ...]
    error: AnswerError | None = None
    immediate: bool = False

    @property
    def done(self) -> bool:
        return self.question is None


@dataclass(frozen=True, slots=True)
class Reason:
    rule: str
    category: Category
    text: str


@dataclass(frozen=True, slots=True)
class Classification:
    category: Category
    in_scope: bool
    immediate: bool
    reasons: tuple[Reason, ...]
    signposts: tuple[Signpost, ...]
    title: str = ""
    message: str = ""
    emergency: str | None = None  # emergency guidance, present whenever `immediate`

    @property
    def categories(self) -> tuple[Category, ...]:
        """The deciding category first, then every other category a rule matched."""
        seen = [self.category]
        seen += [r.category for r in self.reasons if r.category not in seen]
        return tuple(dict.fromkeys(seen))


@dataclass(frozen=True, slots=True)
class FlowResult:
    """What a finished questionnaire yields: enough to replay it against the same flow."""

    flow_id: str
    flow_version: int
    language: str
    audience: Audience | None
    answers: dict[str, Any]
    classification: Classification
    country: str | None = None
    completed_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        c = self.classification
        return {"flow": {"id": self.flow_id, "version": self.flow_version},
                "language": self.language,
                "audience": self.audience.value if self.audience else None,
                "country": self.country, "answers": dict(self.answers),
                "category": c.category.value, "in_scope": c.in_scope,
                "immediate": c.immediate,
                "reasons": [{"rule": r.rule, "category": r.category.value} for r in c.reasons],
                "completed_at": self.completed_at.isoformat()}


def _walk(flow: Flow, raw: Mapping[str, Any], lang: str, now: datetime,
          *, complete: bool) -> tuple[dict[str, Any], list[str], list[AnswerError],
                                      Question | None]:
    """Follow the branches from the start. Returns clean answers, the path, errors and the
    question the walk stopped at (None at the end). In `complete` mode a missing optional
    answer counts as skipped and a bad answer that does not steer the path is collected
    without stopping, so the API gets every error at once."""
    clean: dict[str, Any] = {}
    path: list[str] = []
    errors: list[AnswerError] = []
    qid = flow.start
    while qid != END:
        q = flow.question(qid)
        path.append(qid)
        if qid not in raw and not complete:
            return clean, path, errors, q
        try:
            clean[qid] = validate_answer(q, raw.get(qid), lang, now=now)
        except AnswerError as exc:
            errors.append(exc)
            if not complete or q.branches:
                return clean, path, errors, q
            clean[qid] = None
        qid = q.next_id(clean)
    return clean, path, errors, None


def step(flow: Flow, answers: Mapping[str, Any], lang: str = "en",
         *, now: datetime | None = None) -> Step:
    """The next question to show for the answers so far, with the first error if any."""
    clean, path, errors, q = _walk(flow, answers, lang, now or datetime.now(UTC),
                                   complete=False)
    return Step(q, clean, tuple(path), errors[0] if errors else None,
                clean.get(flow.emergency_question) is True)


def next_question(flow: Flow, answers: Mapping[str, Any], lang: str = "en",
                  *, now: datetime | None = None) -> Question | None:
    return step(flow, answers, lang, now=now).question


def previous_question(flow: Flow, answers: Mapping[str, Any], current: str,
                      *, now: datetime | None = None) -> Question | None:
    """The question before `current` on the path the answers take (None at the start)."""
    path = step(flow, answers, now=now).path
    if current not in path:
        return None
    index = path.index(current)
    return flow.question(path[index - 1]) if index > 0 else None


def prune(flow: Flow, answers: Mapping[str, Any], *, now: datetime | None = None
          ) -> dict[str, Any]:
    """Only the raw answers still on the path: what a wizard should carry forward."""
    path = set(step(flow, answers, now=now).path)
    return {k: v for k, v in answers.items() if k in path}


def country_of(flow: Flow, answers: Mapping[str, Any]) -> str | None:
    for q in flow.questions.values():
        if q.type == "country" and answers.get(q.id):
            return str(answers[q.id])
    return None


def emergency_guidance(flow: Flow, lang: str, audience: str | None = None, *,
                       jurisdiction: JurisdictionLike | None = None) -> str:
    """The "call now" notice, with the country's number when known, else the common ones."""
    number = jurisdiction.emergency_number if jurisdiction else ""
    if not number:
        number = flow.emergency_unknown_number.render(lang, audience)
    return flow.emergency_notice.render(lang, audience).format(emergency_number=number)


def classify(flow: Flow, answers: Mapping[str, Any], lang: str = "en", *,
             routing: Routing | None = None, provider: str | None = None,
             audience: str | None = None) -> Classification:
    """Classify clean answers (as returned by `step`/`evaluate`). Rules are ordered: the first
    match decides, every match is a reason. Signposts use the reporter's country."""
    matched = [r for r in flow.rules if r.when is None or r.when.holds(answers)]
    specific = [r for r in matched if r.when is not None] or matched
    chosen = specific[0]
    audience = audience or (flow.audience_of(answers) or None)
    country = country_of(flow, answers)
    jurisdiction = routing.route(country) if routing and country else None
    outcome = flow.outcomes[chosen.category]
    if not provider and flow.provider_question:
        provider = answers.get(flow.provider_question) or None
    immediate = answers.get(flow.emergency_question) is True
    number = (jurisdiction.emergency_number if jurisdiction else "") or \
        flow.emergency_unknown_number.render(lang, audience)
    return Classification(
        category=chosen.category, in_scope=chosen.category.in_scope, immediate=immediate,
        reasons=tuple(Reason(r.id, r.category, r.reason.render(lang, audience))
                      for r in specific),
        signposts=build_signposts(outcome.signposts, flow.signpost_texts, lang, audience,
                                  provider=provider, jurisdiction=jurisdiction),
        title=outcome.title.render(lang, audience),
        message=outcome.message.render(lang, audience).format(emergency_number=number),
        emergency=emergency_guidance(flow, lang, audience, jurisdiction=jurisdiction)
        if immediate else None)


def evaluate(flow: Flow, answers: Mapping[str, Any], lang: str = "en", *,
             now: datetime | None = None, routing: Routing | None = None,
             provider: str | None = None) -> FlowResult:
    """Validate a complete answer set and classify it; raise `AnswersInvalid` with every
    problem (missing, invalid, unknown or off-path answers) at once."""
    now = now or datetime.now(UTC)
    clean, path, errors, stopped = _walk(flow, answers, lang, now, complete=True)
    if stopped is None:  # only a finished walk knows which answers are off the path
        for key in answers:
            if key not in flow.questions:
                errors.append(AnswerError(str(key), message("unknown_question", lang),
                                          reason="unknown_question"))
            elif key not in path:
                errors.append(AnswerError(str(key), message("not_asked", lang),
                                          reason="not_asked"))
    if errors:
        raise AnswersInvalid(errors)
    audience = flow.audience_of(clean)
    return FlowResult(flow.id, flow.version, lang, audience, clean,
                      classify(flow, clean, lang, routing=routing, provider=provider),
                      country_of(flow, clean), now)
