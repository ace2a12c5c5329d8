"""The matcher every engine shares: "is this URL listed?" over a hashed list.

Memory: host keys and digest prefixes live in sorted `array('Q')`s searched with bisect, and
the full digests in one bytes blob, so a 1,000,000-entry list costs ~50 MB, not the ~200 MB
a set of bytes objects would.

Speed: almost all traffic goes to hosts without any entry. The canonical host of a URL
depends only on its authority text (everything between `scheme://` and the first `/`), so
the host verdict is cached per raw *origin* (`http://` or `https://` plus that text) in
`host_cache`, a dict that computes a missing verdict itself (`__missing__`): an unlisted host
costs one slice and one dict lookup, and a caller can look up many origins in one
`map(host_cache.__getitem__, origins)` without a Python-level loop. A new host costs one
keyed hash and a bisect over a few records (`_bucket_index`). Only URLs on hosts that own an
entry are canonicalized in full and their (<= 30) expressions hashed; a match is always
confirmed on the full 32-byte SHA-256 digest, never on a prefix alone.

A `Matcher` is immutable apart from its caches; a new list means a new `Matcher`, swapped in
with one reference assignment, so no request ever sees half a list.
"""

from __future__ import annotations

import enum
import re
import sys
from array import array
from bisect import bisect_left

from childsafe.block.core.canon import CanonicalURL, InvalidURL, canonicalize, host_from_authority
from childsafe.block.core.expressions import (
    HOST_KEY_BYTES,
    expression_digest,
    host_key,
    lookup_hosts,
    lookup_path_list,
)
from childsafe.block.core.listfile import DIGEST_BYTES, ListError, ListSnapshot

HOST_CACHE_SIZE = 1 << 17
URL_CACHE_SIZE = 1 << 16
_FAST_SCHEMES = (b"http://", b"https://")
# `http(s)://a.b.c` whose host `canonicalize` leaves unchanged: three lowercase
# letter-digit-hyphen labels, no port, and a last letter that no IPv4 spelling contains (not a
# hex digit, not the `x` of `0x`). Groups: the host `a.b.c` and its parent `b.c`. Possessive
# repeats: linear time on any input.
_PLAIN_ORIGIN = re.compile(rb"https?://([a-z0-9-]++\.([a-z0-9-]++\.[a-z0-9-]*+(?<=[g-wyz])))").fullmatch

try:  # CPython's own SHA-256 costs less than OpenSSL's EVP set-up for 30-byte inputs
    from _sha256 import sha256 as _sha256
except ImportError:  # pragma: no cover - other interpreters, Python >= 3.12 (`_sha2`)
    try:
        from _sha2 import sha256 as _sha256
    except ImportError:
        from hashlib import sha256 as _sha256


class Decision(enum.StrEnum):
    LISTED = "listed"
    UNLISTED = "unlisted"
    INVALID = "invalid"


