"""Per-conversation state, updated message by message, and the values a detector returns.

The state is what makes detection *early*: it remembers, per author, which cues and stages
have appeared and when, and what is known of every participant's age, so each new message
costs only its own scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    score: float = 0.0

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
