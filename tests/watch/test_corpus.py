"""The generated corpus: deterministic, well-formed, and the rule detector's quality on it."""

from __future__ import annotations

from pathlib import Path

from childsafe.watch.catalog import rule_detector
from childsafe.watch.core.detector import DEFAULT_THRESHOLD, AlertGate
from childsafe.watch.core.evaluation import evaluate, operating_point, run_items, trajectories
from childsafe.watch.corpus import KINDS, generate, read_jsonl, write_jsonl


def test_generate_is_deterministic_and_seeded() -> None:
    assert generate(5, seed=3) == generate(5, seed=3)
    assert generate(5, seed=3) != generate(5, seed=4)


def test_shape_and_labels() -> None:
    items = generate(20, seed=1)
    assert len(items) == 20 * len(KINDS)
    assert len({i["id"] for i in items}) == len(items)
    for item in items:
        authors = {m["author"] for m in item["messages"]}
        assert set(item) >= {"id", "kind", "label", "groomer", "messages"}
        assert item["kind"] in KINDS
        assert (item["label"] == "grooming") == (item["kind"] == "grooming")
        assert item["groomer"] is None or item["groomer"] in authors
        assert all(a.startswith("user-") for a in authors)
        ts = [m["ts"] for m in item["messages"]]
        assert ts == sorted(ts)
        if item["kind"] == "grooming":
            assert 20 <= len(item["messages"]) <= 62


def test_jsonl_round_trip(tmp_path: Path) -> None:
    items = generate(3, seed=2)
    path = tmp_path / "corpus.jsonl"
    assert write_jsonl(path, items) == len(items)
    assert read_jsonl(path) == items


def test_rule_detector_quality_on_generated_corpus() -> None:
    truths, outcomes = run_items(rule_detector(), AlertGate(DEFAULT_THRESHOLD), generate(150, seed=11))
    report = evaluate(truths, outcomes)
    print(f"\nrules @ {DEFAULT_THRESHOLD}: precision={report.precision:.3f} recall={report.recall:.3f} "
          f"F0.5={report.f05:.3f} PR-AUC={report.pr_auc:.3f} before-half={report.alerted_before_half:.2f} "
          f"median-to-alert={report.median_messages_to_alert} F_latency={report.f_latency:.3f} "
          f"false-alarms/1000={report.false_alarms_per_1000}")
    assert report.precision >= 0.9
    assert report.recall >= 0.7
    assert report.pr_auc >= 0.9
    assert max(report.false_alarms_per_1000.values()) <= 50


def test_operating_point_matches_the_gate_and_keeps_precision() -> None:
    items = generate(100, seed=5)
    truths, found = trajectories(rule_detector(), items)
    gated = evaluate(*run_items(rule_detector(), AlertGate(DEFAULT_THRESHOLD), items))
    assert evaluate(truths, [t.outcome_at(DEFAULT_THRESHOLD) for t in found]) == gated
    chosen = operating_point(truths, found, min_precision=0.9)
    assert chosen is not None
    threshold, report = chosen
    print(f"\noperating point for precision >= 0.9: threshold={threshold:.2f} "
          f"precision={report.precision:.3f} recall={report.recall:.3f} "
          f"before-half={report.alerted_before_half:.2f} "
          f"median-to-alert={report.median_messages_to_alert}")
    assert report.precision >= 0.9 and report.recall >= gated.recall


def test_both_languages_are_generated_and_detected() -> None:
    items = generate(120, seed=13)
    assert {i["language"] for i in items} == {"en", "fr"}
    for language in ("en", "fr"):
        subset = [i for i in items if i["language"] == language]
        report = evaluate(*run_items(rule_detector(), AlertGate(DEFAULT_THRESHOLD), subset))
        assert report.precision >= 0.9 and report.recall >= 0.7, (language, report)
