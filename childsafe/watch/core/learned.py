"""The learned layer: per-author features, a logistic model read from a versioned artifact.

Training happens offline with scikit-learn (`childsafe.watch.training`); here the exported
coefficients are applied in plain Python, message by message, so no model library is called
per message and the core stays free of I/O and heavy imports.

Features of an author at a message (`FeatureExtractor`):

* from the rule layer's state: each O'Connell stage reached, the number of stages, each cue's
  count (capped at 3) and the rule score;
* age signals: the author is a minor, an adult, of unknown age, or made contradictory claims;
  the age gap to the youngest minor present; whether a minor is present; adults only;
* hashed word 1- and 2-grams of the author's messages *that carry a cue* (`TextSpec`), as
  presence: the model's weights are summed once per distinct n-gram, kept incrementally in
  the state (`AuthorState.ngrams`, `text_logit`), so a message costs only its own words.

Why only cue messages: the words around a cue are what tells a parent's "are you home alone?
I'll be late" from a stranger's "are you home alone right now?", and that is what the text part
should learn. Words of every message would also learn who greets how and what small talk a
corpus's authors use, which on our generated corpus is a label leak (its groomers always open
with the same greeting) and on any small corpus is memorisation, not grooming. It also keeps
the per-message cost low: most messages carry no cue and are never tokenised.

Scores are the model's probability that the author is grooming someone in the conversation.
Reasons name the largest positive contributions (a stage, a cue, the age gap, a phrase).
"""

from __future__ import annotations

import heapq
import json
import math
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from childsafe.watch.core.cues import STAGE_INDEX, STAGES, CueSet
from childsafe.watch.core.detector import RuleDetector
from childsafe.watch.core.state import ADULT_AGE, ConversationState, Message, RiskAssessment

ARTIFACT_FORMAT = "childsafe-watch-model"
ARTIFACT_VERSION = 1
TOKENIZER = "words-v1"
_EMPTY = RiskAssessment(0.0, None, (), None)
_TOKENS = re.compile(r"[^\W_]+(?:'[^\W_]+)*").findall
_DIGITS = re.compile(r"\d+")
_HAS_DIGIT = re.compile(r"\d").search
_CACHE_LIMIT = 200_000
AGE_FEATURES = ("age:minor", "age:adult", "age:unknown", "age:conflict", "gap", "with_minor", "adults_only")


class ArtifactError(ValueError):
    """A model artifact cannot be used: wrong format, version or shape; the message says which."""


@dataclass(frozen=True, slots=True)
class TextSpec:
    """How text becomes hashed n-gram features; recorded in the artifact and checked at load."""

    buckets: int = 2**18
    ngram_max: int = 2
    max_per_author: int = 1024  # distinct weighed n-grams remembered per author (bounds the state)
    tokenizer: str = TOKENIZER

    def to_dict(self) -> dict[str, Any]:
        return {"buckets": self.buckets, "ngram_max": self.ngram_max,
                "max_per_author": self.max_per_author, "tokenizer": self.tokenizer}


def dense_names(cue_ids: Iterable[str]) -> tuple[str, ...]:
    """The names of the non-text features, in the order of the model's coefficients."""
    return (tuple(f"stage:{s}" for s in STAGES) + ("stages",)
            + tuple(f"cue:{c}" for c in sorted(cue_ids)) + ("rule_score",) + AGE_FEATURES)


def tokens(normalised: str) -> list[str]:
    """Words of an already normalised text; every number becomes "0" (ages are age features)."""
    if _HAS_DIGIT(normalised):
        normalised = _DIGITS.sub("0", normalised)
    return _TOKENS(normalised)


