"""State, stage progression, age gap, alert threshold and the detector registry."""

from __future__ import annotations

import pytest

from childsafe.watch.catalog import load_all_cues, rule_detector
from childsafe.watch.core.detector import DETECTORS, AlertGate, Detector, DetectorRegistry, RuleDetector, scan
from childsafe.watch.core.state import ConversationState, Message

ADULT, CHILD, OTHER = "user-a", "user-b", "user-c"
SCRIPT = [
    (ADULT, "hey how old are you?", None),
    (CHILD, "13/f", None),
    (ADULT, "where do you live", None),
    (ADULT, "you seem so mature for your age", None),
    (ADULT, "are you home alone? where are your parents", None),
    (ADULT, "don't tell anyone, it's our secret", None),
    (ADULT, "add me on snapchat", None),
    (ADULT, "send me a pic of you", None),
    (ADULT, "we should meet up", None),
]


def messages(script: list[tuple[str, str, int | None]]) -> list[Message]:
    return [Message(f"m{i}", a, 100.0 + i, t, age) for i, (a, t, age) in enumerate(script)]


@pytest.fixture(scope="module")
def detector() -> Detector:
    return rule_detector()


def test_registry_has_rules_and_rejects_duplicates() -> None:
    assert "rules" in DETECTORS.names()
    registry = DetectorRegistry()
    registry.register("rules", RuleDetector)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("rules", RuleDetector)
    with pytest.raises(KeyError, match="unknown detector"):
        registry.create("model")
    assert isinstance(registry.create("rules", cue_sets=load_all_cues()), Detector)


def test_stages_progress_in_order_and_score_rises(detector: Detector) -> None:
    state = ConversationState("c1")
    scores = []
    for msg in messages(SCRIPT):
        scores.append(detector.update(state, msg).score)
    adult = state.authors[ADULT]
    assert adult.stage_first == {"friendship_forming": 0, "relationship_forming": 3, "risk_assessment": 4,
                                 "exclusivity": 5, "sexual_stage": 7}
    assert adult.cue_counts["alone_parents"] == 2
    assert scores == sorted(scores) and scores[-1] > 0.9
    assert state.top is not None and state.top.author_id == ADULT and state.top.stage == "sexual_stage"
    assert "stage risk_assessment from message 5" in state.top.reasons
    assert state.authors[CHILD].cue_counts == {}


def test_age_gap_from_text_and_declared_age(detector: Detector) -> None:
    state = ConversationState("c2")
    for msg in messages([(ADULT, "hi, im 41 years old", None), (CHILD, "i'm 12", None),
                         (ADULT, "are you home alone?", None)]):
        detector.update(state, msg)
    assert state.age_gap(ADULT) == 29 and state.age_gap(CHILD) is None
    assert state.top is not None and "age gap 29 years (41 to 12)" in state.top.reasons
    declared = ConversationState("c3")
    for msg in messages([(ADULT, "hello", 30), (CHILD, "hi", 14)]):
        detector.update(declared, msg)
    assert declared.age_gap(ADULT) == 16


def test_age_gap_raises_the_score(detector: Detector) -> None:
    def final(script: list[tuple[str, str, int | None]]) -> float:
        state = ConversationState("x")
        return [detector.update(state, m) for m in messages(script)][-1].score
    cues = [(ADULT, "are you home alone? where are your parents", None), (ADULT, "our little secret", None)]
    with_gap = final([(ADULT, "hi", 45), (CHILD, "hi", 12), *cues])
    unknown = final([(ADULT, "hi", None), (CHILD, "hi", None), *cues])
    adults = final([(ADULT, "hi", 45), (OTHER, "hi", 40), *cues])
    minor = final([(ADULT, "hi", 14), (OTHER, "hi", 13), *cues])
    assert with_gap > unknown > adults > minor


def test_alert_crosses_threshold_once(detector: Detector) -> None:
    outcome = scan(detector, AlertGate(0.8), "c4", messages(SCRIPT + SCRIPT))
    assert len(outcome.alerts) == 1
    alert = outcome.alerts[0]
    assert alert.author_id == ADULT and alert.score >= 0.8 and alert.detector == "rules"
    assert alert.message_id == f"m{alert.message_index}"
    assert alert.message_index < len(SCRIPT) - 1, "the alert should come before the meeting cue"
    strict = scan(detector, AlertGate(0.999), "c5", messages(SCRIPT))
    assert strict.alerts == () and strict.max_score < 0.999


def test_benign_conversation_stays_quiet(detector: Detector) -> None:
    outcome = scan(detector, AlertGate(0.8), "c6", messages([
        (ADULT, "where are you?", 44), (CHILD, "at the park", 11),
        (ADULT, "are you home alone later? I'll be late", 44), (CHILD, "ok", 11)]))
    assert outcome.alerts == () and 0 < outcome.max_score < 0.8


def test_gate_validates_threshold() -> None:
    with pytest.raises(ValueError):
        AlertGate(0)


def test_french_conversation(detector: Detector) -> None:
    outcome = scan(detector, AlertGate(0.8), "c7", messages([
        (ADULT, "salut, tu as quel âge ?", 38), (CHILD, "j'ai 12 ans", None), (ADULT, "t'habites où ?", 38),
        (ADULT, "t'es tellement mature pour ton âge", 38), (ADULT, "t'es toute seule ?", 38),
        (ADULT, "ne le dis à personne, c'est notre secret", 38), (ADULT, "ajoute-moi sur snap", 38)]))
    assert [a.author_id for a in outcome.alerts] == [ADULT]


def test_contradictory_age_claims_lose_the_minor_discount(detector: Detector) -> None:
    cues = [(ADULT, "are you home alone? where are your parents", None), (ADULT, "our little secret", None)]
    claims_teen = ConversationState("c8")
    for msg in messages([(ADULT, "i'm 15", None), *cues]):
        last = detector.update(claims_teen, msg)
    contradicts = ConversationState("c9")
    for msg in messages([(ADULT, "i'm 15", None), *cues, (ADULT, "ok fine im 32 years old", None)]):
        later = detector.update(contradicts, msg)
    assert contradicts.authors[ADULT].age is None and contradicts.authors[ADULT].age_conflict
    assert later.score > last.score
    assert "contradictory stated ages (15, 32)" in later.reasons
