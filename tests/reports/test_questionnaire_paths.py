"""Every branch of the packaged report flow, for every audience and both languages."""

from __future__ import annotations

from typing import Any

import pytest

from childsafe.reports.core.engine import evaluate, step
from childsafe.reports.core.i18n import LANGUAGES, Audience
from childsafe.reports.core.model import Category

AUDIENCES = [a.value for a in Audience]
TAIL = {"platform": "Chatty", "when": "2024-05-30", "suspect": "sam_99"}

# (name, answers after danger/who/country, expected category, expected reason rules)
SCENARIOS: list[tuple[str, dict[str, Any], Category, list[str]]] = [
    ("grooming", {"what": "contact", "cues": ["asked_age", "asked_secret"], **TAIL},
     Category.GROOMING, ["grooming_cues"]),
    ("grooming_gifts_app", {"what": "contact", "cues": ["private_app", "gifts", "asked_alone"],
                            **TAIL}, Category.GROOMING, ["grooming_cues"]),
    ("image_request", {"what": "contact", "cues": ["asked_photos"], **TAIL},
     Category.IMAGE_REQUEST, ["photos_asked"]),
    ("sextortion", {"what": "contact", "cues": ["asked_photos", "threatened_share"], **TAIL},
     Category.SEXTORTION, ["threat_to_share", "photos_asked"]),
    ("meeting_asked", {"what": "contact", "cues": ["asked_meet"], "meeting": "no", **TAIL},
     Category.MEETING_PRESSURE, ["meeting_asked"]),
    ("meeting_arranged", {"what": "contact", "cues": ["asked_meet", "asked_age"],
                          "meeting": "yes", "meeting_when": "2024-06-02T16:00", **TAIL},
     Category.MEETING_PRESSURE, ["meeting_asked", "meeting_arranged", "grooming_cues"]),
    ("sexual_talk", {"what": "contact", "cues": ["uncomfortable_talk"], **TAIL},
     Category.SEXUAL_TALK, ["uncomfortable_talk"]),
    ("contact_no_cue", {"what": "contact", "cues": ["none"], **TAIL},
     Category.OTHER_CONCERN, ["other"]),
    ("unsolicited", {"what": "sent", "sent_what": "private_pictures", "cues": ["none"], **TAIL},
     Category.UNSOLICITED_MATERIAL, ["pictures_sent"]),
    ("sent_messages", {"what": "sent", "sent_what": "private_messages", "cues": ["none"],
                       **TAIL}, Category.SEXUAL_TALK, ["private_messages"]),
    ("sent_other_gifts", {"what": "sent", "sent_what": "other", "cues": ["gifts"], **TAIL},
     Category.GROOMING, ["grooming_cues"]),
    ("images_seen", {"what": "seen", "seen_where": "https://example.com/page", "when": "",
                     "suspect": ""}, Category.INDECENT_IMAGES_SEEN, ["seen_images"]),
    ("bullying", {"what": "bullying", "check": "no", "platform": "Chatty"},
     Category.BULLYING, ["bullying"]),
    ("hacked", {"what": "account", "check": "no", "platform": ""},
     Category.HACKED_OR_FAKE_ACCOUNT, ["account"]),
    ("spam", {"what": "spam", "check": "no", "platform": "Chatty"}, Category.SPAM, ["spam"]),
    ("bullying_with_threat", {"what": "bullying", "check": "yes",
                              "cues": ["threatened_share"], **TAIL},
     Category.SEXTORTION, ["threat_to_share"]),
    ("hacked_with_photo_request", {"what": "account", "check": "yes",
                                   "cues": ["asked_photos"], **TAIL},
     Category.IMAGE_REQUEST, ["photos_asked"]),
    ("spam_check_yes_no_cue", {"what": "spam", "check": "yes", "cues": ["none"], **TAIL},
     Category.OTHER_CONCERN, ["other"]),
]


def full(audience: str, rest: dict[str, Any], *, danger: str = "no",
         country: str = "GB") -> dict[str, Any]:
    return {"danger": danger, "who": audience, "country": country, **rest}


def walk_as_wizard(flow, answers: dict[str, Any], lang: str, now) -> list[str]:
    """Answer one question per page, as the no-JS wizard does; return the ids asked."""
    given: dict[str, Any] = {}
    asked: list[str] = []
    while True:
        s = step(flow, given, lang, now=now)
        assert s.error is None
        if s.question is None:
            return asked
        asked.append(s.question.id)
        given[s.question.id] = answers.get(s.question.id, "")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize(("name", "rest", "category", "rules"), SCENARIOS,
                         ids=[s[0] for s in SCENARIOS])