def ngrams(words: Sequence[str], ngram_max: int = 2) -> list[str]:
    grams = list(words)
    for n in range(2, ngram_max + 1):
        grams += [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
    return grams


def bucket_of(gram: str, buckets: int) -> int:
    """A stable hash (CRC-32, not Python's salted `hash`), the same in training and inference."""
    return zlib.crc32(gram.encode("utf-8")) % buckets


class FeatureExtractor:
    """The rule layer's state update plus the features the model reads (shared with training)."""

    def __init__(self, cue_sets: Sequence[CueSet], spec: TextSpec | None = None) -> None:
        self.rules = RuleDetector(cue_sets)
        self.spec = spec or TextSpec()
        self.cue_ids = tuple(sorted(self.rules.matcher.meta))
        self.names = dense_names(self.cue_ids)
        self._cue_names = {c: f"cue:{c}" for c in self.cue_ids}
        self._stage_names = {s: f"stage:{s}" for s in STAGES}
        self._cache: dict[str, int] = {}

    def observe(self, state: ConversationState, message: Message) -> tuple[str, bool, bool]:
        """Count the message into the state and refresh rule scores.

        Returns (normalised text, whether an age changed, whether the message had a cue).
        """
        text, ages_changed, cues_changed = self.rules.observe(state, message)
        if ages_changed:
            self.rules.rescore(state, state.authors)
        elif cues_changed:
            self.rules.rescore(state, (message.author,))
        return text, ages_changed, cues_changed

    def buckets(self, normalised: str) -> list[int]:
        """Hashed n-gram buckets of one message (repeats kept); hashes are memoised."""
        cache, size = self._cache, self.spec.buckets
        found: list[int] = []
        for gram in ngrams(tokens(normalised), self.spec.ngram_max):
            b = cache.get(gram)
            if b is None:
                b = bucket_of(gram, size)
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[gram] = b
            found.append(b)
        return found

    def dense(self, state: ConversationState, author_id: str) -> dict[str, float]:
        """The author's non-zero non-text features by name."""
        author = state.authors[author_id]
        out: dict[str, float] = {}
        stages = author.stage_first
        if stages:
            for stage in stages:
                out[self._stage_names[stage]] = 1.0
            out["stages"] = len(stages) / len(STAGES)
        counts = author.cue_counts
        if counts:
            for cue, n in counts.items():
                name = self._cue_names.get(cue)
                if name is not None:
                    out[name] = min(n, 3) / 3
            out["rule_score"] = author.score
        age = author.age
        if age is None:
            out["age:unknown"] = 1.0
            if author.declared_age is None and author.age_conflict:
                out["age:conflict"] = 1.0
        else:
            out["age:minor" if age < ADULT_AGE else "age:adult"] = 1.0
        others = [a.age for i, a in state.authors.items() if i != author_id]
        if others:
            known = [a for a in others if a is not None]
            if known and min(known) < ADULT_AGE:
                out["with_minor"] = 1.0
                if age is not None and age >= ADULT_AGE:
                    out["gap"] = min(age - min(known), 30) / 30
            elif len(known) == len(others):
                out["adults_only"] = 1.0
        return out


def label(name: str) -> str:
    """A feature name as an officer reads it."""
    kind, _, rest = name.partition(":")
    if kind == "stage" and rest:
        return f"stage {rest}"
    if kind == "cue" and rest:
        return f"cue {rest}"
    return {"stages": "several stages", "rule_score": "rule score",
            "age:minor": "author is a minor", "age:adult": "author is an adult",
            "age:unknown": "author's age unknown", "age:conflict": "contradictory stated ages",
            "gap": "age gap to a minor", "with_minor": "a minor is present",
            "adults_only": "adults only"}.get(name, name)


@dataclass(frozen=True, slots=True)
class ModelArtifact:
    """A trained logistic model as plain values: what `childsafe watch train` writes as JSON."""

    name: str
    spec: TextSpec
    dense_names: tuple[str, ...]
    dense_weights: tuple[float, ...]
    intercept: float
    text_weights: Mapping[int, float]
    text_names: Mapping[int, str]
    thresholds: Mapping[str, float]
    meta: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": ARTIFACT_FORMAT, "version": ARTIFACT_VERSION, "name": self.name,
            "model": "logistic_regression", "feature_spec": {"dense": list(self.dense_names),
                                                             "text": self.spec.to_dict()},
            "intercept": self.intercept, "dense_weights": list(self.dense_weights),
            "text_weights": {str(b): w for b, w in sorted(self.text_weights.items())},
            "text_names": {str(b): n for b, n in sorted(self.text_names.items())},
            "thresholds": dict(sorted(self.thresholds.items())), "meta": dict(self.meta),
        }

    def to_json(self) -> str:
        """Canonical JSON: the same artifact always gives the same bytes."""
        text = json.dumps(self.to_dict(), sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
        return text + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "artifact") -> ModelArtifact:
        try:
            doc = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ArtifactError(f"{source}: not JSON: {exc}") from exc
        return cls.from_dict(doc, source)

    @classmethod
    def from_dict(cls, doc: Any, source: str = "artifact") -> ModelArtifact:
        """Validate the format, version and shapes; raise `ArtifactError` naming the problem."""
        def bad(problem: str) -> ArtifactError:
            return ArtifactError(f"{source}: {problem}")

        if not isinstance(doc, Mapping) or doc.get("format") != ARTIFACT_FORMAT:
            raise bad(f"not a {ARTIFACT_FORMAT} artifact")
        if doc.get("version") != ARTIFACT_VERSION:
            raise bad(f"artifact version {doc.get('version')!r}; this childsafe reads version "
                      f"{ARTIFACT_VERSION} (retrain with `childsafe watch train`)")
        if doc.get("model") != "logistic_regression":
            raise bad(f"unknown model type {doc.get('model')!r}")
        try:
            feature_spec = doc["feature_spec"]
            text = feature_spec["text"]
            spec = TextSpec(int(text["buckets"]), int(text["ngram_max"]), int(text["max_per_author"]),
                            str(text["tokenizer"]))
            names = tuple(str(n) for n in feature_spec["dense"])
            weights = tuple(float(w) for w in doc["dense_weights"])
            text_weights = {int(b): float(w) for b, w in doc["text_weights"].items()}
            text_names = {int(b): str(n) for b, n in doc.get("text_names", {}).items()}
            thresholds = {str(k): float(v) for k, v in doc["thresholds"].items()}
            artifact = cls(str(doc["name"]), spec, names, weights, float(doc["intercept"]), text_weights,
                           text_names, thresholds, dict(doc.get("meta") or {}))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise bad(f"missing or malformed field: {exc!r}") from exc
        if spec.tokenizer != TOKENIZER:
            raise bad(f"tokenizer {spec.tokenizer!r} is not supported (expected {TOKENIZER!r})")
        if spec.buckets < 2 or not 1 <= spec.ngram_max <= 3 or spec.max_per_author < 1:
            raise bad("text feature spec out of range")
        if len(names) != len(weights):
            raise bad(f"{len(weights)} dense weights for {len(names)} dense features")
        if len(set(names)) != len(names):
            raise bad("duplicate dense feature names")
        if any(not 0 <= b < spec.buckets for b in text_weights):
            raise bad(f"text weight bucket outside [0, {spec.buckets})")
        if not all(math.isfinite(w) for w in (*weights, *text_weights.values(), artifact.intercept)):
            raise bad("non-finite weight")
        for detector in ("learned", "combined"):
            value = thresholds.get(detector)
            if value is None or not 0 < value <= 1:
                raise bad(f"threshold for {detector!r} missing or not in (0, 1]")
        return artifact


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-35.0, min(35.0, z))))


