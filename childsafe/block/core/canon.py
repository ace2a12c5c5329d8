"""URL canonicalization following the Google Safe Browsing v4 rules.

The list authority and every filter node must agree byte for byte on what a URL *is*,
otherwise an entry silently stops matching (the Cleanfeed failures: encoded hosts, odd IP
forms, `/./`, trailing dots...). So both sides run this one function.

Works on bytes: URLs reach a filter as bytes (Squid), may hold invalid UTF-8 and must never
crash anything. Hostile input is bounded by `MAX_URL_BYTES`; longer input is rejected with
`InvalidURL` rather than processed slowly.
"""

from __future__ import annotations

import encodings.idna
import re
from dataclasses import dataclass

MAX_URL_BYTES = 64 * 1024
_MAX_FAST_PASSES = 8

_ESCAPE_RE = re.compile(rb"%([0-9A-Fa-f]{2})")
_NEEDS_ESCAPE_RE = re.compile(rb"[\x00-\x20\x7f-\xff#%]")
_DOTS_RE = re.compile(rb"\.{2,}")
_SCHEME_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")
_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset(b"0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_OCT = frozenset(b"01234567")
_WIN_IP_RE = re.compile(rb"^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}) ")
_BAD_OCTAL_RE = re.compile(rb"(?:^|\.)0\d*[89]")
_POSSIBLE_IP_RE = re.compile(rb"^(?:0[xX][0-9a-fA-F]+|[0-9.])+$")
_ESC_TABLE = {b: b"%%%02X" % b for b in range(256)}


class InvalidURL(ValueError):
    """The input has no valid host (or is too long); such input is never listed."""


@dataclass(frozen=True, slots=True)
class CanonicalURL:
    """A canonical URL. All fields are printable ASCII; `query` is None when absent."""

    scheme: str
    host: str
    path: str
    query: str | None

    def __str__(self) -> str:
        q = "" if self.query is None else "?" + self.query
        return f"{self.scheme}://{self.host}{self.path}{q}"

    @property
    def is_ip(self) -> bool:
        return self.host.startswith("[") or parse_ipv4(self.host.encode()) == self.host


def _unescape_once(s: bytes) -> bytes:
    return _ESCAPE_RE.sub(lambda m: bytes((int(m[1], 16),)), s)


def _unescape_linear(s: bytes) -> bytes:
    """Fixpoint of repeated unescaping in one pass: decode whenever the output ends in %XX."""
    out = bytearray()
    for b in s:
        out.append(b)
        while len(out) >= 3 and out[-3] == 0x25 and out[-2] in _HEX and out[-1] in _HEX:
            value = int(out[-2:].decode(), 16)
            del out[-3:]
            out.append(value)
    return bytes(out)


def unescape_repeatedly(s: bytes) -> bytes:
    """Percent-unescape until no escape is left (a few fast passes, then a linear one)."""
    for _ in range(_MAX_FAST_PASSES):
        if b"%" not in s:
            return s
        new = _unescape_once(s)
        if new == s:
            return s
        s = new
    return _unescape_linear(s)


def escape(s: bytes) -> str:
    """Escape bytes <= 0x20, >= 0x7f, '#' and '%' as %XX (uppercase hex)."""
    if _NEEDS_ESCAPE_RE.search(s) is None:
        return s.decode("ascii")
    return _NEEDS_ESCAPE_RE.sub(lambda m: _ESC_TABLE[m[0][0]], s).decode("ascii")


def _ip_number(part: bytes, allow_octal: bool) -> int | None:
    if not part or len(part) > 40:
        return None
    if part[:2] in (b"0x", b"0X"):
        digits = part[2:]
        if not digits:
            return 0
        return int(digits, 16) if all(c in _HEX for c in digits) else None
    if not all(c in _DIGITS for c in part):
        return None
    if allow_octal and len(part) > 1 and part[0] == 0x30 and all(c in _OCT for c in part):
        return int(part, 8)
    return int(part, 10)


def parse_ipv4(host: bytes) -> str | None:
    """Any legal IPv4 spelling (octal, hex, fewer than 4 parts) as dotted decimal, else None.

    Like the reference clients, out-of-range parts wrap (`276.2.3` -> `20.2.0.3`), a part
    such as `089` makes every part decimal (no octal), and a Windows-resolver quirk is
    kept: "10.192.95.89 xy" (<= 15 chars) is that address.
    """
    if len(host) <= 15:
        m = _WIN_IP_RE.match(host)
        if m:
            host = m[1]
    if _POSSIBLE_IP_RE.match(host) is None:
        return None
    parts = host.split(b".")
    if len(parts) > 4:
        return None
    allow_octal = _BAD_OCTAL_RE.search(host) is None
    out: list[str] = []
    for i, part in enumerate(parts):
        n = _ip_number(part, allow_octal)
        if n is None:
            return None
        width = 5 - len(parts) if i == len(parts) - 1 else 1
        out.extend(str((n >> (8 * k)) & 0xFF) for k in range(width - 1, -1, -1))
    return ".".join(out)


def _split_scheme(s: bytes) -> tuple[bytes, bytes]:
    """(scheme, rest) like Go's net/url getScheme; raises on a leading ':'."""
    for i, c in enumerate(s):
        if c in _LETTERS:
            continue
        if c in _SCHEME_CHARS:
            if i == 0:
                return b"", s
            continue
        if c == 0x3A:  # ':'
            if i == 0:
                raise InvalidURL("missing scheme")
            return s[:i].lower(), s[i + 1 :]
        return b"", s
    return b"", s


def _host_of(authority: bytes) -> bytes:
    host = authority.rpartition(b"@")[2]
    if host.startswith(b"["):
        end = host.find(b"]")
        host = host[: end + 1] if end >= 0 else host
    elif b":" in host:
        # Everything from the first ':' is the port, valid or not: a host keeps no colon,
        # so its canonical form reads back as itself ("0::" is host "0", not "0:").
        host = host[: host.find(b":")]
    host = _DOTS_RE.sub(b".", host.strip(b"."))
    return host


def canonical_host(host: bytes) -> str:
    """Canonical form of an (unescaped, userinfo/port-free) host; raises on empty."""
    if not host:
        raise InvalidURL("empty host")
    ip = parse_ipv4(host)
    if ip is not None:
        return ip
    host = host.lower()
    if max(host) >= 0x80:
        try:
            labels = host.decode("utf-8").split(".")
            host = b".".join(encodings.idna.ToASCII(label) for label in labels).lower()
        except (UnicodeError, ValueError):
            pass  # not valid IDN: keep the bytes, they get percent-escaped below
    return escape(host)


def resolve_path(path: bytes) -> bytes:
    """Resolve `/./` and `/../`, collapse `//`; keep a trailing slash."""
    if b"/." not in path and b"//" not in path:
        return path
    segments = path.split(b"/")
    out: list[bytes] = []
    for seg in segments[1:]:
        if seg in (b"", b"."):
            continue
        if seg == b"..":
            if out:
                out.pop()
            continue
        out.append(seg)
    trailing = segments[-1] in (b"", b".", b"..")
    if not out:
        return b"/"
    return b"/" + b"/".join(out) + (b"/" if trailing else b"")


def canonicalize(raw: bytes | str) -> CanonicalURL:
    """Canonicalize `raw` per Safe Browsing v4; raises `InvalidURL` if it has no valid host.

    Order matters and follows the reference client: drop the fragment, trim, remove TAB/CR/LF,
    unescape repeatedly, then split scheme / query / host / path and re-escape each part.
    A scheme-less `host:port` (Squid's CONNECT form) is read as a host.
    """
    if isinstance(raw, str):
        text = raw
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_URL_BYTES:
        raise InvalidURL("URL too long")
    s = raw.split(b"#", 1)[0].strip()
    if b"\t" in s or b"\r" in s or b"\n" in s:
        s = s.replace(b"\t", b"").replace(b"\r", b"").replace(b"\n", b"")
    s = unescape_repeatedly(s)
    scheme, rest = _split_scheme(s)
    if scheme and not rest.startswith(b"//"):
        port = rest.split(b"/", 1)[0].split(b"?", 1)[0]
        if not port or not all(c in _DIGITS for c in port):
            raise InvalidURL("not a hierarchical URL")
        rest, scheme = scheme + b":" + rest, b""  # `host:port` without a scheme
    rest, qmark, query = rest.partition(b"?")
    hostish = rest[2:] if scheme else rest
    authority, slash, path = hostish.partition(b"/")
    host = canonical_host(_host_of(authority))
    return CanonicalURL(
        scheme=(scheme or b"http").decode("ascii"),
        host=host,
        path=escape(resolve_path(slash + path)) if slash else "/",
        query=escape(query) if qmark else None,
    )


_PLAIN_AUTHORITY_RE = re.compile(rb"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]*)?\Z")


def host_from_authority(authority: bytes) -> str:
    """Canonical host of the text between `scheme://` and the first `/`, `?` or `#`.

    Equal to `canonicalize(b"http://" + authority + b"/").host` (a test checks this);
    plain `name[:port]` authorities, almost all real traffic, skip the general path.
    Raises `InvalidURL` like `canonicalize`.
    """
    if _PLAIN_AUTHORITY_RE.match(authority):
        host = authority.split(b":", 1)[0]
        if _POSSIBLE_IP_RE.match(host) is None:
            return host.lower().decode("ascii")
    return canonicalize(b"http://" + authority + b"/").host


def try_canonicalize(raw: bytes | str) -> CanonicalURL | None:
    """`canonicalize`, or None for input with no valid host."""
    try:
        return canonicalize(raw)
    except InvalidURL:
        return None