def test_every_branch(flow, routing, now, lang, audience, name, rest, category, rules):
    answers = full(audience, rest)
    result = evaluate(flow, answers, lang, now=now, routing=routing)
    c = result.classification
    assert c.category is category
    assert c.in_scope is category.in_scope
    assert [r.rule for r in c.reasons] == rules
    assert not c.immediate and c.emergency is None
    assert result.flow_id == "report" and result.flow_version == flow.version
    assert set(result.answers) == set(answers)
    assert result.audience == Audience(audience)
    assert c.title and c.message and c.signposts
    assert all(s.text and "{" not in s.text for s in c.signposts)
    # the wizard asks exactly the questions the API answered, in order
    assert walk_as_wizard(flow, answers, lang, now) == list(answers)
    if not c.in_scope:
        kinds = [s.kind for s in c.signposts]
        assert "provider_desk" in kinds


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize(("country", "number"),
                         [("GB", "999"), ("US", "911"), ("AU", "000"), ("NZ", "111"),
                          ("FR", "112"), ("CH", "117")])
def test_emergency_branch(flow, routing, now, lang, audience, country, number):
    # shown at once: the step right after "yes" is already marked immediate
    first = step(flow, {"danger": "yes"}, lang, now=now)
    assert first.immediate and first.question is not None and first.question.id == "who"
    answers = full(audience, SCENARIOS[0][1], danger="yes", country=country)
    c = evaluate(flow, answers, lang, now=now, routing=routing).classification
    assert c.immediate
    assert c.emergency is not None and number in c.emergency
    assert c.category is Category.GROOMING  # the report itself still goes on


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("audience", AUDIENCES)
@pytest.mark.parametrize("what", ["bullying", "account", "spam"])
def test_out_of_scope_signposts_uk(flow, routing, now, lang, audience, what):
    answers = full(audience, {"what": what, "check": "no", "platform": "Chatty"})
    c = evaluate(flow, answers, lang, now=now, routing=routing).classification
    assert not c.in_scope
    texts = " ".join(s.text for s in c.signposts)
    assert "Chatty" in texts  # the chat provider's own abuse desk, by name
    if what == "bullying":
        assert "NSPCC 0808 800 5000" in texts and "Childline 0800 1111" in texts


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("country", "expected"),
                         [("US", "NCMEC CyberTipline 1-800-843-5678"),
                          ("NL", "Kindertelefoon 0800-0432"),
                          ("FR", "Child Helpline International")])
def test_help_line_follows_country(flow, routing, now, lang, country, expected):
    answers = full("parent_carer", {"what": "bullying", "check": "no", "platform": ""},
                   country=country)
    c = evaluate(flow, answers, lang, now=now, routing=routing).classification
    assert any(expected in s.text for s in c.signposts)


def test_unknown_provider_uses_generic_desk(flow, routing, now):
    answers = full("young_person", {"what": "spam", "check": "no", "platform": ""})
    c = evaluate(flow, answers, "en", now=now, routing=routing).classification
    assert c.signposts[0].text.startswith("Use the Report or Block button in the app or game")


def test_provider_name_given_by_the_api_wins(flow, routing, now):
    answers = full("young_person", {"what": "spam", "check": "no", "platform": "x"})
    c = evaluate(flow, answers, "en", now=now, routing=routing,
                 provider="Chatty Messenger").classification
    assert "Chatty Messenger" in c.signposts[0].text


def test_without_routing_emergency_lists_common_numbers(flow, now):
    answers = full("other_adult", SCENARIOS[0][1], danger="yes")
    c = evaluate(flow, answers, "en", now=now).classification
    assert "112, 999, 911 or 000" in (c.emergency or "")


def test_wording_changes_with_audience(flow):
    q = flow.question("country")
    texts = {a: q.text.render("en", a) for a in AUDIENCES}
    assert texts["young_person"] == "Which country do you live in?"
    assert "your child" in texts["parent_carer"]
    assert texts["professional"] == texts["other_adult"] != texts["young_person"]
    assert q.text.render("fr", "young_person") != texts["young_person"]


def test_result_records_flow_and_answers(flow, now):
    result = evaluate(flow, full("young_person", SCENARIOS[0][1]), "fr", now=now)
    d = result.to_dict()
    assert d["flow"] == {"id": "report", "version": 1}
    assert d["answers"]["danger"] is False and d["answers"]["cues"] == ["asked_age",
                                                                         "asked_secret"]
    assert d["language"] == "fr" and d["category"] == "grooming"