class LearnedDetector:
    """Logistic regression over rule-state, age and word n-gram features, applied incrementally.

    The rule layer's counters are updated first (the same code as the rule detector), then the
    author's new weighed n-grams are added to its running text logit, then every author whose
    features changed is re-scored: the message's author after a cue, everyone after an age or
    when someone joins. Reasons are worked out only for scores of at least `explain_from`.

    The state's `text_logit` and `ngrams` belong to the model that wrote them: a persisted
    conversation state should be restarted when the model (`artifact.name`, its meta) changes.
    """

    name = "learned"

    def __init__(self, artifact: ModelArtifact, cue_sets: Sequence[CueSet], explain_from: float = 0.2,
                 top_reasons: int = 5) -> None:
        self.artifact = artifact
        self.extractor = FeatureExtractor(cue_sets, artifact.spec)
        known = set(self.extractor.names)
        unknown = [n for n in artifact.dense_names if n not in known]
        if unknown:
            raise ArtifactError(f"artifact {artifact.name!r} uses features this childsafe does not compute "
                                f"({', '.join(unknown[:5])}); retrain it with `childsafe watch train`")
        self.threshold = artifact.thresholds[self.name]
        self._dense = {n: w for n, w in zip(artifact.dense_names, artifact.dense_weights, strict=True) if w}
        self._text = dict(artifact.text_weights)
        self._names = artifact.text_names
        self._intercept = artifact.intercept
        self._cap = artifact.spec.max_per_author
        self.explain_from, self.top_reasons = explain_from, top_reasons

    def observe(self, state: ConversationState, message: Message) -> bool:
        """Update the state and every model score that changed; False when none could have.

        An author's features change only with its own cues, with an age, or when someone joins
        (the ages present); other messages leave every score as it was and cost only the scan.
        """
        text, ages_changed, cued = self.extractor.observe(state, message)
        author = state.authors[message.author]
        if cued:
            seen, weights = author.ngrams, self._text
            added = 0.0
            for b in self.extractor.buckets(text):
                w = weights.get(b)
                if w is not None and b not in seen and len(seen) < self._cap:
                    seen.add(b)
                    added += w
            author.text_logit += added
        if ages_changed or author.messages == 1:
            for author_id, other in state.authors.items():
                other.model_score = self.probability(state, author_id)
        elif cued:
            author.model_score = self.probability(state, message.author)
        else:
            return False
        return True

    def logit(self, state: ConversationState, author_id: str) -> float:
        dense, z = self._dense, self._intercept + state.authors[author_id].text_logit
        for name, x in self.extractor.dense(state, author_id).items():
            w = dense.get(name)
            if w is not None:
                z += w * x
        return z

    def probability(self, state: ConversationState, author_id: str) -> float:
        return _sigmoid(self.logit(state, author_id))

    def contributions(self, state: ConversationState, author_id: str) -> list[tuple[float, str]]:
        """(logit contribution, label) of every feature the author has, largest first."""
        dense, text = self._dense, self._text
        found = [(dense[n] * x, label(n)) for n, x in self.extractor.dense(state, author_id).items()
                 if n in dense]
        found += [(text.get(b, 0.0), self._phrase(b)) for b in state.authors[author_id].ngrams]
        return sorted(found, key=lambda cl: (-cl[0], cl[1]))

    def _phrase(self, bucket: int) -> str:
        return f"words '{self._names.get(bucket, f'#{bucket}')}'"

    def reasons(self, state: ConversationState, author_id: str, limit: int | None = None) -> tuple[str, ...]:
        """The largest positive contributions, e.g. "model: cue secrecy (+1.20)".

        Only the few largest text weights are labelled (an author may have hundreds of n-grams).
        """
        limit = self.top_reasons if limit is None else limit
        dense, text = self._dense, self._text
        found = [(w * x, label(n)) for n, x in self.extractor.dense(state, author_id).items()
                 if (w := dense.get(n)) is not None and w * x > 0]
        positive = [(w, b) for b in state.authors[author_id].ngrams if (w := text.get(b, 0.0)) > 0]
        found += [(w, self._phrase(b)) for w, b in heapq.nlargest(limit, positive)]
        found.sort(key=lambda cl: (-cl[0], cl[1]))
        return tuple(f"model: {name} ({c:+.2f})" for c, name in found[:limit])

    def assess(self, state: ConversationState, author_id: str, score: float) -> RiskAssessment:
        author = state.authors[author_id]
        stage = max(author.stage_first, key=STAGE_INDEX.__getitem__) if author.stage_first else None
        reasons: tuple[str, ...] = ()
        if score >= self.explain_from:
            reasons = (f"model probability {author.model_score:.2f}", *self.reasons(state, author_id))
        return RiskAssessment(round(score, 4), stage, reasons, author_id)

    def update(self, state: ConversationState, message: Message) -> RiskAssessment:
        if not self.observe(state, message):
            return state.top or _EMPTY
        authors = state.authors
        top_id = max(authors, key=lambda a: authors[a].model_score)
        score = round(authors[top_id].model_score, 4)
        top = state.top
        if top is not None and top.author_id == top_id and top.score == score:
            return top
        state.top = self.assess(state, top_id, score)
        return state.top


