"""A flow that loads is safe to serve: broken data fails at load with a clear FlowError."""

from __future__ import annotations

import pytest
import yaml

from childsafe.reports import catalog
from childsafe.reports.core.errors import FlowError
from childsafe.reports.core.flow import parse_flow
from childsafe.reports.core.i18n import LANGUAGES, Audience


def q(raw, qid):
    return next(x for x in raw["questions"] if x["id"] == qid)


def problems_of(raw) -> str:
    with pytest.raises(FlowError) as info:
        parse_flow(raw, source="test flow")
    assert str(info.value).startswith("test flow is invalid")
    return str(info.value)


def test_packaged_data_loads():
    catalog.check_all()
    assert catalog.flow_names() == ["report"]


def test_every_string_renders_in_every_language_and_audience(flow):
    for question in flow.questions.values():
        texts = [question.text] + ([question.help] if question.help else [])
        texts += [o.text for o in question.options]
        for text in texts:
            for lang in LANGUAGES:
                for audience in [None, *Audience]:
                    assert text.render(lang, audience).strip()
            assert text.render("fr") != text.render("en")


def test_unknown_goto(broken_flow):
    q(broken_flow, "who")["default"] = "nowhere"
    msg = problems_of(broken_flow)
    assert "question 'who': goes to unknown question 'nowhere'" in msg


def test_unreachable_question(broken_flow):
    broken_flow["questions"].append({"id": "orphan", "type": "yes_no",
                                     "text": {"en": "Orphan?", "fr": "Orphelin ?"}})
    assert "question 'orphan': unreachable from 'danger'" in problems_of(broken_flow)


def test_cycle(broken_flow):
    q(broken_flow, "suspect")["default"] = "when"
    assert "cycle: when -> suspect -> when" in problems_of(broken_flow)


def test_missing_translation(broken_flow):
    del q(broken_flow, "danger")["text"]["fr"]
    assert "question 'danger'.text.default: missing translation 'fr'" in problems_of(broken_flow)


def test_missing_translation_in_audience_variant(broken_flow):
    del q(broken_flow, "country")["text"]["young_person"]["fr"]
    assert "text.young_person: missing translation 'fr'" in problems_of(broken_flow)


def test_unknown_audience_variant(broken_flow):
    q(broken_flow, "country")["text"]["teenager"] = {"en": "x", "fr": "y"}
    assert "unknown audience variant 'teenager'" in problems_of(broken_flow)


def test_language_must_be_declared(broken_flow):
    broken_flow["languages"] = ["en"]
    assert "languages: must include ['fr']" in problems_of(broken_flow)


def test_condition_on_a_question_not_asked_yet(broken_flow):
    q(broken_flow, "who")["next"] = [{"when": {"q": "cues", "includes": "asked_age"},
                                      "goto": "what"}]
    assert "refers to question 'cues', which is unknown or is not asked before this point" \
        in problems_of(broken_flow)


def test_condition_on_an_answer_that_does_not_exist(broken_flow):
    q(broken_flow, "what")["next"][0]["when"] = {"q": "what", "is": "contcat"}
    assert "'contcat' is not an answer of question 'what'" in problems_of(broken_flow)


def test_yaml_boolean_option_value_is_refused(broken_flow):
    text = "value: no"
    q(broken_flow, "who")["options"][0]["value"] = yaml.safe_load(text)["value"]  # False
    assert "expected a quoted lower-case identifier" in problems_of(broken_flow)


def test_unknown_answer_type(broken_flow):
    q(broken_flow, "when")["type"] = "colour"
    assert "unknown answer type 'colour'" in problems_of(broken_flow)


def test_flow_must_start_with_the_danger_question(broken_flow):
    broken_flow["start"] = "who"
    msg = problems_of(broken_flow)
    assert "the flow must start with the emergency question" in msg


def test_audience_question_must_offer_every_audience(broken_flow):
    q(broken_flow, "who")["options"].pop()
    assert "audience_question: options must be exactly" in problems_of(broken_flow)


def test_classification_must_end_with_a_catch_all(broken_flow):
    broken_flow["classification"].pop()
    assert "the last rule must have no 'when'" in problems_of(broken_flow)


def test_unknown_category(broken_flow):
    broken_flow["classification"][0]["category"] = "gossip"
    assert "unknown category 'gossip'" in problems_of(broken_flow)


def test_out_of_scope_outcome_needs_signposts(broken_flow):
    broken_flow["outcomes"]["spam"]["signposts"] = []
    assert "outcomes.spam: an out-of-scope outcome must send the reporter somewhere" \
        in problems_of(broken_flow)


def test_outcome_signpost_must_exist(broken_flow):
    broken_flow["outcomes"]["spam"]["signposts"] = ["carrier_pigeon"]
    assert "unknown signpost 'carrier_pigeon'" in problems_of(broken_flow)


def test_every_category_used_needs_an_outcome(broken_flow):
    del broken_flow["outcomes"]["sextortion"]
    assert "no outcome for category 'sextortion'" in problems_of(broken_flow)


def test_all_problems_are_reported_at_once(broken_flow):
    q(broken_flow, "who")["default"] = "nowhere"
    del q(broken_flow, "danger")["text"]["fr"]
    broken_flow["version"] = 0
    error_text = problems_of(broken_flow)
    assert error_text.count("\n  - ") >= 3


def test_malformed_condition(broken_flow):
    q(broken_flow, "what")["next"][0]["when"] = {"q": "what", "is": "contact", "in": ["x"]}
    assert "expected {q: <question>" in problems_of(broken_flow)


def test_not_a_mapping():
    with pytest.raises(FlowError, match="top level must be a mapping"):
        parse_flow(["nope"])
