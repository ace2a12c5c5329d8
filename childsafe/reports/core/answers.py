"""Answer types: how a raw answer (a form field or a JSON value) becomes a clean value.

One small `AnswerType` per kind, registered by a stable name that flows refer to. Values are
plain JSON types (str, bool, list of str) so a result can be stored and replayed as is.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from childsafe.core.registry import Registry
from childsafe.reports.core.countries import normalize_country_code
from childsafe.reports.core.errors import AnswerError
from childsafe.reports.core.messages import message
from childsafe.reports.core.model import Question

YES_NO_VALUES = (True, False)
_TRUE = {"yes", "true", "1", "on", "oui"}
_FALSE = {"no", "false", "0", "off", "non"}
# Bidi embeddings/overrides/isolates: they can make an officer misread what was typed.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FUTURE_TOLERANCE = timedelta(days=1)  # the reporter's clock and time zone are unknown
OLDEST = timedelta(days=366 * 30)
FURTHEST = timedelta(days=366 * 2)  # for "any" dates, e.g. a planned meeting


class AnswerType(Protocol):
    name: str
    has_options: bool

    def clean(self, question: Question, raw: Any, lang: str, now: datetime) -> Any:
        """Return the clean value of a non-empty raw answer or raise `AnswerError`."""
        ...


ANSWER_TYPES: Registry[AnswerType] = Registry("answer type")


def is_empty(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, list | tuple):
        return all(is_empty(r) for r in raw)
    return False


def has_unsafe_chars(text: str, *, allow_newlines: bool = False) -> bool:
    """Control, bidi-override and unassigned characters; newlines/tabs only when allowed."""
    for ch in text:
        if ch in BIDI_CONTROLS:
            return True
        cat = unicodedata.category(ch)
        if cat == "Cc" and not (allow_newlines and ch in "\n\r\t"):
            return True
        if cat in ("Cs", "Cn"):
            return True
    return False


def _one(raw: Any) -> Any:
    """HTML forms send lists for repeated fields; a single-valued answer takes the only item."""
    if isinstance(raw, list | tuple):
        items = [r for r in raw if not is_empty(r)]
        return items[0] if len(items) == 1 else raw
    return raw


class SingleChoice:
    name = "single_choice"
    has_options = True

    def clean(self, question: Question, raw: Any, lang: str, now: datetime) -> Any:
        value = _one(raw)
        if not isinstance(value, str) or question.option(value.strip()) is None:
            raise AnswerError(question.id, message("choose_one", lang), reason="invalid_choice")
        return value.strip()


class MultiChoice:
    name = "multi_choice"
    has_options = True

    def clean(self, question: Question, raw: Any, lang: str, now: datetime) -> Any:
        items = raw if isinstance(raw, list | tuple) else [raw]
        chosen: set[str] = set()
        for item in items:
            if is_empty(item):
                continue
            if not isinstance(item, str) or question.option(item.strip()) is None:
                raise AnswerError(question.id, message("choose_some", lang),
                                  reason="invalid_choice")
            chosen.add(item.strip())
        for option in question.options:
            if option.exclusive and option.value in chosen and len(chosen) > 1:
                raise AnswerError(question.id, message(
                    "exclusive", lang, option=option.text.render(lang)), reason="exclusive")
        return [o.value for o in question.options if o.value in chosen]  # stable order


class YesNo:
    name = "yes_no"
    has_options = False

    def clean(self, question: Question, raw: Any, lang: str, now: datetime) -> Any:
        value = _one(raw)
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
        raise AnswerError(question.id, message("yes_no", lang), reason="invalid_choice")


class ShortText:
    name = "short_text"
    has_options = False

    def clean(self, question: Question, raw: Any, lang: str, now: datetime) -> Any:
        value = _one(raw)
        if not isinstance(value, str):
            raise AnswerError(question.id, message("required", lang), reason="invalid")
        value = value.strip()
        if len(value) > question.max_length:
            raise AnswerError(question.id, message("too_long", lang, limit=question.max_length),
                              reason="too_long")
        if has_unsafe_chars(value):
            raise AnswerError(question.id, message("bad_chars", lang), reason="bad_chars")
        return value


class DateTime:
    """A date, or a date and time. Naive times are kept naive: they are the reporter's local
    time and guessing a zone would invent precision we do not have."""

    name = "date_time"
    has_options = False

    def clean(self, question: Question, raw: Any, lang: str, now: datetime) -> Any:
        value = _one(raw)
        text = value.strip() if isinstance(value, str) else ""
        try:
            if _DATE.match(text):
                day = date.fromisoformat(text)
                moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
                clean = day.isoformat()
            else:
                parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
                if parsed.tzinfo is None:
                    moment, clean = parsed.replace(tzinfo=UTC), parsed.isoformat(
                        timespec="minutes")
                else:
                    moment = parsed.astimezone(UTC)
                    clean = moment.isoformat(timespec="minutes").replace("+00:00", "Z")
        except ValueError:
            raise AnswerError(question.id, message("date_time", lang),
                              reason="invalid_date") from None
        ahead = FURTHEST if question.dates == "any" else FUTURE_TOLERANCE
        if moment > now + ahead:
            raise AnswerError(question.id, message("future", lang), reason="future")
        if moment < now - OLDEST:
            raise AnswerError(question.id, message("too_old", lang), reason="too_old")
        return clean


class Country:
    name = "country"
    has_options = False

    def clean(self, question: Question, raw: Any, lang: str, now: datetime) -> Any:
        code = normalize_country_code(_one(raw))
        if code is None:
            raise AnswerError(question.id, message("country", lang), reason="invalid_country")
        return code


_BUILT_IN: tuple[AnswerType, ...] = (SingleChoice(), MultiChoice(), YesNo(), ShortText(),
                                     DateTime(), Country())
for _type in _BUILT_IN:
    ANSWER_TYPES.register(_type)


def validate_answer(question: Question, raw: Any, lang: str = "en",
                    *, now: datetime | None = None) -> Any:
    """The clean value of `raw`, None for a skipped optional question; raises `AnswerError`.

    The error's detail is in `lang`, ready to show next to the field.
    """
    if is_empty(raw):
        if question.required:
            raise AnswerError(question.id, message("required", lang), reason="required")
        return None
    kind = ANSWER_TYPES.get(question.type)
    return kind.clean(question, raw, lang, now or datetime.now(UTC))
