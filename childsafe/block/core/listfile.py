"""Signed list snapshots and deltas: the only thing that travels from authority to ISP.

File format (binary, little-endian; one format for all three kinds)::

    header  "CSBL" u8 version=1, u8 kind (1 snapshot, 2 delta, 3 local state), 2 pad,
            u64 seq, u64 base_seq (deltas; else 0), u64 created (unix seconds),
            16s list_key, 32s content_hash, u32 x4 record counts:
            hosts added, hosts removed, digests added, digests removed
    body    host keys (8 bytes each) added, removed; digests (32 bytes each) added, removed;
            every group sorted ascending, no duplicates (a snapshot only "adds")
    trailer 64-byte Ed25519 signature over b"childsafe-block-list-v1\\0" + header + body
            (all zero in local state files, which are checked by content hash instead)

`content_hash` is SHA-256 over the *resulting* list (key, host keys, digests). A node that
applies a delta recomputes it, so a delta can never leave it with a list the authority did
not sign. No plaintext URL is ever in a file: only keyed hashes (see `expressions`).
"""

from __future__ import annotations

import enum
import hashlib
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from childsafe.block.core.entries import Entry
from childsafe.block.core.expressions import HOST_KEY_BYTES, expression_digest, host_key

MAGIC = b"CSBL"
VERSION = 1
DIGEST_BYTES = 32
LIST_KEY_BYTES = 16
SIG_BYTES = 64
SIGN_CONTEXT = b"childsafe-block-list-v1\x00"
if TYPE_CHECKING:  # the Squid helper runs on the stdlib alone: cryptography is imported lazily
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

_HEADER = struct.Struct("<4sBB2xQQQ16s32sIIII")


class Kind(enum.IntEnum):
    SNAPSHOT = 1
    DELTA = 2
    LOCAL = 3


class ListError(ValueError):
    """A list file is malformed, forged, out of sequence or does not apply."""


def _blob(records: Iterable[bytes]) -> bytes:
    return b"".join(sorted(set(records)))


def records(blob: bytes, size: int) -> list[bytes]:
    """Split a blob of fixed-size records."""
    return [blob[i : i + size] for i in range(0, len(blob), size)]


def content_hash(list_key: bytes, host_keys: bytes, digests: bytes) -> bytes:
    h = hashlib.sha256(b"childsafe-block-content-v1\x00")
    for part in (list_key, struct.pack("<QQ", len(host_keys), len(digests)), host_keys, digests):
        h.update(part)
    return h.digest()


@dataclass(frozen=True, slots=True)
class ListSnapshot:
    """A whole list at one sequence number. Blobs are sorted fixed-size records."""

    seq: int
    created: int
    list_key: bytes
    host_keys: bytes
    digests: bytes

    def __len__(self) -> int:
        return len(self.digests) // DIGEST_BYTES

    @property
    def content_hash(self) -> bytes:
        return content_hash(self.list_key, self.host_keys, self.digests)


@dataclass(frozen=True, slots=True)
class ListDelta:
    """The change from `base_seq` to `seq`; `content_hash` is the hash of the result."""

    base_seq: int
    seq: int
    created: int
    list_key: bytes
    content_hash: bytes
    add_hosts: bytes
    del_hosts: bytes
    add_digests: bytes
    del_digests: bytes


def snapshot_from_expressions(
    expressions: Iterable[str], hosts: Iterable[str], *, seq: int, list_key: bytes, created: int
) -> ListSnapshot:
    """Hash already-canonical expressions and their hosts into a snapshot."""
    if len(list_key) != LIST_KEY_BYTES:
        raise ListError(f"list key must be {LIST_KEY_BYTES} bytes")
    return ListSnapshot(
        seq=seq,
        created=created,
        list_key=list_key,
        host_keys=_blob(host_key(list_key, h) for h in hosts),
        digests=_blob(expression_digest(list_key, e) for e in expressions),
    )


