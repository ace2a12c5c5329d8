"""The helper's and matcher's fast paths give exactly the answers of the general paths.

`Answerer.block` (a whole read through one regex split and the host cache) must answer every
line byte for byte as `Answerer.answer_line` (the per-line path) does; the host cache's
inlined cold path for plain `a.b.c` hosts must give the verdict of `host_from_authority` +
`listed_hosts`; the bucketed bisect must find every key and no other.
"""

from __future__ import annotations

import hashlib
import os
import random

import pytest

from childsafe.block.core.canon import InvalidURL, canonicalize, host_from_authority
from childsafe.block.core.expressions import host_key
from childsafe.block.core.listfile import snapshot_from_expressions
from childsafe.block.core.matcher import _PLAIN_ORIGIN, UNDECIDED, Matcher, _sha256
from childsafe.block.squid import MODES, Answerer

from .conftest import LIST_KEY

WARN = b"http://warning.example.com/blocked"

# Hosts with entries: a plain parent, a plain 3-label host under an unlisted parent, a
# 3-label host whose parent is listed too, an IP, and hosts with hex-only last labels.
HOSTS = [
    "whole.test",
    "x.sub.test",
    "y.whole.test",
    "a.b.ad",
    "192.0.2.7",
    "c.d.cafe",
    "p.q.com",
    "m.n.org",
    "10.11.0.12",
]
EXPRESSIONS = ["whole.test/", "x.sub.test/", "y.whole.test/p.html", "a.b.ad/", "192.0.2.7/x/y.html"]
EXPRESSIONS += ["c.d.cafe/", "p.q.com/a/b", "p.q.com/a/b/", "m.n.org/p.html", "10.11.0.12/"]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    snap = snapshot_from_expressions(EXPRESSIONS, HOSTS, seq=1, list_key=LIST_KEY, created=0)
    return Matcher(snap)


AUTHORITIES = [
    b"whole.test",
    b"a.whole.test",
    b"y.whole.test",
    b"x.sub.test",
    b"z.sub.test",
    b"p.q.com",
    b"a.b.ad",
    b"c.d.cafe",
    b"w.c.d.cafe",
    b"WWW.whole.test",
    b"www.Whole.TEST",
    b"www.whole.test.",
    b".www.whole.test",
    b"www..whole.test",
    b"www.whole.test:80",
    b"www.whole.test:",
    b"u@www.whole.test",
    b"%77ww.whole.test",
    b"www.whole%2etest",
    b"1.2.3.4",
    b"192.0.2.7",
    b"0xc0.0.2.7",
    b"3221225991",
    b"0xc0.0x0.0x207",
    b"a.b.0x1",
    b"0xa.0xb.0xc",
    b"1.2.0xfe",
    b"0xc0.0.0x2f",
    b"1.2.g",
    b"1.2.3",
    b"a.b.c",
    b"a.b.x",
    b"a.b.z",
    b"a-.b-.c-z",
    b"-.-.-g",
    b"xn--bcher-kva.example.com",
    b"\xc3\xbc.whole.test",
    b"a_b.whole.test",
    b"[::1]",
    b"",
    b".",
    b"..",
    b"a.b.c.d.e.f.whole.test",
    b"www.whole.test?x=1",
    b"www.whole.test#frag",
]


def _general(matcher: Matcher, authority: bytes) -> tuple[str, ...]:
    try:
        return matcher.listed_hosts(host_from_authority(authority))
    except InvalidURL:
        return ()


def _random_authorities(n: int, seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    alphabet = b"abcdefgxyz0129-.:@%AZ_"
    out = []
    for _ in range(n):
        out.append(bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 14))))
        labels = [rnd.choice([b"www", b"x", b"y", b"0x1", b"12", b"a-b", b"sub", b"q"]) for _ in range(2)]
        out.append(b".".join([*labels, rnd.choice([b"test", b"com", b"ad", b"cafe", b"7", b"x"])]))
    return out


def test_cold_host_path_equals_the_general_path(matcher: Matcher) -> None:
    for authority in AUTHORITIES + _random_authorities(3000, seed=7):
        for scheme in (b"http://", b"https://"):
            matcher.host_cache.clear()
            assert matcher.host_cache[scheme + authority] == _general(matcher, authority), authority


def test_plain_origins_are_already_canonical() -> None:
    """What `_PLAIN_ORIGIN` accepts, `canonicalize` returns unchanged (so the fast path may
    hash the raw bytes), and it is never an IP address."""
    accepted = 0
    for authority in AUTHORITIES + _random_authorities(3000, seed=8):
        m = _PLAIN_ORIGIN(b"http://" + authority)
        if m is None:
            continue
        accepted += 1
        assert m[1] == authority
        assert canonicalize(b"http://" + authority + b"/").host == authority.decode()
        assert not canonicalize(b"http://" + authority + b"/").is_ip
        assert m[2] == authority.split(b".", 1)[1]
    assert accepted > 100


def test_inlined_host_hash_is_the_list_host_key() -> None:
    for host in ("a.b.test", "www.example.com", "x"):
        assert _sha256(LIST_KEY + b"\x00" + host.encode()).digest()[:8] == host_key(LIST_KEY, host)
        assert _sha256(b"abc").digest() == hashlib.sha256(b"abc").digest()


def test_unreadable_origin_is_undecided(matcher: Matcher) -> None:
    assert matcher.host_cache[None] == UNDECIDED and UNDECIDED
    with pytest.raises(KeyError):
        matcher.host_cache[b"ftp://whole.test"]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 1000, 5000])
