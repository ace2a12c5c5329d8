"""Train the learned layer from a labelled corpus (`childsafe watch train`); needs the `train` extra.

Reproducible by construction: the held-out split is a seeded shuffle of conversation ids per
kind, features are computed by the same `FeatureExtractor` the detector uses, the solver is
liblinear with a fixed seed, weights are rounded before export and the artifact holds no
clock time, so the same corpus and seed give a byte-identical JSON artifact.

Samples: every author of every training conversation, after each of their messages (the
features the detector sees at that moment), labelled 1 for the groomer and 0 otherwise. Every
prefix is a sample because alerts must come early, on what has been said so far.

Text features: n-grams of cue-bearing messages only (see `childsafe.watch.core.learned`), and
only those used by at least `min_support` authors; the largest `max_text_weights` are exported.

The held-out conversations are scored by the exported artifact through the plain-Python
detectors (not by scikit-learn), and each detector's default threshold is the lowest whose
alert precision is >= 0.9 there (`operating_point`), raised until that holds with 95%
confidence when the held-out part is large enough (`choose_threshold`), since officer time is
the scarce resource.

The packaged model is reproduced with
`childsafe watch corpus --out c.jsonl --per-kind 1000 --seed 0` then
`childsafe watch train c.jsonl --out childsafe/watch/models/grooming-v1.json --seed 0`.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from childsafe.watch.core.cues import CueSet, normalise
from childsafe.watch.core.detector import DEFAULT_THRESHOLD, Detector, RuleDetector
from childsafe.watch.core.evaluation import (
    THRESHOLD_GRID,
    Report,
    Trajectory,
    Truth,
    evaluate,
    messages_of,
    operating_point,
    trajectories,
)
from childsafe.watch.core.learned import (
    CombinedDetector,
    FeatureExtractor,
    LearnedDetector,
    ModelArtifact,
    TextSpec,
    bucket_of,
    ngrams,
    tokens,
)
from childsafe.watch.core.state import ConversationState

MODEL_NAME = "grooming-v1"
MIN_PRECISION = 0.9
Progress = Callable[[str, int, int], None]  # (step, done, total)


class TrainingError(ValueError):
    """The corpus cannot train a model (e.g. no grooming conversation); the message says why."""


def corpus_sha256(items: Sequence[dict[str, Any]]) -> str:
    """Hash of the corpus in canonical JSONL (as `write_jsonl` writes it), independent of the file."""
    digest = hashlib.sha256()
    for item in items:
        digest.update((json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    return digest.hexdigest()


def _kind(item: dict[str, Any]) -> str:
    return str(item.get("subkind") or item.get("kind") or "unknown")


def split(items: Sequence[dict[str, Any]], seed: int,
          held_out: float = 0.25) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split by conversation, per kind, with a seeded shuffle: (train, held-out)."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_kind.setdefault(_kind(item), []).append(item)
    held_ids: set[str] = set()
    rng = random.Random(seed)
    for kind in sorted(by_kind):
        ids = sorted(str(i["id"]) for i in by_kind[kind])
        rng.shuffle(ids)
        held_ids.update(ids[:round(len(ids) * held_out)])
    train_part = [i for i in items if str(i["id"]) not in held_ids]
    return train_part, [i for i in items if str(i["id"]) in held_ids]


@dataclass
class Samples:
    """Training rows: dense features, n-gram buckets so far and label of an author at a message."""

    rows: list[dict[str, float]] = field(default_factory=list)
    bags: list[frozenset[int]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    support: dict[int, list[int]] = field(default_factory=dict)  # bucket -> [negative, positive] authors


def samples(extractor: FeatureExtractor, items: Sequence[dict[str, Any]],
            progress: Progress | None = None) -> Samples:
    """One sample per author after each of its messages, as the detector would see it."""
    out = Samples()
    for done, item in enumerate(items, start=1):
        state = ConversationState(str(item["id"]))
        seen: dict[str, set[int]] = {}
        groomer = item.get("groomer")
        for message in messages_of(item):
            text, _, cued = extractor.observe(state, message)
            bag = seen.setdefault(message.author, set())
            if cued:
                bag.update(extractor.buckets(text))
            out.rows.append(extractor.dense(state, message.author))
            out.bags.append(frozenset(bag))
            out.labels.append(int(message.author == groomer))
        for author, bag in seen.items():
            positive = int(author == groomer)
            for b in bag:
                out.support.setdefault(b, [0, 0])[positive] += 1
        if progress is not None:
            progress("features", done, len(items))
    return out


def _names(spec: TextSpec, items: Sequence[dict[str, Any]], kept: set[int]) -> dict[int, str]:
    """The most frequent n-gram of each kept bucket in the training texts (for readable reasons)."""
    counts: dict[int, Counter[str]] = {}
    for item in items:
        for message in item["messages"]:
            for gram in ngrams(tokens(normalise(str(message["text"]))), spec.ngram_max):
                b = bucket_of(gram, spec.buckets)
                if b in kept:
                    counts.setdefault(b, Counter())[gram] += 1
    return {b: min(c.items(), key=lambda gc: (-gc[1], gc[0]))[0] for b, c in sorted(counts.items())}


def _figures(report: Report, threshold: float) -> dict[str, Any]:
    def r(x: float) -> float:
        return round(x, 4)

    return {"threshold": threshold, "precision": r(report.precision), "recall": r(report.recall),
            "f05": r(report.f05), "alerted_before_half": r(report.alerted_before_half),
            "median_messages_to_alert": report.median_messages_to_alert, "pr_auc": r(report.pr_auc),
            "f_latency": r(report.f_latency), "true_positives": report.true_positives,
            "false_positives": report.false_positives, "false_negatives": report.false_negatives,
            "false_alarms_per_1000": {k: round(v, 1) for k, v in report.false_alarms_per_1000.items()}}


def wilson_lower(successes: int, trials: int, z: float = 1.645) -> float:
    """One-sided 95% lower confidence bound of a proportion (Wilson score interval)."""
    if trials == 0:
        return 0.0
    p = successes / trials
    z2 = z * z
    centre = p + z2 / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return (centre - spread) / (1 + z2 / trials)


def choose_threshold(truths: Sequence[Truth], found: Sequence[Trajectory],
                     min_precision: float = MIN_PRECISION) -> tuple[float, Report, str]:
    """The default threshold: the lowest whose held-out alert precision is >= `min_precision`.

    `operating_point` gives the lowest threshold whose precision *on the held-out sample* reaches
    the floor; a threshold that only just reaches it there falls below it on the next sample
    about half the time. So from there the threshold rises to the first one whose precision is
    at least the floor with 95% confidence (one-sided Wilson bound), when the held-out part has
    enough alerts for that; else the sample's operating point stands. With no threshold reaching
    the floor at all, the strictest of the grid is taken. The basis is returned with it.
    """
    point = operating_point(truths, found, min_precision)
    if point is None:
        strictest = max(THRESHOLD_GRID)
        report = evaluate(truths, [t.outcome_at(strictest) for t in found])
        return strictest, report, "precision floor not met"
    for threshold in (t for t in THRESHOLD_GRID if t >= point[0]):
        report = evaluate(truths, [t.outcome_at(threshold) for t in found])
        alerts = report.true_positives + report.false_positives
        if report.true_positives and wilson_lower(report.true_positives, alerts) >= min_precision:
            return threshold, report, "precision floor with 95% confidence"
    return point[0], point[1], "precision floor on the held-out sample"


def train(items: Sequence[dict[str, Any]], seed: int = 0, *, cue_sets: Sequence[CueSet] | None = None,
          spec: TextSpec | None = None, held_out: float = 0.25, c: float = 0.3,
          max_text_weights: int = 4000, min_support: int = 3,
          progress: Progress | None = None) -> ModelArtifact:
    """Fit, export and evaluate a model; the same items, seed and options give an identical artifact."""
    import numpy as np
    import scipy
    import sklearn
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    if cue_sets is None:
        from childsafe.watch.catalog import load_all_cues

        cue_sets = load_all_cues()
    spec = spec or TextSpec()
    train_items, held_items = split(items, seed, held_out)
    if not any(i.get("groomer") for i in train_items) or not any(i.get("groomer") for i in held_items):
        raise TrainingError("the corpus needs grooming conversations in both the training and held-out "
                            f"parts ({len(items)} conversations, "
                            f"{sum(bool(i.get('groomer')) for i in items)} grooming)")
    extractor = FeatureExtractor(cue_sets, spec)
    collected = samples(extractor, train_items, progress)
    # An n-gram used by fewer than `min_support` authors would let the model learn those authors.
    usable = {b for b, (neg, pos) in collected.support.items() if neg + pos >= min_support}
    rows, labels = collected.rows, collected.labels
    bags = [bag & usable for bag in collected.bags]
    names = extractor.names
    column = {n: i for i, n in enumerate(names)}
    offset = len(names)
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for row, bag in zip(rows, bags, strict=True):
        for name, x in sorted(row.items(), key=lambda nx: column[nx[0]]):
            indices.append(column[name])
            data.append(x)
        for b in sorted(bag):
            indices.append(offset + b)
            data.append(1.0)
        indptr.append(len(indices))
    matrix = csr_matrix((np.asarray(data), np.asarray(indices), np.asarray(indptr)),
                        shape=(len(rows), offset + spec.buckets))
    if progress is not None:
        progress("fit", 0, 1)
    model = LogisticRegression(C=c, solver="liblinear", random_state=seed, max_iter=1000)
    model.fit(matrix, np.asarray(labels))
    if progress is not None:
        progress("fit", 1, 1)
    coef = model.coef_[0]
    dense_weights = tuple(round(float(w), 6) for w in coef[:offset])
    text_coef = coef[offset:]
    rounded = ((int(b), round(float(text_coef[b]), 5)) for b in np.flatnonzero(np.round(text_coef, 5)))
    text = [(b, w) for b, w in rounded if w]
    text.sort(key=lambda bw: (-abs(bw[1]), bw[0]))
    text_weights = dict(sorted(text[:max_text_weights]))
    text_names = _names(spec, train_items, set(text_weights))
    meta: dict[str, Any] = {
        "seed": seed,
        "corpus": {"sha256": corpus_sha256(items), "conversations": len(items),
                   "grooming": sum(bool(i.get("groomer")) for i in items),
                   "by_kind": dict(sorted(Counter(_kind(i) for i in items).items()))},
        "split": {"by": "conversation", "held_out_share": held_out, "train_conversations": len(train_items),
                  "held_out_conversations": len(held_items), "train_samples": len(rows)},
        "trainer": {"library": "scikit-learn", "sklearn_version": sklearn.__version__,
                    "numpy_version": np.__version__, "scipy_version": scipy.__version__,
                    "estimator": "LogisticRegression", "solver": "liblinear", "C": c,
                    "min_support": min_support, "text_features_usable": len(usable),
                    "text_weights_kept": len(text_weights), "text_weights_nonzero": len(text)},
        "cue_files": {s.language: s.version for s in cue_sets},
        "min_precision": MIN_PRECISION,
    }
    provisional = ModelArtifact(MODEL_NAME, spec, names, dense_weights, round(float(model.intercept_[0]), 6),
                                text_weights, text_names, {"learned": 0.5, "combined": 0.5}, meta)
    thresholds: dict[str, float] = {}
    metrics: dict[str, Any] = {}
    detectors: dict[str, Detector] = {"learned": LearnedDetector(provisional, cue_sets),
                                      "combined": CombinedDetector(provisional, cue_sets)}
    for step, (name, detector) in enumerate(detectors.items(), start=1):
        truths, found = trajectories(detector, held_items)
        threshold, report, basis = choose_threshold(truths, found)
        thresholds[name] = threshold
        metrics[name] = {**_figures(report, threshold), "threshold_basis": basis}
        if progress is not None:
            progress("held-out evaluation", step, len(detectors) + 1)
    truths, found = trajectories(RuleDetector(cue_sets), held_items)
    metrics["rules"] = _figures(evaluate(truths, [t.outcome_at(DEFAULT_THRESHOLD) for t in found]),
                                DEFAULT_THRESHOLD)
    if progress is not None:
        progress("held-out evaluation", len(detectors) + 1, len(detectors) + 1)
    return ModelArtifact(MODEL_NAME, spec, names, dense_weights, provisional.intercept, text_weights,
                         text_names, thresholds, {**meta, "held_out_metrics": metrics})
