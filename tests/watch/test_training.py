"""Training: split by conversation, byte-identical artifacts, recorded provenance, threshold choice,
and inference that never imports scikit-learn."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from childsafe.watch.catalog import load_all_cues
from childsafe.watch.core.evaluation import THRESHOLD_GRID, Trajectory, Truth
from childsafe.watch.core.learned import CombinedDetector, ModelArtifact
from childsafe.watch.corpus import generate
from childsafe.watch.training import (
    MIN_PRECISION,
    TrainingError,
    choose_threshold,
    corpus_sha256,
    split,
    train,
    wilson_lower,
)

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, Any]]:
    return generate(40, seed=3)


@pytest.fixture(scope="module")
def model(corpus: list[dict[str, Any]]) -> ModelArtifact:
    return train(corpus, seed=1)


def test_split_is_by_conversation_per_kind_and_seeded(corpus: list[dict[str, Any]]) -> None:
    train_part, held = split(corpus, seed=1)
    assert {i["id"] for i in train_part}.isdisjoint({i["id"] for i in held})
    assert len(train_part) + len(held) == len(corpus)
    assert sum(i["kind"] == "grooming" for i in held) == 10  # a quarter of each kind
    assert split(corpus, seed=1) == (train_part, held)
    assert split(corpus, seed=2)[1] != held


def test_same_corpus_and_seed_give_a_byte_identical_artifact(corpus: list[dict[str, Any]],
                                                             model: ModelArtifact) -> None:
    again = train(corpus, seed=1)
    assert again.to_json() == model.to_json()
    assert train(corpus, seed=2).to_json() != model.to_json()
    assert ModelArtifact.from_json(model.to_json()).to_json() == model.to_json()


def test_artifact_records_provenance_and_held_out_figures(corpus: list[dict[str, Any]],
                                                          model: ModelArtifact) -> None:
    doc = model.to_dict()
    assert doc["format"] == "childsafe-watch-model" and doc["version"] == 1 and doc["name"] == "grooming-v1"
    assert doc["feature_spec"]["text"]["tokenizer"] == "words-v1" and doc["feature_spec"]["dense"]
    meta = model.meta
    assert meta["corpus"]["sha256"] == corpus_sha256(corpus) and meta["corpus"]["conversations"] == 160
    assert meta["trainer"]["sklearn_version"] and meta["seed"] == 1
    assert meta["split"] == {"by": "conversation", "held_out_share": 0.25, "train_conversations": 120,
                             "held_out_conversations": 40, "train_samples": meta["split"]["train_samples"]}
    for name in ("learned", "combined", "rules"):
        figures = meta["held_out_metrics"][name]
        assert {"precision", "recall", "f05", "alerted_before_half", "pr_auc", "f_latency",
                "false_alarms_per_1000"} <= set(figures)
    for name in ("learned", "combined"):
        assert model.thresholds[name] in THRESHOLD_GRID
        assert meta["held_out_metrics"][name]["threshold"] == model.thresholds[name]
        assert meta["held_out_metrics"][name]["precision"] >= MIN_PRECISION
    assert "timestamp" not in str(doc) and "created" not in doc, "no clock time: reproducible bytes"


def test_trained_artifact_drives_the_detectors(model: ModelArtifact) -> None:
    detector = CombinedDetector(model, load_all_cues())
    assert detector.threshold == model.thresholds["combined"]


def test_training_needs_grooming_in_both_parts() -> None:
    benign = [i for i in generate(8, seed=4) if i["kind"] != "grooming"]
    with pytest.raises(TrainingError, match="grooming conversations"):
        train(benign, seed=0)


def test_wilson_lower_bound() -> None:
    assert wilson_lower(0, 0) == 0.0
    assert wilson_lower(10, 10) < 0.9 < wilson_lower(100, 100)
    assert wilson_lower(90, 100) < 0.9
    assert wilson_lower(50, 60) < wilson_lower(100, 120)


def test_choose_threshold_climbs_to_confidence_and_falls_back() -> None:
    # 30 groomers all scored 0.95 at message 2; 3 benign conversations reach 0.5 and 1 reaches 0.7.
    truths = [Truth(f"g{i}", "grooming", "a", 10) for i in range(30)]
    found = [Trajectory(f"g{i}", ((1, "a", 0.95),)) for i in range(30)]
    truths += [Truth(f"b{i}", "teen_chat", None, 10) for i in range(4)]
    found += [Trajectory(f"b{i}", ((1, "x", 0.7 if i == 0 else 0.5),)) for i in range(4)]
    # At 0.51 the sample's precision is 30/31 (the operating point), but its 95% lower bound is
    # 0.87; at 0.71 it is 30/30, lower bound 0.92: the threshold climbs there.
    threshold, report, basis = choose_threshold(truths, found)
    assert threshold == 0.71 and report.false_positives == 0 and "95% confidence" in basis
    few = choose_threshold(truths[:5] + truths[30:31], found[:5] + found[30:31])  # 5 of 5: too few
    assert few[0] == 0.71 and few[2] == "precision floor on the held-out sample"
    none = choose_threshold([Truth("b", "teen_chat", None, 5)], [Trajectory("b", ((0, "x", 0.99),))])
    assert none[0] == max(THRESHOLD_GRID) and none[2] == "precision floor not met"


def test_inference_never_imports_scikit_learn() -> None:
    code = ("import sys; from childsafe.watch.catalog import combined_detector; "
            "from childsafe.watch.core.state import ConversationState, Message; "
            "d = combined_detector(); "
            "d.update(ConversationState('c'), Message('m', 'a', 0.0, 'are you alone')); "
            "print(sorted(m for m in ('sklearn', 'scipy', 'numpy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
