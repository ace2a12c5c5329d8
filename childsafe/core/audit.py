"""The audit chain: each entry carries the SHA-256 of its content and of the entry before.

Editing any field of an entry changes its hash; deleting an entry breaks the sequence and the
`prev_hash` link of its successor. Verification names the first entry that does not fit.
Truncating the tail is only detectable against an anchor (a head hash kept elsewhere), which
`verify_chain` accepts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What happened, before it gets its place in the chain."""

    action: str
    outcome: Outcome = Outcome.SUCCESS
    actor: str = "system"
    agency: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class ChainedEntry:
    seq: int
    at: datetime
    event: AuditEvent
    prev_hash: str
    hash: str


def canonical_payload(seq: int, at: datetime, event: AuditEvent, prev_hash: str) -> bytes:
    """Bytes hashed for an entry: sorted-key JSON so any store reproduces them exactly."""
    at_utc = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    doc = {
        "seq": seq,
        "at": at_utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "action": event.action,
        "outcome": str(event.outcome),
        "actor": event.actor,
        "agency": event.agency,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "detail": dict(event.detail),
        "ip": event.ip,
        "prev": prev_hash,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      default=str).encode()


def entry_hash(seq: int, at: datetime, event: AuditEvent, prev_hash: str) -> str:
    return hashlib.sha256(canonical_payload(seq, at, event, prev_hash)).hexdigest()


def chain(seq: int, at: datetime, event: AuditEvent, prev_hash: str) -> ChainedEntry:
    return ChainedEntry(seq, at, event, prev_hash, entry_hash(seq, at, event, prev_hash))


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_broken_seq: int | None = None
    reason: str | None = None


def verify_chain(entries: Iterable[ChainedEntry], *,
                 anchor: tuple[int, str] | None = None) -> ChainReport:
    """Walk entries in seq order; stop at the first that is edited, missing or re-linked.

    `anchor` is a (seq, hash) pair recorded earlier; the chain must still contain it.
    """
    expected_prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    head_seq, head_hash = 0, GENESIS_HASH
    anchor_seen = anchor is None
    for entry in entries:
        if entry.seq != expected_seq:
            return ChainReport(False, checked, head_seq, head_hash, expected_seq,
                               f"entry {expected_seq} is missing (next present is {entry.seq})")
        if entry.prev_hash != expected_prev:
            return ChainReport(False, checked, head_seq, head_hash, entry.seq,
                               f"entry {entry.seq} does not link to entry {entry.seq - 1}")
        recomputed = entry_hash(entry.seq, entry.at, entry.event, entry.prev_hash)
        if recomputed != entry.hash:
            return ChainReport(False, checked, head_seq, head_hash, entry.seq,
                               f"entry {entry.seq} was altered after it was written")
        if anchor is not None and entry.seq == anchor[0]:
            if entry.hash != anchor[1]:
                return ChainReport(False, checked, head_seq, head_hash, entry.seq,
                                   f"entry {entry.seq} does not match the anchor")
            anchor_seen = True
        checked += 1
        head_seq, head_hash = entry.seq, entry.hash
        expected_prev = entry.hash
        expected_seq += 1
    if not anchor_seen and anchor is not None:
        return ChainReport(False, checked, head_seq, head_hash, head_seq + 1,
                           f"the chain ends at {head_seq}, before the anchor {anchor[0]}: "
                           "entries were deleted from the end")
    return ChainReport(True, checked, head_seq, head_hash)