class CombinedDetector:
    """Both layers must agree: the geometric mean of the model's probability and the rule score.

    Why a product of the two rather than the model alone or a gate: the layers err differently.
    The rules over-rate cue-rich ordinary chat (friends planning a surprise party, a parent asking
    "are you home alone?") and under-rate a groomer who has not yet gone through three stages;
    the model reads context and is early, but it is fitted to its training corpus and can be
    confidently wrong on a teenager asking "asl". `sqrt(p_model * rule_score)` is high only when
    both are, so either layer can veto, and stays in [0, 1] so thresholds read the same way. An
    author with no cue has a rule score of 0 and can never be alerted on, so every alert carries
    highlighted cues and a stage timeline for the officer, and word n-grams alone raise nothing.
    On held-out generated conversations it keeps the model's recall and most of its earliness
    while removing nearly all of its false alarms (figures in the artifact's `meta`). It is the
    recommended detector; its threshold is chosen at training and recorded in the artifact.
    Reasons: the rule reasons, then the model's probability and largest contributions.
    """

    name = "combined"

    def __init__(self, artifact: ModelArtifact, cue_sets: Sequence[CueSet], explain_from: float = 0.2,
                 top_reasons: int = 3) -> None:
        self.learned = LearnedDetector(artifact, cue_sets, explain_from, top_reasons)
        self.rules = self.learned.extractor.rules
        self.threshold = artifact.thresholds[self.name]
        self.explain_from = explain_from

    @staticmethod
    def combine(model_score: float, rule_score: float) -> float:
        return math.sqrt(model_score * rule_score)

    def update(self, state: ConversationState, message: Message) -> RiskAssessment:
        if not self.learned.observe(state, message):
            return state.top or _EMPTY
        top_id, best = None, 0.0
        for author_id, author in state.authors.items():
            if author.score > 0:
                score = math.sqrt(author.model_score * author.score)
                if score > best:
                    top_id, best = author_id, score
        if top_id is None:
            state.top = _EMPTY
            return _EMPTY
        rounded = round(best, 4)
        top = state.top
        if top is not None and top.author_id == top_id and top.score == rounded:
            return top
        ruled = self.rules.explain(state, top_id)
        reasons: tuple[str, ...] = ()
        if rounded >= self.explain_from:
            model = state.authors[top_id].model_score
            reasons = (*ruled.reasons, f"model probability {model:.2f}", *self.learned.reasons(state, top_id))
        state.top = RiskAssessment(rounded, ruled.stage, reasons, top_id)
        return state.top