def test_bucketed_bisect_finds_every_key_and_no_other(n: int) -> None:
    rnd = random.Random(n)
    hosts = [f"h{i}.{rnd.randrange(10**9)}.test" for i in range(n)]
    exprs = [h + "/" for h in hosts]
    m = Matcher(snapshot_from_expressions(exprs, hosts, seq=1, list_key=LIST_KEY, created=0))
    for h in hosts:
        assert m.listed_hosts(h) == (h,)
        assert m.listed(f"http://{h}/x".encode())
    for i in range(2000):
        assert not m._has_host_key(os.urandom(8))
        assert not m.has_digest(os.urandom(32))
        assert not m.listed(f"http://u{i}.example.com/".encode())
    # Extreme keys land in the first and last buckets.
    assert not m._has_host_key(bytes(8)) and not m._has_host_key(b"\xff" * 8)


LINES = [
    b"0 http://listed.test/a/b/c 192.0.2.1/- - GET myip=127.0.0.1 myport=3128",
    b"17 http://listed.test/a/bc 192.0.2.1/- - GET",
    b"http://whole.test/x 192.0.2.1/- - GET",
    b"http://other.test/",
    b"http://whole.test",
    b"5 http://whole.test",
    b"6 https://www.whole.test/a?b",
    b"7 http://www.whole.test?x=1",
    b"8 http://p.q.com/a/b/c",
    b"9 http://p.q.com/a/bc",
    b"10 http://y.whole.test/p.html?z",
    b"10 http://m.n.org/p.html?z",
    b"10 http://m.n.org/P.html",
    b"11 http://Y.WHOLE.TEST/p.html",
    b"12 http://y.whole.test/./p.html",
    b"13 http://192.0.2.7/x/y.html",
    b"14 http://3221225991/x/y.html",
    b"3 listed.test:443 192.0.2.1/- - CONNECT",
    b"",
    b"   ",
    b"5",
    b"\x00\xff\xfe",
    b"9 \x00",
    b"1 http://[::1",
    b"2\thttp://whole.test/",
    b"4  http://whole.test/  x",
    b"4 http://whole.test/\t x",
    b"4 http://who\tle.test/ x",
    b"4 http://whole.test/\r",
    b"4 http://whole.test\r",
    b"4 http://whole.test\x0c",
    b"4 http://whole.test\x01/",
    b"4 http://whole.test/\x01",
    b"4 http://whole.test/a\x0bb",
    b"4 HTTP://whole.test/",
    b"4 http:/whole.test/",
    b"4 http:///whole.test/",
    b"4 http://u@whole.test/",
    b"4 http://whole.test:8080/",
    b"4 http://%77hole.test/",
    b"x" * 5000,
    "7 http://\u00fc.test/".encode(),
    b"8 %%%%",
    b"12345678901234567890 http://whole.test/",
    b"0http://whole.test/",
    b"0 http://c1.example.com/img/1.png?v=2 192.0.2.1/- - GET",
    b"http://c1.example.com/img/1.png?v=2",
]


def _random_lines(n: int, seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    parts = [b"1 ", b"22 ", b"", b" ", b"\t", b"http://", b"https://", b"HTTP://", b"whole.test"]
    parts += [b"y.whole.test", b"p.q.com", b"c1.example.com", b"/", b"/a/b", b"/p.html", b"?q"]
    parts += [b" - GET", b"\r", b"\x00", b"%2f", b":80", b"@", b"."]
    return [b"".join(rnd.choice(parts) for _ in range(rnd.randrange(0, 9))) for _ in range(n)]


@pytest.mark.parametrize("channels", ["auto", "on", "off"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_block_answers_equal_the_per_line_answers(matcher: Matcher, channels: str, mode: str) -> None:
    blocked, passed = MODES[mode].answers(WARN)
    a = Answerer(blocked, passed, channels)
    lines = LINES + _random_lines(3000, seed=hash((channels, mode)) & 0xFFFF)
    expected = [a.answer_line(line, matcher) for line in lines]
    assert all(e.endswith(b"\n") and e.count(b"\n") == 1 for e in expected)
    for start in range(0, len(lines), 97):  # blocks of every size, cold and warm caches
        chunk = lines[start : start + 1 + start % 13]
        data = b"".join(line + b"\n" for line in chunk)
        assert a.block(data, matcher) == b"".join(expected[start : start + len(chunk)])
    assert a(lines, matcher) == b"".join(expected)
    assert a([], matcher) == b""
    assert a.block(b"\n", matcher) == a.answer_line(b"", matcher)
    assert a.block(b"\n\n", matcher) == a.answer_line(b"", matcher) * 2
    with pytest.raises(ValueError):
        a.block(b"1 http://whole.test/", matcher)


def test_listed_hosts_are_answered_by_the_full_decision(matcher: Matcher) -> None:
    blocked, passed = MODES["rewrite"].answers(WARN)
    a = Answerer(blocked, passed)
    out = a(
        [
            b"1 http://m.n.org/p.html",
            b"2 http://m.n.org/p.htm",
            b"3 http://p.q.com/a/b/c",
            b"4 http://p.q.com/a/bc",
            b"5 http://x.sub.test/",
            b"6 http://z.sub.test/",
            b"7 http://c9.example.com/",
        ],
        matcher,
    )
    assert out.split(b"\n") == [
        b"1 " + blocked,
        b"2 ERR",
        b"3 " + blocked,
        b"4 ERR",
        b"5 " + blocked,
        b"6 ERR",
        b"7 ERR",
        b"",
    ]
