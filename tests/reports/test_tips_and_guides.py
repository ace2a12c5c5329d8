"""Safety tips and guidance pages: per audience, in every language, with the key advice."""

from __future__ import annotations

import copy

import pytest

from childsafe.reports import catalog
from childsafe.reports.core.errors import FlowError
from childsafe.reports.core.i18n import LANGUAGES, Audience
from childsafe.reports.core.tips import parse_guide, parse_tips


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("audience", list(Audience))
def test_tips_for_every_audience_and_language(lang, audience):
    tips = catalog.load_tips().tips_for(audience, lang)
    assert tips and all(t.title and t.body for t in tips)


def test_no_forwarding_advice_for_adults():
    for audience in ("parent_carer", "other_adult", "professional"):
        ids = [t.id for t in catalog.load_tips().tips_for(audience, "en")]
        assert "no_forwarding" in ids


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("audience", [None, *Audience])
def test_capture_guide_covers_the_essentials(lang, audience):
    guide = catalog.load_guide("capture_conversation").render(lang, audience)
    assert [s.id for s in guide.sections] == ["keep", "screenshots", "notes", "safety"]
    assert all(pt for s in guide.sections for pt in s.points)


def test_capture_guide_wording():
    text = " ".join(pt for s in catalog.load_guide("capture_conversation").render("en").sections
                    for pt in s.points)
    for phrase in ["Don’t delete", "screenshots", "username", "dates", "confront",
                   "Never forward"]:
        assert phrase in text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_why_details_page(lang):
    child = catalog.load_guide("why_details").render(lang, "young_person")
    adult = catalog.load_guide("why_details").render(lang, "parent_carer")
    assert child.intro != adult.intro
    assert {s.id for s in child.sections} == {"who_sees", "what_for", "age"}


def test_broken_tips_are_refused():
    from importlib import resources

    import yaml
    raw = yaml.safe_load(resources.files("childsafe.reports").joinpath(
        "tips", "safety_tips.yaml").read_text())
    broken = copy.deepcopy(raw)
    del broken["audiences"]["professional"]
    broken["audiences"]["young_person"][0]["body"].pop("fr")
    with pytest.raises(FlowError) as info:
        parse_tips(broken, source="tips")
    msg = str(info.value)
    assert "audiences.professional: expected a non-empty list" in msg
    assert "audiences.young_person[0].body.default: missing translation 'fr'" in msg


def test_broken_guide_is_refused():
    with pytest.raises(FlowError, match="sections: expected a non-empty list"):
        parse_guide({"id": "x", "version": 1, "languages": ["en", "fr"],
                     "title": {"en": "a", "fr": "b"}, "intro": {"en": "a", "fr": "b"}})
