"""The two ways of answering: one question per page (no JS) and all at once (API)."""

from __future__ import annotations

from childsafe.reports.core.engine import evaluate, next_question, previous_question, prune, step
from childsafe.reports.core.errors import AnswersInvalid


def test_first_question_is_danger(flow):
    assert next_question(flow, {}).id == "danger"
    assert previous_question(flow, {}, "danger") is None


def test_back_and_forward(flow, f):
    given = {"danger": "no", "who": "young_person", "country": "GB", "what": "contact"}
    assert next_question(flow, given).id == "cues"
    assert previous_question(flow, given, "cues").id == "what"
    assert previous_question(flow, given, "what").id == "country"
    assert previous_question(flow, given, "sent_what") is None  # not on this path


def test_changing_an_earlier_answer_drops_answers_off_the_path(flow, f):
    given = f.answers()
    given["what"] = "spam"  # went back and changed the topic
    s = step(flow, given)
    assert s.question.id == "check"
    assert "cues" not in s.answers
    assert set(prune(flow, given)) == {"danger", "who", "country", "what"}


def test_an_invalid_answer_stops_the_wizard_at_that_question(flow, f):
    s = step(flow, f.answers(what="dancing"), "fr")
    assert s.question.id == "what" and s.error is not None
    assert s.error.field == "what" and s.error.detail == "Merci de choisir une des réponses."


def test_finished_step(flow, f, now):
    s = step(flow, f.answers(), now=now)
    assert s.done and s.answers["cues"] == ["asked_age", "asked_secret"]


def test_api_reports_every_error_at_once(flow, f, now):
    bad = f.answers(danger="perhaps", country="Atlantis", when="tomorrow-ish",
                    suspect="a\u202eb")
    try:
        evaluate(flow, bad, "en", now=now)
    except AnswersInvalid as exc:
        fields = {e["field"]: e["reason"] for e in exc.as_list()}
    else:
        raise AssertionError("expected AnswersInvalid")
    assert fields == {"danger": "invalid_choice", "country": "invalid_country",
                      "when": "invalid_date", "suspect": "bad_chars"}


def test_api_rejects_unknown_and_off_path_answers(flow, f, now):
    bad = f.answers(sent_what="other", colour="blue")
    try:
        evaluate(flow, bad, "fr", now=now)
    except AnswersInvalid as exc:
        reasons = {e.field: e.reason for e in exc.errors}
        assert reasons == {"sent_what": "not_asked", "colour": "unknown_question"}
    else:
        raise AssertionError("expected AnswersInvalid")


def test_api_missing_required_answer(flow, f, now):
    try:
        evaluate(flow, f.answers(cues=None), "en", now=now)
    except AnswersInvalid as exc:
        assert [(e.field, e.reason) for e in exc.errors] == [("cues", "required")]
    else:
        raise AssertionError("expected AnswersInvalid")


def test_api_optional_answers_may_be_left_out(flow, f, now):
    result = evaluate(flow, f.answers(when=None, suspect=None, platform=None), now=now)
    assert result.answers["when"] is None and result.answers["suspect"] is None


def test_form_lists_are_accepted(flow, f, now):
    form = {k: v if isinstance(v, list) else [v] for k, v in f.answers().items()}
    assert evaluate(flow, form, now=now).classification.category == "grooming"
