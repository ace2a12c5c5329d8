"""The matcher every engine shares: "is this URL listed?" over a hashed list.

Memory: host keys and digest prefixes live in sorted `array('Q')`s searched with bisect, and
the full digests in one bytes blob, so a 1,000,000-entry list costs ~50 MB, not the ~200 MB
a set of bytes objects would.

Speed: almost all traffic goes to hosts without any entry. The canonical host of a URL
depends only on its authority text (everything between `scheme://` and the first `/`, `?`
or `#`), so the host verdict is cached per raw authority and an unlisted host costs one
`split` and one dict lookup. Only URLs on hosts that own an entry are canonicalized in full
and their (<= 30) expressions hashed; a match is always confirmed on the full 32-byte
SHA-256 digest, never on a prefix alone.

A `Matcher` is immutable apart from its caches; a new list means a new `Matcher`, swapped in
with one reference assignment, so no request ever sees half a list.
"""

from __future__ import annotations

import enum
import sys
from array import array
from bisect import bisect_left

from childsafe.block.core.canon import CanonicalURL, InvalidURL, canonicalize, host_from_authority
from childsafe.block.core.expressions import (
    expression_digest,
    host_key,
    lookup_hosts,
    lookup_path_list,
)
from childsafe.block.core.listfile import DIGEST_BYTES, ListError, ListSnapshot

HOST_CACHE_SIZE = 1 << 17
URL_CACHE_SIZE = 1 << 16
_FAST_SCHEMES = (b"http://", b"https://")


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
        self.host_cache: dict[bytes, tuple[str, ...]] = {}
        self._url_cache: dict[bytes, bool] = {}
        self._suffix_cache: dict[str, bool] = {}

    @classmethod
    def empty(cls) -> Matcher:
        return cls(ListSnapshot(seq=0, created=0, list_key=bytes(16), host_keys=b"", digests=b""))

    def _has_host_key(self, key: bytes) -> bool:
        v = int.from_bytes(key, "big")
        hosts = self._hosts
        i = bisect_left(hosts, v)
        return i < len(hosts) and hosts[i] == v

    def has_digest(self, digest: bytes) -> bool:
        """Full-digest membership (prefix bisect, then 32-byte comparison)."""
        v = int.from_bytes(digest[:8], "big")
        prefixes = self._prefixes
        i = bisect_left(prefixes, v)
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

    def _authority_verdict(self, authority: bytes) -> tuple[str, ...]:
        try:
            verdict = self.listed_hosts(host_from_authority(authority))
        except InvalidURL:
            verdict = ()
        if len(self.host_cache) >= HOST_CACHE_SIZE:
            self.host_cache.clear()
        self.host_cache[authority] = verdict
        return verdict

    def listed(self, url: bytes) -> bool:
        """True if the raw URL is listed. Never raises on any input.

        Callers on a hot path may first test `host_cache.get(authority) == ()` themselves
        (see the Squid helper): an empty tuple means "this host has no entries".
        """
        hosts = None
        if url.startswith(_FAST_SCHEMES) and url[-1] > 32:
            start = 7 if url[4] == 0x3A else 8  # "http:" or "https:"
            end = url.find(b"/", start)
            authority = url[start:end] if end > 0 else url[start:]
            hosts = self.host_cache.get(authority)
            if hosts is None:
                hosts = self._authority_verdict(authority)
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
