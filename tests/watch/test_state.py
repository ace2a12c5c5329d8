"""ConversationState survives a trip through JSON exactly, and detection resumes from it."""

from __future__ import annotations

import json

import pytest

from childsafe.watch.catalog import rule_detector
from childsafe.watch.core.state import AuthorState, ConversationState, Message, RiskAssessment

A, B = "user-a", "user-b"
SCRIPT = [
    (A, "hey how old are you?", None), (B, "13/f", None), (A, "im 35 years old", None),
    (A, "you seem so mature for your age", None), (A, "are you home alone? where are your parents", None),
    (B, "yeah", 13), (A, "don't tell anyone, it's our secret", None), (A, "add me on snapchat", None),
    (A, "send me a pic of you", None), (A, "we should meet up", None),
]


def messages() -> list[Message]:
    return [Message(f"m{i}", a, 100.0 + i, t, age) for i, (a, t, age) in enumerate(SCRIPT)]


def test_round_trip_is_exact_and_plain_json() -> None:
    state = ConversationState("c1")
    state.authors[A] = AuthorState(cue_counts={"secrecy": 2}, stage_first={"exclusivity": 3},
                                   declared_age=None, stated_ages=[15, 32], messages=4, score=0.5,
                                   model_score=0.25, text_logit=-1.5, ngrams={7, 3, 99})
    state.authors[B] = AuthorState(declared_age=12, messages=1)
    state.messages, state.last_ts, state.alerted = 5, 104.0, {A}
    state.top = RiskAssessment(0.5, "exclusivity", ("cue secrecy x2",), A)
    data = state.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert ConversationState.from_dict(json.loads(text)) == state
    assert data["authors"][A]["ngrams"] == [3, 7, 99] and data["alerted"] == [A]
    empty = ConversationState("c0")
    assert ConversationState.from_dict(json.loads(json.dumps(empty.to_dict()))) == empty


def test_detection_resumes_from_a_restored_state() -> None:
    detector = rule_detector()
    straight = ConversationState("c2")
    expected = [detector.update(straight, m) for m in messages()]
    resumed = ConversationState("c2")
    got = []
    for message in messages():  # persisted and restored between every message, as a worker would
        resumed = ConversationState.from_dict(json.loads(json.dumps(resumed.to_dict())))
        got.append(detector.update(resumed, message))
    assert got == expected and resumed == straight


@pytest.mark.parametrize("bad", [{}, {"state_version": 99}, {"state_version": 1}, [],
                                 {"state_version": 1, "conversation_id": "c",
                                  "authors": {"a": {"messages": "x"}}, "messages": 1}])
def test_from_dict_rejects_other_shapes(bad: object) -> None:
    with pytest.raises(ValueError):
        ConversationState.from_dict(bad)  # type: ignore[arg-type]
