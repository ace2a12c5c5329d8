"""ISP side: bring the node's list up to the newest verified publication.

Order of trust: every file must carry the authority's Ed25519 signature; sequence numbers
only go forward; a delta must name the list we hold and leave us with exactly the signed
content hash. Deltas are tried first (small downloads); if one is missing or fails, the
whole snapshot is fetched instead. On any failure the last good list stays in force and
`SyncError` says why. Removals take effect like additions: at the next sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from childsafe.block.core.listfile import (
    ListDelta,
    ListError,
    ListSnapshot,
    apply_delta,
    decode_signed,
)
from childsafe.block.core.publish import delta_name, snapshot_name
from childsafe.block.sources import ListSource, SourceError, fetch_latest
from childsafe.block.state import StateDir, StateError

MAX_DELTA_CHAIN = 500


class SyncError(RuntimeError):
    """Sync failed; the previous list is still in force."""


@dataclass
class SyncResult:
    old_seq: int | None
    new_seq: int
    method: str  # "up-to-date", "deltas" or "snapshot"
    entries: int
    notes: list[str] = field(default_factory=list)


def _via_deltas(
    source: ListSource, current: ListSnapshot, latest: int, public_key: Ed25519PublicKey
) -> ListSnapshot:
    snap = current
    for seq in range(current.seq, latest):
        name = delta_name(seq, seq + 1)
        data = source.fetch(name)
        if data is None:
            raise ListError(f"{name} is missing")
        delta = decode_signed(data, public_key)
        if not isinstance(delta, ListDelta) or (delta.base_seq, delta.seq) != (seq, seq + 1):
            raise ListError(f"{name} is not the delta its name says")
        snap = apply_delta(snap, delta)
    return snap


def _via_snapshot(source: ListSource, latest: int, public_key: Ed25519PublicKey) -> ListSnapshot:
    name = snapshot_name(latest)
    data = source.fetch(name)
    if data is None:
        raise SyncError(f"{name} is missing at the source")
    try:
        snap = decode_signed(data, public_key)
    except ListError as exc:
        raise SyncError(f"{name} rejected: {exc}") from exc
    if not isinstance(snap, ListSnapshot) or snap.seq != latest:
        raise SyncError(f"{name} is not the snapshot its name says")
    return snap


def sync(source: ListSource, state: StateDir, public_key: Ed25519PublicKey) -> SyncResult:
    """Fetch, verify and install the newest list; raises `SyncError`, keeping the old list."""
    notes: list[str] = []
    try:
        current = state.current()
    except StateError as exc:
        notes.append(f"current list unusable ({exc}); fetching a full snapshot")
        current = None
    try:
        latest = fetch_latest(source)
    except SourceError as exc:
        raise SyncError(str(exc)) from exc
    old_seq = current.seq if current else None
    if current is not None:
        if latest == current.seq:
            return SyncResult(old_seq, latest, "up-to-date", len(current), notes)
        if latest < current.seq:
            raise SyncError(
                f"source offers list {latest} but list {current.seq} is already installed; "
                "refusing to go back (stale mirror or replay)"
            )
    new: ListSnapshot | None = None
    method = "snapshot"
    if current is not None and latest - current.seq <= MAX_DELTA_CHAIN:
        try:
            new = _via_deltas(source, current, latest, public_key)
            method = "deltas"
        except (ListError, SourceError) as exc:
            notes.append(f"deltas not usable ({exc}); falling back to snapshot {latest}")
    if new is None:
        try:
            new = _via_snapshot(source, latest, public_key)
        except SourceError as exc:
            raise SyncError(str(exc)) from exc
        if current is not None and new.list_key != current.list_key:
            notes.append("the authority rotated the list key")
    try:
        state.install(new)
    except OSError as exc:
        raise SyncError(f"cannot write the state directory: {exc}") from exc
    return SyncResult(old_seq, new.seq, method, len(new), notes)
