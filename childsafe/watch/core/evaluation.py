"""Evaluation of groomer identification and of how *early* alerts come (pure functions).

Figures: precision, recall and F0.5 for naming the groomer (F0.5 because officer time is the
scarce resource, so precision counts more), share of grooming conversations alerted before
their halfway point, median messages until the alert, PR-AUC from the max score per
conversation, and the latency-weighted F1 of Vogt, Leser & Akbik (ACL 2021). Hard negatives
and other benign kinds get their false alarms per 1,000 conversations reported separately.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from childsafe.watch.core.detector import AlertGate, Detector, scan
from childsafe.watch.core.state import ConversationState, Message


@dataclass(frozen=True, slots=True)
class Truth:
    """The label of one conversation."""

    conversation_id: str
    kind: str
    groomer: str | None
    messages: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a detector did on one conversation: its first alert (if any) and its max score."""

    conversation_id: str
    alert_author: str | None
    alert_index: int | None  # 0-based index of the message that raised the alert
    max_score: float


@dataclass(frozen=True, slots=True)
class Report:
    """All figures of one evaluation run."""

    conversations: int
    grooming: int
    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float
    recall: float
    f1: float
    f05: float
    alerted_before_half: float
    median_messages_to_alert: float | None
    pr_auc: float
    speed: float
    f_latency: float
    latency_at: int
    false_alarms_per_1000: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def f_beta(precision: float, recall: float, beta: float) -> float:
    if precision == 0 and recall == 0:
        return 0.0
    b2 = beta * beta
    return (1 + b2) * precision * recall / (b2 * precision + recall)


def latency_p(half_at: int) -> float:
    """The p that makes penalty(half_at) == 0.5: 2/(1+e^-x) - 1 = 0.5 when x = ln 3."""
    if half_at < 2:
        raise ValueError("the half-penalty message count must be >= 2")
    return math.log(3) / (half_at - 1)


def latency_penalty(k: int, p: float) -> float:
    """Vogt et al.: penalty(k) = -1 + 2 / (1 + exp(-p (k - 1))); 0 when alerted at message 1."""
    return -1 + 2 / (1 + math.exp(-p * (k - 1)))


def average_precision(scores: Sequence[float], positives: Sequence[bool]) -> float:
    """Area under the precision-recall curve as average precision (ties broken pessimistically)."""
    total = sum(positives)
    if total == 0:
        return 0.0
    ranked = sorted(zip(scores, positives, strict=True), key=lambda sp: (-sp[0], sp[1]))
    hits, area = 0, 0.0
    for rank, (_, positive) in enumerate(ranked, start=1):
        if positive:
            hits += 1
            area += hits / rank
    return area / total


def evaluate(truths: Sequence[Truth], outcomes: Sequence[Outcome], latency_at: int = 30) -> Report:
    """Score outcomes against truths (matched by conversation id; a missing outcome = no alert)."""
    by_id = {o.conversation_id: o for o in outcomes}
    tp = fp = fn = 0
    before_half = 0
    delays: list[int] = []
    scores: list[float] = []
    positives: list[bool] = []
    alarms: dict[str, int] = {}
    counts: dict[str, int] = {}
    for truth in truths:
        outcome = by_id.get(truth.conversation_id) or Outcome(truth.conversation_id, None, None, 0.0)
        scores.append(outcome.max_score)
        positives.append(truth.groomer is not None)
        alerted = outcome.alert_author is not None and outcome.alert_index is not None
        if truth.groomer is None:
            counts[truth.kind] = counts.get(truth.kind, 0) + 1
            if alerted:
                fp += 1
                alarms[truth.kind] = alarms.get(truth.kind, 0) + 1
            continue
        if alerted and outcome.alert_author == truth.groomer and outcome.alert_index is not None:
            tp += 1
            k = outcome.alert_index + 1
            delays.append(k)
            if k <= truth.messages / 2:
                before_half += 1
        else:
            fn += 1
            if alerted:
                fp += 1  # an alert naming the wrong person costs officer time like any false one
    grooming = tp + fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / grooming if grooming else 0.0
    f1 = f_beta(precision, recall, 1.0)
    p = latency_p(latency_at)
    speed = 1 - median(latency_penalty(k, p) for k in delays) if delays else 0.0
    return Report(
        conversations=len(truths), grooming=grooming, true_positives=tp, false_positives=fp,
        false_negatives=fn, precision=precision, recall=recall, f1=f1,
        f05=f_beta(precision, recall, 0.5),
        alerted_before_half=before_half / grooming if grooming else 0.0,
        median_messages_to_alert=float(median(delays)) if delays else None,
        pr_auc=average_precision(scores, positives), speed=speed, f_latency=f1 * speed,
        latency_at=latency_at,
        false_alarms_per_1000={kind: 1000 * alarms.get(kind, 0) / n for kind, n in sorted(counts.items())},
    )


