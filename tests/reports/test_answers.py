"""validate_answer: one clean value per answer type, or an AnswerError in the chosen language."""

from __future__ import annotations

from datetime import timedelta

import pytest

from childsafe.reports.core.answers import validate_answer
from childsafe.reports.core.errors import AnswerError


def err(question, raw, lang="en", **kw) -> AnswerError:
    with pytest.raises(AnswerError) as info:
        validate_answer(question, raw, lang, **kw)
    assert info.value.field == question.id
    return info.value


@pytest.mark.parametrize(("raw", "value"), [("yes", True), ("no", False), (True, True),
                                            ("NO", False), (["yes"], True), ("oui", True)])
def test_yes_no(flow, raw, value):
    assert validate_answer(flow.question("danger"), raw) is value


def test_yes_no_rejects_other_words_in_french(flow):
    e = err(flow.question("danger"), "maybe", "fr")
    assert e.detail == "Merci de répondre oui ou non." and e.reason == "invalid_choice"


def test_required_answer(flow):
    assert err(flow.question("who"), "  ").reason == "required"
    assert err(flow.question("who"), None, "fr").detail == "Merci de répondre à cette question."


def test_optional_answer_may_be_skipped(flow):
    assert validate_answer(flow.question("suspect"), "") is None
    assert validate_answer(flow.question("suspect"), []) is None


def test_single_choice(flow):
    assert validate_answer(flow.question("who"), " parent_carer ") == "parent_carer"
    assert err(flow.question("who"), "martian").reason == "invalid_choice"
    assert err(flow.question("who"), ["young_person", "parent_carer"]).reason == "invalid_choice"
    assert err(flow.question("who"), 7).reason == "invalid_choice"


def test_multi_choice_keeps_option_order_and_dedupes(flow):
    cues = flow.question("cues")
    assert validate_answer(cues, ["gifts", "asked_age", "gifts"]) == ["asked_age", "gifts"]
    assert validate_answer(cues, "asked_meet") == ["asked_meet"]
    assert err(cues, ["asked_age", "dancing"]).reason == "invalid_choice"


def test_exclusive_option(flow):
    e = err(flow.question("cues"), ["none", "asked_age"], "fr")
    assert e.reason == "exclusive" and "Rien de tout ça" in e.detail


def test_short_text(flow):
    suspect = flow.question("suspect")
    assert validate_answer(suspect, "  sam_99 ") == "sam_99"
    assert validate_answer(suspect, "<script>alert(1)</script>") == "<script>alert(1)</script>"
    assert err(suspect, "x" * 201).reason == "too_long"
    assert err(suspect, "evil\u202etxt.exe").reason == "bad_chars"
    assert err(suspect, "line\x07bell").reason == "bad_chars"
    assert validate_answer(suspect, "Zoë 🐙 山田") == "Zoë 🐙 山田"


@pytest.mark.parametrize(("raw", "value"),
                         [("2024-05-30", "2024-05-30"),
                          ("2024-05-30T18:45", "2024-05-30T18:45"),
                          ("2024-05-30T18:45:10+02:00", "2024-05-30T16:45Z"),
                          ("2024-05-30T16:45Z", "2024-05-30T16:45Z")])
def test_date_time(flow, now, raw, value):
    assert validate_answer(flow.question("when"), raw, now=now) == value


def test_date_time_errors(flow, now):
    when = flow.question("when")
    assert err(when, "yesterday", now=now).reason == "invalid_date"
    assert err(when, "2024-02-30", now=now).reason == "invalid_date"
    assert err(when, (now + timedelta(days=3)).date().isoformat(), now=now).reason == "future"
    assert err(when, "1970-01-01", now=now).reason == "too_old"


def test_planned_meeting_may_be_in_the_future(flow, now):
    soon = (now + timedelta(days=3)).date().isoformat()
    assert validate_answer(flow.question("meeting_when"), soon, now=now) == soon


@pytest.mark.parametrize(("raw", "code"), [("gb", "GB"), ("UK", "GB"), (" fr ", "FR")])
def test_country(flow, raw, code):
    assert validate_answer(flow.question("country"), raw) == code


@pytest.mark.parametrize("raw", ["EU", "XX", "GBR", "*", "", 12])
def test_country_rejects_non_countries(flow, raw):
    with pytest.raises(AnswerError):
        validate_answer(flow.question("country"), raw)
