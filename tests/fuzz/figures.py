"""Figures the hostile-input suites measure, for docs/RELIABILITY.md (not collected).

Each suite adds what it saw; with CHILDSAFE_FUZZ_REPORT=path set, the run writes them there
as JSON at the end (`tests/fuzz/conftest.py`).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from typing import Any

# A longer, randomized hunt (e.g. nightly): CHILDSAFE_FUZZ_SCALE=20 CHILDSAFE_FUZZ_RANDOM=1.
SCALE = max(1, int(os.environ.get("CHILDSAFE_FUZZ_SCALE", "1")))
DERANDOMIZE = os.environ.get("CHILDSAFE_FUZZ_RANDOM", "") != "1"


def examples(n: int) -> int:
    """`n` examples, times the scale."""
    return n * SCALE

# "api": operation label -> status code -> responses; "xss": page -> payloads rendered; ...
FIGURES: dict[str, Any] = {"api": defaultdict(Counter), "properties": Counter(),
                           "xss": {}}


def as_json() -> dict[str, Any]:
    api = {label: dict(sorted(codes.items())) for label, codes in sorted(FIGURES["api"].items())}
    calls = sum(sum(codes.values()) for codes in api.values())
    server_errors = sum(n for codes in api.values() for code, n in codes.items() if code >= 500)
    return {"api": {"operations": api, "calls": calls, "server_errors": server_errors},
            "properties": dict(sorted(FIGURES["properties"].items())),
            "xss": dict(sorted(FIGURES["xss"].items()))}
