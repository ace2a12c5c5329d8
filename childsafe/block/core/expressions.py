"""Safe Browsing host-suffix x path-prefix expressions, and their keyed hashes.

A URL is looked up as at most 5 hosts x 6 paths = 30 expressions. Hosts: the exact host,
then up to 4 suffixes built from its last 5 labels (never the TLD alone; none for IPs).
Paths: path+query, path, then "/" and up to 3 directory prefixes with a trailing slash.
This is what makes `host/a/b/` cover everything below `/a/b/` and nothing else.
"""

from __future__ import annotations

import hashlib

from childsafe.block.core.canon import CanonicalURL, canonicalize

MAX_HOST_LABELS = 5
MAX_PATH_PREFIXES = 4  # "/" plus 3 directory levels
HOST_KEY_BYTES = 8


def is_ip_host(host: str) -> bool:
    if host.startswith("["):
        return True
    if not host[-1:].isdigit():
        return False
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() for p in parts)


def lookup_hosts(host: str) -> list[str]:
    """The exact host, then suffixes of its last five labels, longest first."""
    labels = host.split(".")
    n = len(labels)
    if n <= 2 or is_ip_host(host):
        return [host]
    return [host] + [".".join(labels[i:]) for i in range(max(1, n - MAX_HOST_LABELS), n - 1)]


def path_prefixes(path: str) -> list[str]:
    """The root "/" and up to three directory prefixes of `path`, shortest first."""
    dirs = path.split("/")[1:-1]
    out = ["/"]
    acc = "/"
    for d in dirs[: MAX_PATH_PREFIXES - 1]:
        acc = acc + d + "/"
        out.append(acc)
    return out


def lookup_paths(url: CanonicalURL) -> list[str]:
    """Prefixes first, then the exact path, then path+query (the Go client's order)."""
    out = path_prefixes(url.path)
    if url.path not in out:
        out.append(url.path)
    if url.query:
        out.append(f"{url.path}?{url.query}")
    return out


def lookup_path_list(url: CanonicalURL) -> list[str]:
    """Path+query, path, then the prefixes (the order of the reference clients)."""
    paths: list[str] = []
    if url.query:
        paths.append(f"{url.path}?{url.query}")
    paths.append(url.path)
    for p in path_prefixes(url.path):
        if p not in paths:
            paths.append(p)
    return paths


def expressions(url: CanonicalURL | bytes | str) -> list[str]:
    """All lookup expressions of a URL, at most 30, without duplicates."""
    if not isinstance(url, CanonicalURL):
        url = canonicalize(url)
    paths = lookup_path_list(url)
    return [h + p for h in lookup_hosts(url.host) for p in paths]


def expression_digest(key: bytes, expression: str) -> bytes:
    """SHA-256 of list key + expression. An empty key gives the plain Safe Browsing hash.

    The per-list key stops anyone from matching a published list against precomputed
    hashes of other lists; it is not a secret from filter nodes, which need it to look up.
    """
    return hashlib.sha256(key + expression.encode("ascii")).digest()


def host_key(key: bytes, host: str) -> bytes:
    """8-byte keyed hash of a host that has at least one entry (the fast pre-filter).

    The NUL separator keeps host keys apart from expression digests (canonical
    expressions never contain a raw NUL).
    """
    return hashlib.sha256(key + b"\x00" + host.encode("ascii")).digest()[:HOST_KEY_BYTES]
