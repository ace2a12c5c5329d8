"""Detection benchmark: messages/s through rules, learned and combined detectors on one core.

Feeds the generated corpus (all four kinds, seed 0) message by message through each
detector's `update` and the `AlertGate` at that detector's default threshold, a fresh
`ConversationState` per conversation, as a watch worker would. Messages are built before
timing, so the figure is detection only. Best of five passes per detector. A second figure
runs the same conversations with every text four times as long (~150 characters).
The learned model is the packaged artifact, applied in plain Python (no scikit-learn call).
Target (issue 6): >= 25,000 messages/s per core with the learned model on, i.e. for
`combined`, the recommended detector. The last line is one JSON object with at least
`messages_per_s` (combined) and the figures of every detector.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from childsafe.watch.catalog import default_threshold, detector, load_model  # noqa: E402
from childsafe.watch.core.detector import AlertGate  # noqa: E402
from childsafe.watch.core.evaluation import messages_of  # noqa: E402
from childsafe.watch.core.state import ConversationState, Message  # noqa: E402
from childsafe.watch.corpus import generate  # noqa: E402

TARGET = 25_000
DETECTORS = ("rules", "learned", "combined")


def run(name: str, conversations: list[tuple[str, list[Message]]]) -> tuple[float, int]:
    """Best time of five passes over the conversations, and the alerts raised."""
    chosen = detector(name)
    gate = AlertGate(default_threshold(name), name)
    best = float("inf")
    alerts = 0
    for _ in range(5):
        alerts = 0
        start = time.perf_counter()
        for conv_id, messages in conversations:
            state = ConversationState(conv_id)
            for message in messages:
                if gate.check(state, chosen.update(state, message), message) is not None:
                    alerts += 1
        best = min(best, time.perf_counter() - start)
    return best, alerts


def main() -> dict[str, object]:
    conversations = [(item["id"], messages_of(item)) for item in generate(500, seed=0)]
    longer = [(cid, [replace(m, text=" ".join([m.text] * 4)) for m in msgs]) for cid, msgs in conversations]
    total = sum(len(m) for _, m in conversations)
    figures: dict[str, dict[str, object]] = {}
    for name in DETECTORS:
        best, alerts = run(name, conversations)
        long_best, _ = run(name, longer)
        rate, long_rate = total / best, total / long_best
        figures[name] = {"messages_per_s": round(rate), "messages_per_s_long_texts": round(long_rate),
                         "alerts": alerts, "threshold": default_threshold(name)}
        print(f"{name:>8}: {rate:,.0f} messages/s on one core, 4x longer texts {long_rate:,.0f}/s, "
              f"{alerts} alerts at threshold {default_threshold(name):g}", flush=True)
    combined = figures["combined"]
    verdict = "meets" if int(str(combined["messages_per_s"])) >= TARGET else "MISSES"
    print(f"{total} messages in {len(conversations)} conversations; combined (model "
          f"{load_model().name}) {verdict} the target of {TARGET:,} messages/s", flush=True)
    result = {"messages_per_s": combined["messages_per_s"],
              "messages_per_s_long_texts": combined["messages_per_s_long_texts"],
              "detector": "combined", "detectors": figures, "messages": total,
              "conversations": len(conversations), "target_messages_per_s": TARGET}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
