"""Publication: entries -> the next signed snapshot and the delta from the previous one.

A plain function over values, so the file CLI and a database-backed list console can both
call it. Publication layout (a directory or any static HTTP server)::

    LATEST                          the newest sequence number, as ASCII digits
    snapshot-0000000042.csbl        the whole list at 42
    delta-0000000041-0000000042.csbl

`LATEST` is not signed: it only says what to fetch. Every file it leads to is signed and
carries its own sequence number, and nodes refuse to go backwards, so a forged pointer can
at worst delay an update.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from childsafe.block.core.entries import Entry
from childsafe.block.core.listfile import (
    ListDelta,
    ListSnapshot,
    build_snapshot,
    compute_delta,
    encode_signed,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

LATEST = "LATEST"


def snapshot_name(seq: int) -> str:
    return f"snapshot-{seq:010d}.csbl"


def delta_name(base_seq: int, seq: int) -> str:
    return f"delta-{base_seq:010d}-{seq:010d}.csbl"


@dataclass(frozen=True, slots=True)
class Publication:
    """What to write: file name -> bytes, `LATEST` last."""

    snapshot: ListSnapshot
    delta: ListDelta | None
    files: dict[str, bytes]


def plan_publication(
    entries: Iterable[Entry],
    previous: ListSnapshot | None,
    signing_key: Ed25519PrivateKey,
    *,
    created: int,
    new_list_key: bytes,
) -> Publication:
    """Build snapshot N (= previous + 1, or 1) and, if there is a previous one, delta N-1 -> N.

    `new_list_key` is used only for the first publication; later ones keep the key so
    deltas stay possible.
    """
    seq = previous.seq + 1 if previous else 1
    key = previous.list_key if previous else new_list_key
    snap = build_snapshot(entries, seq=seq, list_key=key, created=created)
    files = {snapshot_name(seq): encode_signed(snap, signing_key)}
    delta = None
    if previous is not None:
        delta = compute_delta(previous, snap)
        files[delta_name(previous.seq, seq)] = encode_signed(delta, signing_key)
    files[LATEST] = f"{seq}\n".encode("ascii")
    return Publication(snapshot=snap, delta=delta, files=files)
