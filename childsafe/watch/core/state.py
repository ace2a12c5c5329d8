"""Per-conversation state, updated message by message, and the values a detector returns.

The state is what makes detection *early*: it remembers, per author, which cues and stages
have appeared and when, and what is known of every participant's age, so each new message
costs only its own scan.

A state can be kept between messages outside the process: `ConversationState.to_dict()` gives
plain JSON values (dicts, lists, str, int, float, None) and `from_dict()` rebuilds it exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ADULT_AGE = 18


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message as ingestion hands it over (age is the provider's declared age)."""

    id: str
    author: str
    ts: float
    text: str
    age: int | None = None


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    """The current risk of a conversation, attributed to its riskiest author."""

    score: float
    stage: str | None
    reasons: tuple[str, ...]
    author_id: str | None


@dataclass(frozen=True, slots=True)
class Alert:
    """A decision to notify the agency on duty; sinks at the edge deliver it."""

    conversation_id: str
    author_id: str
    message_id: str
    message_index: int
    score: float
    stage: str | None
    reasons: tuple[str, ...]
    detector: str


@dataclass(slots=True)
class AuthorState:
    """What one participant has said so far: cue counts, stages and ages."""

    cue_counts: dict[str, int] = field(default_factory=dict)
    stage_first: dict[str, int] = field(default_factory=dict)
    declared_age: int | None = None
    stated_ages: list[int] = field(default_factory=list)
    messages: int = 0
    score: float = 0.0  # the rule layer's score
    model_score: float = 0.0  # the learned layer's probability (learned and combined detectors)
    text_logit: float = 0.0  # the model's weights summed over `ngrams`, kept incrementally
    ngrams: set[int] = field(default_factory=set)  # hashed word n-grams seen that the model weighs

    def to_dict(self) -> dict[str, Any]:
        return {"cue_counts": dict(self.cue_counts), "stage_first": dict(self.stage_first),
                "declared_age": self.declared_age, "stated_ages": list(self.stated_ages),
                "messages": self.messages, "score": self.score, "model_score": self.model_score,
                "text_logit": self.text_logit, "ngrams": sorted(self.ngrams)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuthorState:
        declared = data.get("declared_age")
        return cls(cue_counts={str(k): int(v) for k, v in dict(data.get("cue_counts") or {}).items()},
                   stage_first={str(k): int(v) for k, v in dict(data.get("stage_first") or {}).items()},
                   declared_age=None if declared is None else int(declared),
                   stated_ages=[int(a) for a in data.get("stated_ages") or []],
                   messages=int(data.get("messages", 0)), score=float(data.get("score", 0.0)),
                   model_score=float(data.get("model_score", 0.0)),
                   text_logit=float(data.get("text_logit", 0.0)),
                   ngrams={int(b) for b in data.get("ngrams") or []})

    @property
    def age(self) -> int | None:
        """Declared age wins; else the age the author stated, unless their claims contradict.

        Adults who groom sometimes claim to be teenagers; contradictory claims must not earn
        the discount a minor author gets, so they count as unknown (and are a reason).
        """
        if self.declared_age is not None:
            return self.declared_age
        if not self.stated_ages or self.age_conflict:
            return None
        return min(self.stated_ages)

    @property
    def age_conflict(self) -> bool:
        """True when the author stated ages more than two years apart."""
        return bool(self.stated_ages) and max(self.stated_ages) - min(self.stated_ages) > 2


@dataclass(slots=True)
class ConversationState:
    """Everything a detector remembers about one conversation (a room thread or a DM)."""

    conversation_id: str
    authors: dict[str, AuthorState] = field(default_factory=dict)
    messages: int = 0
    last_ts: float | None = None
    top: RiskAssessment | None = None
    alerted: set[str] = field(default_factory=set)

    STATE_VERSION = 1

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values only; `from_dict(to_dict())` gives an equal state."""
        top = self.top
        return {
            "state_version": self.STATE_VERSION,
            "conversation_id": self.conversation_id,
            "authors": {author_id: a.to_dict() for author_id, a in self.authors.items()},
            "messages": self.messages,
            "last_ts": self.last_ts,
            "top": None if top is None else {"score": top.score, "stage": top.stage,
                                             "reasons": list(top.reasons), "author_id": top.author_id},
            "alerted": sorted(self.alerted),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConversationState:
        """Rebuild a state from `to_dict()` output; raises ValueError on another shape or version."""
        if not isinstance(data, Mapping) or data.get("state_version") != cls.STATE_VERSION:
            raise ValueError(f"not a conversation state of version {cls.STATE_VERSION}")
        try:
            raw_top = data.get("top")
            top = None if raw_top is None else RiskAssessment(
                float(raw_top["score"]), raw_top.get("stage"), tuple(str(r) for r in raw_top["reasons"]),
                raw_top.get("author_id"))
            last_ts = data.get("last_ts")
            return cls(conversation_id=str(data["conversation_id"]),
                       authors={str(k): AuthorState.from_dict(v) for k, v in dict(data["authors"]).items()},
                       messages=int(data["messages"]), last_ts=None if last_ts is None else float(last_ts),
                       top=top, alerted={str(a) for a in data.get("alerted") or []})
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed conversation state: {exc!r}") from exc

    def author(self, author_id: str) -> AuthorState:
        found = self.authors.get(author_id)
        if found is None:
            found = self.authors[author_id] = AuthorState()
        return found

    def youngest_other(self, author_id: str) -> tuple[str, int] | None:
        """The youngest other participant with a known age (the one an adult may target)."""
        best: tuple[str, int] | None = None
        for other_id, other in self.authors.items():
            age = other.age
            if other_id != author_id and age is not None and (best is None or age < best[1]):
                best = (other_id, age)
        return best

    def age_gap(self, author_id: str) -> int | None:
        """Years between an adult author and the youngest minor present, else None."""
        age = self.authors[author_id].age if author_id in self.authors else None
        other = self.youngest_other(author_id)
        if age is None or other is None or age < ADULT_AGE or other[1] >= ADULT_AGE:
            return None
        return age - other[1]
