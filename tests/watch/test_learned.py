"""The learned layer: features per cue and age signal, scoring from an artifact, reasons,
the combined detector, state round trips, artifact checks, and the packaged model's quality."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from childsafe.watch.catalog import (
    combined_detector,
    default_threshold,
    learned_detector,
    load_all_cues,
    load_model,
    rule_detector,
)
from childsafe.watch.core.cues import STAGES
from childsafe.watch.core.detector import DEFAULT_THRESHOLD, DETECTORS, AlertGate, Detector
from childsafe.watch.core.evaluation import evaluate, run_items
from childsafe.watch.core.learned import (
    ArtifactError,
    CombinedDetector,
    FeatureExtractor,
    LearnedDetector,
    ModelArtifact,
    bucket_of,
    dense_names,
    ngrams,
    tokens,
)
from childsafe.watch.core.state import ConversationState, Message
from childsafe.watch.corpus import generate
from childsafe.watch.training import corpus_sha256

A, B, C = "user-a", "user-b", "user-c"
CUE_EXAMPLES = {
    "age_question": "how old are you?", "location_question": "where do you live",
    "compliment": "you seem so mature for your age", "gifts_money": "I can buy you a game",
    "alone_parents": "are you home alone", "secrecy": "don't tell anyone",
    "private_channel": "add me on snapchat", "photo_request": "send me a pic of you",
    "body_talk": "have you ever kissed anyone", "meeting": "we should meet up",
}
SCRIPT = [
    (A, "hi there", None), (B, "hi", None), (B, "13/f", None), (A, "how old are you? im 36 years old", None),
    (A, "where do you live", None), (B, "lol why", None), (A, "you seem really mature for your age", None),
    (A, "are you home alone right now?", None), (B, "yeah they're at work", None),
    (A, "don't tell anyone we talk", None), (A, "add me on snapchat", None), (A, "we should meet up", None),
]


def messages(script: list[tuple[str, str, int | None]]) -> list[Message]:
    return [Message(f"m{i + 1}", a, float(i), t, age) for i, (a, t, age) in enumerate(script)]


@pytest.fixture(scope="module")
def extractor() -> FeatureExtractor:
    return FeatureExtractor(load_all_cues())


def artifact(extractor: FeatureExtractor, dense: dict[str, float] | None = None,
             text: dict[str, float] | None = None, intercept: float = -3.0) -> ModelArtifact:
    """A hand-made model: named dense weights and weighted phrases (n-grams)."""
    spec = extractor.spec
    weights = dense or {}
    text_weights = {bucket_of(g, spec.buckets): w for g, w in (text or {}).items()}
    names = {bucket_of(g, spec.buckets): g for g in (text or {})}
    dense_weights = tuple(weights.get(n, 0.0) for n in extractor.names)
    return ModelArtifact("test-model", spec, extractor.names, dense_weights, intercept, text_weights, names,
                         {"learned": 0.5, "combined": 0.5}, {})


def final_state(detector: Detector, script: list[tuple[str, str, int | None]]) -> ConversationState:
    state = ConversationState("c")
    for message in messages(script):
        detector.update(state, message)
    return state


@pytest.mark.parametrize("cue", sorted(CUE_EXAMPLES))
def test_each_cue_becomes_its_feature_and_stage(extractor: FeatureExtractor, cue: str) -> None:
    state = ConversationState("c")
    _, _, cued = extractor.observe(state, Message("m1", A, 0.0, CUE_EXAMPLES[cue]))
    features = extractor.dense(state, A)
    stage = extractor.rules.matcher.meta[cue][0]
    assert cued
    assert features[f"cue:{cue}"] == pytest.approx(1 / 3)
    assert features[f"stage:{stage}"] == 1.0 and features["stages"] == pytest.approx(1 / len(STAGES))
    assert 0 < features["rule_score"] == state.authors[A].score
    assert all(n in extractor.names for n in features)


def test_cue_counts_are_capped(extractor: FeatureExtractor) -> None:
    state = ConversationState("c")
    for i in range(5):
        extractor.observe(state, Message(f"m{i}", A, float(i), "don't tell anyone"))
    assert extractor.dense(state, A)["cue:secrecy"] == 1.0


def test_age_features(extractor: FeatureExtractor) -> None:
    state = ConversationState("c")
    for message in messages([(A, "hello", 41), (B, "hi", 12)]):
        extractor.observe(state, message)
    adult, child = extractor.dense(state, A), extractor.dense(state, B)
    assert adult["age:adult"] == 1.0 and adult["with_minor"] == 1.0 and adult["gap"] == pytest.approx(29 / 30)
    assert child["age:minor"] == 1.0 and "gap" not in child and "with_minor" not in child
    adults = ConversationState("d")
    for message in messages([(A, "hello", 41), (C, "hi", 39)]):
        extractor.observe(adults, message)
    assert extractor.dense(adults, A)["adults_only"] == 1.0
    claims = ConversationState("e")
    for message in messages([(A, "i'm 15", None), (A, "ok im 32 years old", None)]):
        extractor.observe(claims, message)
    assert {"age:unknown", "age:conflict"} <= set(extractor.dense(claims, A))


def test_tokens_ngrams_and_stable_buckets() -> None:
    assert tokens("im 13 years old, don't tell") == ["im", "0", "years", "old", "don't", "tell"]
    assert ngrams(["are", "you", "alone"]) == ["are", "you", "alone", "are you", "you alone"]
    assert bucket_of("home alone", 2**18) == 260156  # CRC-32, never Python's salted hash
    assert dense_names(["b", "a"]).index("cue:a") < dense_names(["b", "a"]).index("cue:b")


def test_only_cue_messages_feed_the_text_features(extractor: FeatureExtractor) -> None:
    model = artifact(extractor, text={"hi there": 2.0, "home alone": 0.5, "right now": 0.25})
    detector = LearnedDetector(model, load_all_cues())
    state = final_state(detector, [(A, "hi there", None), (A, "are you home alone right now?", None)])
    author = state.authors[A]
    assert {model.text_names[b] for b in author.ngrams} == {"home alone", "right now"}
    assert author.text_logit == pytest.approx(0.75)


def test_score_is_the_logistic_of_the_weights(extractor: FeatureExtractor) -> None:
    weights = {"cue:secrecy": 1.5, "stage:exclusivity": 0.5, "rule_score": 1.0, "age:unknown": -0.25}
    model = artifact(extractor, weights, {"tell anyone": 0.75}, intercept=-2.0)
    detector = LearnedDetector(model, load_all_cues())
    state = ConversationState("c")
    assessment = detector.update(state, Message("m1", A, 0.0, "don't tell anyone"))
    rule = state.authors[A].score
    z = -2.0 + 1.5 / 3 + 0.5 + rule - 0.25 + 0.75
    assert assessment.score == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-4)
    assert assessment.author_id == A and assessment.stage == "exclusivity"


def test_reasons_name_the_largest_contributions(extractor: FeatureExtractor) -> None:
    model = artifact(extractor, {"cue:secrecy": 3.0, "gap": 1.2, "age:minor": -4.0},
                     {"home alone": 0.9, "right now": 0.1}, intercept=-1.0)
    detector = LearnedDetector(model, load_all_cues(), top_reasons=3)
    state = final_state(detector, [(A, "hello", 40), (B, "hi", 12), (A, "are you home alone right now?", 40),
                                   (A, "don't tell anyone", 40)])
    assert state.top is not None and state.top.author_id == A
    reasons = state.top.reasons
    assert reasons[0].startswith("model probability ")
    assert reasons[1:] == ("model: age gap to a minor (+1.12)", "model: cue secrecy (+1.00)",
                           "model: words 'home alone' (+0.90)")


def test_incremental_score_equals_a_fresh_computation(extractor: FeatureExtractor) -> None:
    model = load_model()
    detector = LearnedDetector(model, load_all_cues())
    state = final_state(detector, SCRIPT)
    for author_id, author in state.authors.items():
        text = sum(model.text_weights[b] for b in author.ngrams)
        assert author.text_logit == pytest.approx(text)
        assert author.model_score == pytest.approx(detector.probability(state, author_id))


def test_combined_needs_both_layers(extractor: FeatureExtractor) -> None:
    # A model that loves everyone (high intercept) still cannot alert on an author with no cue.
    model = artifact(extractor, intercept=5.0)
    combined = CombinedDetector(model, load_all_cues())
    quiet = final_state(combined, [(A, "hello there", None), (B, "what music do you like", None)])
    assert quiet.top is not None and quiet.top.score == 0.0 and quiet.top.author_id is None
    state = final_state(combined, SCRIPT)
    author = state.authors[A]
    assert state.top is not None and state.top.author_id == A
    assert state.top.score == pytest.approx(math.sqrt(author.model_score * author.score), abs=1e-4)
    assert "stage exclusivity from message 10" in state.top.reasons
    assert any(r.startswith("model probability") for r in state.top.reasons)


def test_registry_builds_both_learned_detectors() -> None:
    assert {"rules", "learned", "combined"} <= set(DETECTORS.names())
    model = load_model()
    for name in ("learned", "combined"):
        detector = DETECTORS.create(name, artifact=model, cue_sets=load_all_cues())
        assert isinstance(detector, Detector) and detector.name == name
    assert default_threshold("rules") == DEFAULT_THRESHOLD
    assert default_threshold("combined") == model.thresholds["combined"]


@pytest.mark.parametrize("make", [learned_detector, combined_detector])
def test_state_round_trip_between_every_message(make: Any) -> None:
    detector = make()
    straight = ConversationState("c")
    expected = [detector.update(straight, m) for m in messages(SCRIPT)]
    resumed, got = ConversationState("c"), []
    for message in messages(SCRIPT):
        resumed = ConversationState.from_dict(json.loads(json.dumps(resumed.to_dict())))
        got.append(detector.update(resumed, message))
    assert got == expected and resumed == straight
    assert resumed.authors[A].ngrams and resumed.authors[A].model_score > 0


def good_doc() -> dict[str, Any]:
    return load_model().to_dict()


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(format="other"), "not a childsafe-watch-model artifact"),
    (lambda d: d.update(version=99), "artifact version 99"),
    (lambda d: d.update(model="forest"), "unknown model type"),
    (lambda d: d["dense_weights"].pop(), "dense weights for"),
    (lambda d: d.pop("intercept"), "missing or malformed field"),
    (lambda d: d["thresholds"].pop("combined"), "threshold for 'combined'"),
    (lambda d: d["thresholds"].update(learned=1.5), "threshold for 'learned'"),
    (lambda d: d["text_weights"].update({"999999999": 1.0}), "bucket outside"),
    (lambda d: d["feature_spec"]["text"].update(tokenizer="chars-v9"), "tokenizer"),
])
def test_artifact_shape_errors(change: Any, message: str) -> None:
    doc = good_doc()
    change(doc)
    with pytest.raises(ArtifactError, match=message):
        ModelArtifact.from_dict(doc, "x.json")


def test_artifact_with_unknown_features_fails_at_detector_build() -> None:
    doc = good_doc()
    doc["feature_spec"]["dense"][0] = "cue:telepathy"
    model = ModelArtifact.from_dict(doc)
    with pytest.raises(ArtifactError, match="cue:telepathy.*retrain"):
        LearnedDetector(model, load_all_cues())


def test_load_model_errors(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="cannot read"):
        load_model(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ArtifactError, match="bad.json: not JSON"):
        load_model(bad)


def test_packaged_model_is_small_current_and_canonical() -> None:
    path = Path(__file__).parents[2] / "childsafe" / "watch" / "models" / "grooming-v1.json"
    text = path.read_text(encoding="utf-8")
    assert len(text.encode()) < 1_000_000
    model = load_model()
    assert model.to_json() == text, "the packaged artifact is in canonical form"
    meta = model.meta
    assert meta["trainer"]["library"] == "scikit-learn" and meta["trainer"]["sklearn_version"]
    # Stale-artifact guard: a change to the generator or the cue files needs a retrained model:
    #   childsafe watch corpus --out c.jsonl --per-kind 1000 --seed 0
    #   childsafe watch train c.jsonl --out childsafe/watch/models/grooming-v1.json --seed 0
    assert meta["corpus"]["sha256"] == corpus_sha256(generate(1000, seed=0)), "retrain the packaged model"
    assert meta["cue_files"] == {s.language: s.version for s in load_all_cues()}, "retrain the packaged model"


def test_packaged_model_quality_on_a_fresh_corpus() -> None:
    items = generate(150, seed=99)  # the model was trained on seed 0
    rules = evaluate(*run_items(rule_detector(), AlertGate(DEFAULT_THRESHOLD), items))
    for name, make in (("learned", learned_detector), ("combined", combined_detector)):
        report = evaluate(*run_items(make(), AlertGate(default_threshold(name), name), items))
        print(f"\n{name} @ {default_threshold(name)}: precision={report.precision:.3f} "
              f"recall={report.recall:.3f} before-half={report.alerted_before_half:.2f} "
              f"median-to-alert={report.median_messages_to_alert} F_latency={report.f_latency:.3f} "
              f"false-alarms/1000={report.false_alarms_per_1000}")
        assert report.precision >= 0.9
        assert report.recall >= rules.recall
        assert report.alerted_before_half >= rules.alerted_before_half
        assert max(report.false_alarms_per_1000.values()) <= 50