def build_snapshot(entries: Iterable[Entry], *, seq: int, list_key: bytes, created: int) -> ListSnapshot:
    """The snapshot publishing `entries` (each scope's expressions, see `entries`)."""
    entries = list(entries)
    return snapshot_from_expressions(
        (x for e in entries for x in e.published_expressions()),
        (e.host for e in entries),
        seq=seq,
        list_key=list_key,
        created=created,
    )


def compute_delta(old: ListSnapshot, new: ListSnapshot) -> ListDelta:
    """The delta taking `old` to `new`; both must share the list key."""
    if old.list_key != new.list_key:
        raise ListError("list key changed: publish a snapshot only, a delta cannot carry it")
    if new.seq <= old.seq:
        raise ListError(f"delta must go forward ({old.seq} -> {new.seq})")
    oh, nh = set(records(old.host_keys, HOST_KEY_BYTES)), set(records(new.host_keys, HOST_KEY_BYTES))
    od, nd = set(records(old.digests, DIGEST_BYTES)), set(records(new.digests, DIGEST_BYTES))
    return ListDelta(
        base_seq=old.seq,
        seq=new.seq,
        created=new.created,
        list_key=new.list_key,
        content_hash=new.content_hash,
        add_hosts=_blob(nh - oh),
        del_hosts=_blob(oh - nh),
        add_digests=_blob(nd - od),
        del_digests=_blob(od - nd),
    )


def _apply(blob: bytes, size: int, add: bytes, remove: bytes) -> bytes:
    current = records(blob, size)
    gone = set(records(remove, size))
    new = records(add, size)
    kept = [r for r in current if r not in gone] if gone else current
    if len(kept) != len(current) - len(gone):
        raise ListError("delta removes records that are not in the list")
    if new and not set(new).isdisjoint(kept):
        raise ListError("delta adds records that are already in the list")
    return b"".join(sorted(kept + new)) if new else b"".join(kept)


def apply_delta(snapshot: ListSnapshot, delta: ListDelta) -> ListSnapshot:
    """Apply a verified delta; raises `ListError` unless the result is exactly what was signed."""
    if delta.base_seq != snapshot.seq:
        raise ListError(f"delta {delta.base_seq}->{delta.seq} does not apply to list {snapshot.seq}")
    if delta.list_key != snapshot.list_key:
        raise ListError("delta is for a different list key")
    result = ListSnapshot(
        seq=delta.seq,
        created=delta.created,
        list_key=snapshot.list_key,
        host_keys=_apply(snapshot.host_keys, HOST_KEY_BYTES, delta.add_hosts, delta.del_hosts),
        digests=_apply(snapshot.digests, DIGEST_BYTES, delta.add_digests, delta.del_digests),
    )
    if result.content_hash != delta.content_hash:
        raise ListError("list after the delta does not match the signed content hash")
    return result


