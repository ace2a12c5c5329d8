"""Evaluation formulas on small hand-made cases."""

from __future__ import annotations

import math

import pytest

from childsafe.watch.core.evaluation import (
    Outcome,
    Truth,
    average_precision,
    evaluate,
    f_beta,
    format_report,
    latency_p,
    latency_penalty,
)

G, H = "user-g", "user-h"


def test_f05_by_hand() -> None:
    # P = 0.9, R = 0.6: F0.5 = 1.25 * 0.54 / (0.25 * 0.9 + 0.6) = 0.675 / 0.825
    assert f_beta(0.9, 0.6, 0.5) == pytest.approx(0.675 / 0.825)
    assert f_beta(0.0, 0.0, 0.5) == 0.0


@pytest.mark.parametrize("half_at", [2, 10, 30, 90])
def test_latency_penalty_is_half_at_the_configured_count(half_at: int) -> None:
    p = latency_p(half_at)
    assert latency_penalty(half_at, p) == pytest.approx(0.5)
    assert latency_penalty(1, p) == 0.0
    assert latency_penalty(10_000, p) == pytest.approx(1.0)


def test_latency_p_needs_two_messages() -> None:
    with pytest.raises(ValueError):
        latency_p(1)


def test_pr_auc_trivial_cases() -> None:
    assert average_precision([0.9, 0.8, 0.1, 0.0], [True, True, False, False]) == 1.0
    assert average_precision([0.1, 0.9], [True, False]) == pytest.approx(0.5)
    assert average_precision([0.5, 0.5], [True, False]) == pytest.approx(0.5)  # ties count against us
    assert average_precision([0.3], [False]) == 0.0


def test_evaluate_small_case() -> None:
    truths = [
        Truth("g1", "grooming", G, 40),  # alerted at message 10: true positive, before half
        Truth("g2", "grooming", G, 20),  # alerted at message 15: true positive, after half
        Truth("g3", "grooming", G, 30),  # alert names the child: false negative and false positive
        Truth("g4", "grooming", G, 30),  # never alerted
        Truth("b1", "teen_chat", None, 10),
        Truth("b2", "parent", None, 10),  # a hard negative alerted: false positive
    ]
    outcomes = [
        Outcome("g1", G, 9, 0.95), Outcome("g2", G, 14, 0.9), Outcome("g3", H, 3, 0.85),
        Outcome("g4", None, None, 0.4), Outcome("b1", None, None, 0.1), Outcome("b2", H, 5, 0.82),
    ]
    report = evaluate(truths, outcomes, latency_at=10)
    assert (report.true_positives, report.false_positives, report.false_negatives) == (2, 2, 2)
    assert report.precision == 0.5 and report.recall == 0.5
    assert report.f05 == pytest.approx(0.5) and report.f1 == pytest.approx(0.5)
    assert report.alerted_before_half == 0.25
    assert report.median_messages_to_alert == 12.5
    p = math.log(3) / 9
    expected_speed = 1 - (latency_penalty(10, p) + latency_penalty(15, p)) / 2
    assert report.speed == pytest.approx(expected_speed)
    assert report.f_latency == pytest.approx(0.5 * expected_speed)
    assert report.false_alarms_per_1000 == {"parent": 1000.0, "teen_chat": 0.0}
    # ranked g1 g2 g3 (b2) g4 b1: precision at each grooming hit is 1, 1, 1, 4/5
    assert report.pr_auc == pytest.approx((1 + 1 + 1 + 4 / 5) / 4)


def test_missing_outcome_counts_as_no_alert() -> None:
    report = evaluate([Truth("g1", "grooming", G, 20)], [])
    assert report.recall == 0.0 and report.precision == 0.0 and report.median_messages_to_alert is None


def test_format_report_lists_hard_negatives_separately() -> None:
    text = format_report(evaluate([Truth("g", "grooming", G, 20), Truth("b", "parent", None, 9)],
                                  [Outcome("g", G, 4, 0.9), Outcome("b", H, 2, 0.7)]))
    assert "precision 0.500, recall 1.000" in text
    assert "  parent: 1000.0" in text
    assert "median messages to alert 5" in text
