"""Duplicate detection: the same evidence about the same suspect within 24 h is one case.

Keys carry no time: the store looks a key up among cases created in the last
`DEDUP_WINDOW` and links the new report instead of opening a case. Keys are hashes, so the
index reveals neither evidence nor suspect names.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

DEDUP_WINDOW = timedelta(hours=24)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class SuspectRef:
    """A reported account: the provider-side user id (or the typed username) on a platform."""

    platform: str
    identifier: str


def normalize_identifier(value: str) -> str:
    """Usernames compare loosely (case, width, a leading '@'), so "@Sam_99" == "sam_99"."""
    return unicodedata.normalize("NFKC", value).strip().lstrip("@").strip().casefold()


def dedup_keys(evidence_sha256: Iterable[str], suspects: Iterable[SuspectRef]) -> frozenset[str]:
    """One key per (evidence hash, suspect) pair; empty when either side is unknown.

    Raises ValueError for something that is not a SHA-256 hex digest (a caller bug).
    """
    hashes = {h.lower() for h in evidence_sha256}
    for h in hashes:
        if not _SHA256.match(h):
            raise ValueError(f"not a SHA-256 hex digest: {h!r}")
    people = {(normalize_identifier(s.platform), normalize_identifier(s.identifier))
              for s in suspects}
    people = {p for p in people if p[1]}
    return frozenset(
        hashlib.sha256(f"dedup/v1\x00{h}\x00{platform}\x00{who}".encode()).hexdigest()
        for h in hashes for platform, who in people)


def within_window(first_seen: datetime, now: datetime) -> bool:
    return timedelta(0) <= now - first_seen <= DEDUP_WINDOW