def _pack(kind: Kind, obj: ListSnapshot | ListDelta) -> bytes:
    if isinstance(obj, ListSnapshot):
        groups = (obj.host_keys, b"", obj.digests, b"")
        base, chash = 0, obj.content_hash
    else:
        groups = (obj.add_hosts, obj.del_hosts, obj.add_digests, obj.del_digests)
        base, chash = obj.base_seq, obj.content_hash
    sizes = (HOST_KEY_BYTES, HOST_KEY_BYTES, DIGEST_BYTES, DIGEST_BYTES)
    counts = [len(g) // s for g, s in zip(groups, sizes, strict=True)]
    header = _HEADER.pack(MAGIC, VERSION, kind, obj.seq, base, obj.created, obj.list_key, chash, *counts)
    return header + b"".join(groups)


def encode_signed(obj: ListSnapshot | ListDelta, key: Ed25519PrivateKey) -> bytes:
    """Serialize and sign a snapshot or a delta."""
    kind = Kind.SNAPSHOT if isinstance(obj, ListSnapshot) else Kind.DELTA
    payload = _pack(kind, obj)
    return payload + key.sign(SIGN_CONTEXT + payload)


def encode_local(snapshot: ListSnapshot) -> bytes:
    """Serialize a node's current list (unsigned; integrity by content hash)."""
    return _pack(Kind.LOCAL, snapshot) + bytes(SIG_BYTES)


def _parse_header(data: bytes) -> tuple[Kind, tuple, tuple[int, ...]]:
    fields = _HEADER.unpack_from(data)
    magic, version, kind = fields[0], fields[1], fields[2]
    if magic != MAGIC:
        raise ListError("not a childsafe list file (bad magic)")
    if version != VERSION:
        raise ListError(f"unsupported list format version {version}")
    try:
        kind = Kind(kind)
    except ValueError:
        raise ListError(f"unknown list kind {kind}") from None
    sizes = (HOST_KEY_BYTES, HOST_KEY_BYTES, DIGEST_BYTES, DIGEST_BYTES)
    return kind, fields, tuple(c * s for c, s in zip(fields[8:12], sizes, strict=True))


def _unpack(data: bytes) -> tuple[Kind, tuple, list[bytes], memoryview, bytes]:
    if len(data) < _HEADER.size + SIG_BYTES:
        raise ListError("file too short to be a list")
    kind, fields, lengths = _parse_header(data)
    if len(data) != _HEADER.size + sum(lengths) + SIG_BYTES:
        raise ListError("list file length does not match its header (truncated?)")
    groups, pos = [], _HEADER.size
    for n in lengths:
        groups.append(data[pos : pos + n])
        pos += n
    return kind, fields, groups, memoryview(data)[:pos], data[pos:]


def _to_object(kind: Kind, fields: tuple, groups: list[bytes]) -> ListSnapshot | ListDelta:
    _, _, _, seq, base, created, list_key, chash, *_ = fields
    if kind is Kind.DELTA:
        return ListDelta(base, seq, created, list_key, chash, *groups)
    if groups[1] or groups[3]:
        raise ListError("a snapshot cannot remove records")
    snap = ListSnapshot(seq, created, list_key, groups[0], groups[2])
    if snap.content_hash != chash:
        raise ListError("snapshot content does not match its content hash")
    return snap


def decode_signed(data: bytes, public_key: Ed25519PublicKey) -> ListSnapshot | ListDelta:
    """Parse and verify a published file; raises `ListError` if anything is off."""
    from cryptography.exceptions import InvalidSignature

    kind, fields, groups, payload, sig = _unpack(data)
    if kind is Kind.LOCAL:
        raise ListError("a local state file is not a publication")
    try:
        public_key.verify(sig, SIGN_CONTEXT + payload)
    except InvalidSignature:
        raise ListError("bad signature: not signed by the list authority's key") from None
    return _to_object(kind, fields, groups)


def decode_local(data: bytes) -> ListSnapshot:
    """Parse a node's state file, checking it against its content hash."""
    return decode_local_stream(_Reader(data).read)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._view, self._pos = memoryview(data), 0

    def read(self, n: int) -> bytes:
        out = bytes(self._view[self._pos : self._pos + n])
        self._pos += len(out)
        return out


def decode_local_stream(read: Callable[[int], bytes]) -> ListSnapshot:
    """`decode_local` reading group by group from `read(n)` (e.g. an open file's `read`),
    so a large list never sits in memory twice."""
    head = read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise ListError("file too short to be a list")
    kind, fields, lengths = _parse_header(head)
    if kind is not Kind.LOCAL:
        raise ListError("not a local state file")
    groups = []
    for n in lengths:
        part = read(n)
        if len(part) != n:
            raise ListError("list file is shorter than its header says (truncated?)")
        groups.append(part)
    if len(read(SIG_BYTES)) != SIG_BYTES or read(1):
        raise ListError("list file length does not match its header")
    snap = _to_object(kind, fields, groups)
    assert isinstance(snap, ListSnapshot)
    return snap