def messages_of(item: dict[str, Any]) -> list[Message]:
    """Our JSONL message dicts as `Message` values."""
    return [Message(str(m["id"]), str(m["author"]), float(m["ts"]), str(m["text"]), m.get("age"))
            for m in item["messages"]]


def run_items(detector: Detector, gate: AlertGate,
              items: Sequence[dict[str, Any]]) -> tuple[list[Truth], list[Outcome]]:
    """Scan labelled conversations (our JSONL shape) and collect truths and outcomes."""
    truths: list[Truth] = []
    outcomes: list[Outcome] = []
    for item in items:
        scanned = scan(detector, gate, str(item["id"]), messages_of(item))
        first = scanned.alerts[0] if scanned.alerts else None
        truths.append(Truth(str(item["id"]), str(item.get("subkind") or item["kind"]),
                            item.get("groomer"), len(item["messages"])))
        outcomes.append(Outcome(str(item["id"]), first.author_id if first else None,
                                first.message_index if first else None, scanned.max_score))
    return truths, outcomes


THRESHOLD_GRID: tuple[float, ...] = tuple(step / 100 for step in range(30, 100))


@dataclass(frozen=True, slots=True)
class Trajectory:
    """Where a conversation's top risk first reached each new height: (index, author, score).

    Scores do not depend on the threshold, so one scan answers every threshold: the gate
    fires at the first message whose top score reaches it, which is one of these points.
    """

    conversation_id: str
    points: tuple[tuple[int, str, float], ...]

    def outcome_at(self, threshold: float) -> Outcome:
        best = self.points[-1][2] if self.points else 0.0
        for index, author, score in self.points:
            if score >= threshold:
                return Outcome(self.conversation_id, author, index, best)
        return Outcome(self.conversation_id, None, None, best)


def trajectories(detector: Detector, items: Sequence[dict[str, Any]]) -> tuple[list[Truth], list[Trajectory]]:
    """Scan labelled conversations once, keeping each rise of the top score."""
    truths: list[Truth] = []
    found: list[Trajectory] = []
    for item in items:
        state = ConversationState(str(item["id"]))
        points: list[tuple[int, str, float]] = []
        best = 0.0
        for index, message in enumerate(messages_of(item)):
            assessment = detector.update(state, message)
            if assessment.score > best and assessment.author_id is not None:
                best = assessment.score
                points.append((index, assessment.author_id, best))
        truths.append(Truth(str(item["id"]), str(item.get("subkind") or item["kind"]),
                            item.get("groomer"), len(item["messages"])))
        found.append(Trajectory(str(item["id"]), tuple(points)))
    return truths, found


def operating_point(truths: Sequence[Truth], found: Sequence[Trajectory], min_precision: float = 0.9,
                    grid: Sequence[float] = THRESHOLD_GRID,
                    latency_at: int = 30) -> tuple[float, Report] | None:
    """The lowest threshold (hence the earliest alerts) whose alert precision is >= `min_precision`.

    Returns None when no threshold of the grid reaches it. The default operating point of the
    issue is chosen this way, since officer time is the scarce resource.
    """
    for threshold in sorted(grid):
        report = evaluate(truths, [t.outcome_at(threshold) for t in found], latency_at)
        if report.true_positives and report.precision >= min_precision:
            return threshold, report
    return None


def format_report(report: Report) -> str:
    """Human-readable figures, hard negatives on their own lines (for `childsafe watch eval`)."""
    median_k = "-" if report.median_messages_to_alert is None else f"{report.median_messages_to_alert:g}"
    lines = [
        f"conversations {report.conversations}, grooming {report.grooming}",
        f"groomer identification: precision {report.precision:.3f}, recall {report.recall:.3f}, "
        f"F1 {report.f1:.3f}, F0.5 {report.f05:.3f} (tp {report.true_positives}, "
        f"fp {report.false_positives}, fn {report.false_negatives})",
        f"early detection: alerted before halfway {report.alerted_before_half:.1%}, "
        f"median messages to alert {median_k}, PR-AUC {report.pr_auc:.3f}",
        f"latency-weighted F1 (penalty 0.5 at {report.latency_at} messages): speed {report.speed:.3f}, "
        f"F_latency {report.f_latency:.3f}",
        "false alarms per 1,000 benign conversations:",
    ]
    lines += [f"  {kind}: {rate:.1f}" for kind, rate in report.false_alarms_per_1000.items()]
    return "\n".join(lines)