def _sorted_u64(blob: bytes, stride: int) -> array:
    """Big-endian u64 of the first 8 bytes of each `stride`-byte record, so numeric order is
    byte order (the blobs are sorted by bytes)."""
    view = memoryview(blob).cast("Q")
    out = array("Q", view[:: stride // 8]) if blob else array("Q")
    if sys.byteorder == "little":
        out.byteswap()
    return out


def _bucket_index(keys: array) -> tuple[int, array]:
    """(shift, starts): the records whose key has the top bits `b` are
    `keys[starts[b]:starts[b + 1]]`, about two per bucket (at most 2**16 buckets), so a
    lookup bisects a handful of records instead of the whole array."""
    bits = max(0, min(16, len(keys).bit_length() - 2))
    shift = 64 - bits
    starts = array("I", (bisect_left(keys, b << shift) for b in range(1 << bits)))
    starts.append(len(keys))
    return shift, starts


UNDECIDED: tuple[str, ...] = ("",)
"""`host_cache[None]`: a truthy verdict for "no origin could be read, decide the URL in full"."""


class HostVerdicts(dict[bytes | None, tuple[str, ...]]):
    """Origin (`http://` or `https://` + raw authority) -> its lookup hosts that own an entry.

    `()` means "no entry can match any URL of this origin"; the key None gives `UNDECIDED`.
    A miss computes and stores the verdict; the cache is emptied when it reaches
    `HOST_CACHE_SIZE` (bounded memory). The cold path of almost all traffic (a host not seen
    before, with no entry) is inlined here: an authority `a.b.c` already in canonical form
    (lowercase letter-digit-hyphen labels, single dots, no port, last letter one that no IPv4
    spelling contains, so `canonicalize` returns it unchanged; a test checks this) has the
    lookup hosts `a.b.c` and `b.c`, and costs one keyed hash (`b.c` is cached) and a bisect
    over a few records. Everything else takes the general path (`Matcher._origin_verdict`).
    """

    __slots__ = ("_general", "_parents", "_salt", "_keys", "_shift", "_starts")

    def __init__(self, matcher: Matcher) -> None:
        super().__init__()
        self._general = matcher._origin_verdict
        self._parents: dict[bytes, bool] = {}
        self._salt = matcher._key + b"\x00"  # expressions.host_key, inlined
        self._keys = matcher._hosts
        self._shift = matcher._host_shift
        self._starts = matcher._host_starts

    def _listed(self, host: bytes) -> bool:
        v = int.from_bytes(_sha256(self._salt + host).digest()[:HOST_KEY_BYTES], "big")
        b = v >> self._shift
        lo, hi = self._starts[b], self._starts[b + 1]
        if lo == hi:
            return False
        i = bisect_left(self._keys, v, lo, hi)
        return i < hi and self._keys[i] == v

    def __missing__(self, origin: bytes | None) -> tuple[str, ...]:
        if origin is None:
            return UNDECIDED
        m = _PLAIN_ORIGIN(origin)
        if m is None:
            if origin.startswith(b"http://"):
                verdict = self._general(origin[7:])
            elif origin.startswith(b"https://"):
                verdict = self._general(origin[8:])
            else:
                raise KeyError(origin)
        else:
            host, parent = m.group(1, 2)
            up = self._parents.get(parent)
            if up is None:
                if len(self._parents) >= HOST_CACHE_SIZE:
                    self._parents.clear()
                up = self._parents[parent] = self._listed(parent)
            # `_listed(host)`, inlined: one keyed hash and a bisect over a few records.
            v = int.from_bytes(_sha256(self._salt + host).digest()[:HOST_KEY_BYTES], "big")
            b = v >> self._shift
            lo, hi = self._starts[b], self._starts[b + 1]
            own = lo < hi and self._keys[min(bisect_left(self._keys, v, lo, hi), hi - 1)] == v
            if own:
                verdict = (host.decode(), parent.decode()) if up else (host.decode(),)
            else:
                verdict = (parent.decode(),) if up else ()
        if len(self) >= HOST_CACHE_SIZE:
            self.clear()
        self[origin] = verdict
        return verdict


class Matcher:
    """Decisions for one list version. `listed()` is the hot path for raw request URLs."""

    def __init__(self, snapshot: ListSnapshot) -> None:
        self.seq = snapshot.seq
        self.size = len(snapshot)
        self._key = snapshot.list_key
        self._hosts = _sorted_u64(snapshot.host_keys, 8)
        self._prefixes = _sorted_u64(snapshot.digests, DIGEST_BYTES)
        self._digests = snapshot.digests
        for arr in (self._hosts, self._prefixes):
            if any(a > b for a, b in zip(arr, arr[1:], strict=False)):
                raise ListError("list records are not sorted")
        self._host_shift, self._host_starts = _bucket_index(self._hosts)
        self._prefix_shift, self._prefix_starts = _bucket_index(self._prefixes)
        self.host_cache = HostVerdicts(self)
        self._url_cache: dict[bytes, bool] = {}
        self._suffix_cache: dict[str, bool] = {}

    @classmethod
    def empty(cls) -> Matcher:
        return cls(ListSnapshot(seq=0, created=0, list_key=bytes(16), host_keys=b"", digests=b""))

    def _has_host_key(self, key: bytes) -> bool:
        v = int.from_bytes(key, "big")
        b = v >> self._host_shift
        hi = self._host_starts[b + 1]
        hosts = self._hosts
        i = bisect_left(hosts, v, self._host_starts[b], hi)
        return i < hi and hosts[i] == v

    def has_digest(self, digest: bytes) -> bool:
        """Full-digest membership (prefix bisect, then 32-byte comparison)."""
        v = int.from_bytes(digest[:8], "big")
        b = v >> self._prefix_shift
        prefixes = self._prefixes
        i = bisect_left(prefixes, v, self._prefix_starts[b], self._prefix_starts[b + 1])
        n = len(prefixes)
        while i < n and prefixes[i] == v:
            if self._digests[i * DIGEST_BYTES : (i + 1) * DIGEST_BYTES] == digest:
                return True
            i += 1
        return False

    def _host_listed(self, host: str) -> bool:
        known = self._suffix_cache.get(host)
        if known is None:
            known = self._has_host_key(host_key(self._key, host))
            if len(self._suffix_cache) >= HOST_CACHE_SIZE:
                self._suffix_cache.clear()
            self._suffix_cache[host] = known
        return known

    def listed_hosts(self, host: str) -> tuple[str, ...]:
        """The lookup hosts of a canonical host that own at least one entry."""
        return tuple(h for h in lookup_hosts(host) if self._host_listed(h))

    def _origin_verdict(self, authority: bytes) -> tuple[str, ...]:
        """`listed_hosts` of the host of the raw authority of a URL (general path)."""
        try:
            host = host_from_authority(authority)
        except InvalidURL:
            return ()
        return self.listed_hosts(host)

    def listed(self, url: bytes) -> bool:
        """True if the raw URL is listed. Never raises on any input.

        Callers on a hot path may look up `host_cache[origin]` themselves, many at a time
        (see the Squid helper): `()` means "no URL of this origin is listed".
        """
        hosts = None
        if url.startswith(_FAST_SCHEMES) and url[-1] > 32:
            end = url.find(b"/", 7 if url[4] == 0x3A else 8)  # "http:" or "https:"
            hosts = self.host_cache[url[:end] if end > 0 else url]
            if not hosts:
                return False
        cached = self._url_cache.get(url)
        if cached is not None:
            return cached
        try:
            result = self.decide_canonical(canonicalize(url), hosts) is Decision.LISTED
        except InvalidURL:
            result = False
        if len(self._url_cache) >= URL_CACHE_SIZE:
            self._url_cache.clear()
        self._url_cache[url] = result
        return result

    def decide_canonical(self, url: CanonicalURL, hosts: tuple[str, ...] | None = None) -> Decision:
        """Decision for a canonical URL; `hosts` = its `listed_hosts` if already known."""
        if hosts is None:
            hosts = self.listed_hosts(url.host)
        if not hosts:
            return Decision.UNLISTED
        key = self._key
        paths = lookup_path_list(url)
        for h in hosts:
            for p in paths:
                if self.has_digest(expression_digest(key, h + p)):
                    return Decision.LISTED
        return Decision.UNLISTED

    def decide(self, url: bytes | str) -> Decision:
        """Full decision without caches; INVALID for input with no valid host."""
        try:
            canon = canonicalize(url)
        except InvalidURL:
            return Decision.INVALID
        return self.decide_canonical(canon)
