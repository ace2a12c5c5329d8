"""Rule-detector benchmark: messages/s through the whole per-message update on one core.

Feeds the generated corpus (all four kinds, seed 0) message by message through
`RuleDetector.update` and the `AlertGate`, a fresh `ConversationState` per conversation,
as a watch worker would. Messages are built before timing, so the figure is detection only
(normalisation, cue scan, age parsing, scoring, alert check). Best of five passes.
A second figure runs the same conversations with every text four times as long (~150
characters), since the scan cost grows with the text and real chats are not all "lol".
Target (issue 6): >= 25,000 messages/s per core. The last line is one JSON object with
at least `messages_per_s`.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from childsafe.watch.catalog import rule_detector  # noqa: E402
from childsafe.watch.core.detector import DEFAULT_THRESHOLD, AlertGate  # noqa: E402
from childsafe.watch.core.evaluation import messages_of  # noqa: E402
from childsafe.watch.core.state import ConversationState, Message  # noqa: E402
from childsafe.watch.corpus import generate  # noqa: E402

TARGET = 25_000


def run(conversations: list[tuple[str, list[Message]]]) -> tuple[float, int]:
    """Best time of five passes over the conversations, and the alerts raised."""
    detector = rule_detector()
    gate = AlertGate(DEFAULT_THRESHOLD)
    best = float("inf")
    alerts = 0
    for _ in range(5):
        alerts = 0
        start = time.perf_counter()
        for conv_id, messages in conversations:
            state = ConversationState(conv_id)
            for message in messages:
                if gate.check(state, detector.update(state, message), message) is not None:
                    alerts += 1
        best = min(best, time.perf_counter() - start)
    return best, alerts


def main() -> dict[str, object]:
    conversations = [(item["id"], messages_of(item)) for item in generate(500, seed=0)]
    total = sum(len(m) for _, m in conversations)
    best, alerts = run(conversations)
    longer = [(cid, [replace(m, text=" ".join([m.text] * 4)) for m in msgs]) for cid, msgs in conversations]
    long_best, _ = run(longer)
    long_rate = total / long_best
    rate = total / best
    print(f"{total} messages in {len(conversations)} conversations: {best * 1000:.1f} ms, "
          f"{rate:,.0f} messages/s on one core (target {TARGET:,}), {alerts} alerts; "
          f"4x longer texts: {long_rate:,.0f} messages/s", flush=True)
    result = {"messages_per_s": round(rate), "messages_per_s_long_texts": round(long_rate),
              "messages": total, "conversations": len(conversations),
              "alerts": alerts, "target_messages_per_s": TARGET}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
