"""Each cue fires on its own examples in each language file; bad files fail with a named rule."""

from __future__ import annotations

import pytest

from childsafe.watch.catalog import cue_languages, load_cues
from childsafe.watch.core.cues import STAGES, CueError, CueMatcher, normalise, parse_cue_document

EXAMPLES = {
    "en": {
        "age_question": ["How old are you?", "asl", "what grade are u in"],
        "location_question": ["where do you live", "which school do you go to"],
        "compliment": ["you're so pretty", "you are really mature for your age"],
        "gifts_money": ["I can buy you a game", "want a gift card?"],
        "alone_parents": ["are you home alone", "where are your parents?", "is anyone else home"],
        "secrecy": ["don't tell anyone", "this is our little secret", "delete this chat"],
        "private_channel": ["add me on snapchat", "let's move to whatsapp"],
        "photo_request": ["send me a pic of you", "turn on your camera"],
        "body_talk": ["have you ever kissed anyone", "what are you wearing"],
        "meeting": ["we should meet up", "I can pick you up"],
    },
    "fr": {
        "age_question": ["Tu as quel âge ?", "t'es en quelle classe"],
        "location_question": ["tu habites où ?"],
        "compliment": ["t'es trop mignonne", "tu es mature pour ton âge"],
        "gifts_money": ["je peux t'acheter un jeu", "une carte cadeau"],
        "alone_parents": ["t'es toute seule ?", "ils sont où tes parents"],
        "secrecy": ["ne le dis à personne", "c'est notre secret", "efface cette conversation"],
        "private_channel": ["ajoute-moi sur snap", "on continue sur whatsapp"],
        "photo_request": ["envoie-moi une photo de toi", "allume ta caméra"],
        "body_talk": ["t'as déjà embrassé quelqu'un"],
        "meeting": ["on pourrait se voir", "je peux venir te chercher"],
    },
}
NEUTRAL = ["where are you? dinner is ready", "the homework is due friday", "nice goal yesterday",
           "où es-tu ? le dîner est prêt", "my cat is so cute", "how old is your car"]


@pytest.fixture(scope="module")
def matchers() -> dict[str, CueMatcher]:
    return {lang: CueMatcher([load_cues(lang)]) for lang in cue_languages()}


def test_both_languages_ship_and_cover_every_stage() -> None:
    assert cue_languages() == ("en", "fr")
    for lang in cue_languages():
        cue_set = load_cues(lang)
        assert cue_set.version >= 1
        assert {c.stage for c in cue_set.cues} == set(STAGES)


@pytest.mark.parametrize(("lang", "cue", "text"),
                         [(lang, cue, t) for lang, cues in EXAMPLES.items()
                          for cue, texts in cues.items() for t in texts])
def test_each_cue_fires(matchers: dict[str, CueMatcher], lang: str, cue: str, text: str) -> None:
    assert cue in matchers[lang].cues(normalise(text))


@pytest.mark.parametrize("text", NEUTRAL)
def test_neutral_text_has_no_cue(matchers: dict[str, CueMatcher], text: str) -> None:
    assert all(not m.cues(normalise(text)) for m in matchers.values())


def test_word_boundaries(matchers: dict[str, CueMatcher]) -> None:
    assert matchers["en"].cues("basl") == []
    assert matchers["en"].cues("classless") == []


@pytest.mark.parametrize(("lang", "text", "age"), [
    ("en", "13/f here", 13), ("en", "i'm 12 lol", 12), ("en", "im 34 years old", 34),
    ("en", "i'm in 7th grade", 12), ("en", "i am in year 8", 13), ("fr", "j'ai 14 ans", 14),
    ("fr", "12/f", 12),
])
def test_age_signals(matchers: dict[str, CueMatcher], lang: str, text: str, age: int) -> None:
    assert age in matchers[lang].ages(normalise(text))


@pytest.mark.parametrize("text", ["i'm 5 minutes away", "im 10 mins late", "meet at 12/5"])
def test_not_age_signals(matchers: dict[str, CueMatcher], text: str) -> None:
    assert matchers["en"].ages(normalise(text)) == []


def test_normalise_folds_case_accents_and_quotes() -> None:
    assert normalise("Où ÊTES-vous, l’ami ?") == "ou etes-vous, l'ami ?"


GOOD = {"language": "en", "version": 1,
        "cues": [{"id": "secrecy", "stage": "exclusivity", "weight": 1, "keywords": ["our secret"]}]}


@pytest.mark.parametrize(("change", "where"), [
    ({"language": "english"}, "language"),
    ({"version": 0}, "version"),
    ({"cues": [{"id": "x", "stage": "flirting", "weight": 1, "patterns": ["a"]}]}, "x"),
    ({"cues": [{"id": "x", "stage": "exclusivity", "weight": 9, "patterns": ["a"]}]}, "x"),
    ({"cues": [{"id": "x", "stage": "exclusivity", "weight": 1, "patterns": ["(a"]}]}, "x"),
    ({"cues": [{"id": "x", "stage": "exclusivity", "weight": 1, "patterns": ["(a)"]}]}, "x"),
    ({"cues": [{"id": "x", "stage": "exclusivity", "weight": 1, "patterns": ["Ünder"]}]}, "x"),
    ({"cues": GOOD["cues"] * 2}, "secrecy"),
    ({"age_signals": [{"pattern": "\\d+"}]}, "age_signals[0]"),
])
def test_invalid_documents_name_file_and_rule(change: dict[str, object], where: str) -> None:
    with pytest.raises(CueError) as info:
        parse_cue_document({**GOOD, **change}, "cues/xx.yaml")
    assert info.value.source == "cues/xx.yaml"
    assert info.value.where == where
    assert str(info.value).startswith(f"cues/xx.yaml: {where}:")


def test_languages_share_cue_ids_and_stages() -> None:
    by_lang = {lang: {c.id: c.stage for c in load_cues(lang).cues} for lang in cue_languages()}
    assert by_lang["en"] == by_lang["fr"]


def test_missing_cue_file_is_named() -> None:
    with pytest.raises(CueError, match="cues/xx.yaml"):
        load_cues("xx")


def test_conflicting_stage_across_files_is_named() -> None:
    other = parse_cue_document({**GOOD, "language": "fr", "cues": [
        {"id": "secrecy", "stage": "risk_assessment", "weight": 1, "keywords": ["secret"]}]}, "cues/fr.yaml")
    with pytest.raises(CueError, match="cues/fr.yaml: secrecy: stage differs"):
        CueMatcher([parse_cue_document(GOOD, "cues/en.yaml"), other])
