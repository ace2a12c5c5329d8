"""Golden outputs of the rule detector: any change to cues or weights shows up as a diff here.

Regenerate after an intended change with `CHILDSAFE_UPDATE_GOLDEN=1 pytest tests/watch`,
and review the diff like code: it is the detector's behaviour.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from childsafe.watch.catalog import rule_detector
from childsafe.watch.core.detector import DEFAULT_THRESHOLD, AlertGate
from childsafe.watch.core.state import ConversationState, Message

GOLDEN = Path(__file__).parent / "golden"
A, B = "user-a", "user-b"
SCRIPTS = {
    "grooming_en": [
        (A, "hi there"), (B, "hi"), (B, "13/f"), (A, "how old are you? im 36 years old"),
        (A, "where do you live"), (B, "lol why"), (A, "you seem really mature for your age"),
        (A, "I can buy you a game if you want"), (A, "are you home alone right now?"),
        (B, "yeah they're at work"), (A, "don't tell anyone we talk"), (A, "add me on snapchat"),
        (A, "send me a pic of you"), (A, "we should meet up"),
    ],
    "grooming_fr": [
        (A, "salut"), (B, "j'ai 12 ans"), (A, "tu habites où ?"), (A, "t'es trop mignonne"),
        (A, "t'es toute seule chez toi ?"), (B, "ouais"), (A, "c'est notre secret"),
        (A, "ajoute-moi sur snap"), (A, "on pourrait se voir"),
    ],
    "parent_en": [
        (A, "where are you?"), (B, "at the park"), (A, "are you home alone later? I'll be late"),
        (B, "ok"), (A, "I'll buy you a present for your birthday"), (B, "thanks"),
    ],
}
AGES = {"parent_en": {A: 44, B: 11}}


def render(name: str) -> str:
    detector, gate = rule_detector(), AlertGate(DEFAULT_THRESHOLD)
    state = ConversationState(name)
    lines = []
    for i, (author, text) in enumerate(SCRIPTS[name]):
        message = Message(f"m{i + 1}", author, float(i), text, AGES.get(name, {}).get(author))
        assessment = detector.update(state, message)
        alert = gate.check(state, assessment, message)
        lines.append(f"{i + 1:>3} {author} {text!r}: score={assessment.score:.3f} stage={assessment.stage} "
                     f"top={assessment.author_id}{' ALERT' if alert else ''}")
    if state.top is not None:
        lines += [f"    reason: {r}" for r in state.top.reasons]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_golden(name: str) -> None:
    path = GOLDEN / f"{name}.txt"
    got = render(name)
    if os.environ.get("CHILDSAFE_UPDATE_GOLDEN") == "1":
        path.write_text(got, encoding="utf-8")
    assert got == path.read_text(encoding="utf-8")
