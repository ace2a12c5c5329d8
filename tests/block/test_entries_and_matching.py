"""Scopes, the Cleanfeed failure modes, no over-block, and the matcher's fast paths."""

from __future__ import annotations

import os
import random

import pytest

from childsafe.block.core.canon import InvalidURL, canonicalize, host_from_authority
from childsafe.block.core.entries import EntryError, Scope, make_entry
from childsafe.block.core.listfile import build_snapshot
from childsafe.block.core.matcher import Decision, Matcher

from .conftest import LIST_KEY, entry


@pytest.fixture
def matcher(snapshot) -> Matcher:
    return Matcher(snapshot)


def test_scopes_publish_the_documented_expressions():
    assert entry("http://listed.test/a/b", "prefix").published_expressions() == (
        "listed.test/a/b",
        "listed.test/a/b/",
    )
    assert entry("http://listed.test/a/b/", "prefix").published_expressions() == (
        "listed.test/a/b",
        "listed.test/a/b/",
    )
    assert entry("LISTED.test", "host").published_expressions() == ("listed.test/",)
    assert entry("http://listed.test/p.html?x=1", "page").published_expressions() == (
        "listed.test/p.html?x=1",
    )
    assert entry("http://listed.test/p.html", "page").scope is Scope.PAGE


@pytest.mark.parametrize(
    ("url", "scope", "message"),
    [
        ("http://listed.test/", "page", "whole host"),
        ("http://listed.test/a/", "page", "folder"),
        ("http://listed.test/a", "host", "bare host"),
        ("http://listed.test/", "prefix", "needs a path"),
        ("http://listed.test/a/b/c/d", "prefix", "at most 3"),
        ("http://listed.test/a?x", "prefix", "query"),
        ("/no/host", "page", "no valid host"),
        ("http://listed.test/a.html", "everything", "scope"),
    ],
)
def test_entries_that_would_over_block_or_cannot_match_are_rejected(url, scope, message):
    with pytest.raises(EntryError, match=message):
        make_entry(url, scope, "c", "me", "", "2030-01-01")


def test_other_fields_are_validated():
    with pytest.raises(EntryError, match="review_date"):
        make_entry("listed.test", "host", "c", "me", "", "next week")
    with pytest.raises(EntryError, match="category"):
        make_entry("listed.test", "host", " ", "me", "", "2030-01-01")
    with pytest.raises(EntryError, match="control"):
        make_entry("listed.test", "host", "c", "me\x00", "", "2030-01-01")


LISTED = [
    # prefix listed.test/a/b
    "http://listed.test/a/b",
    "http://listed.test/a/b?x=1",
    "http://listed.test/a/b/",
    "http://listed.test/a/b/c/d/e.html",
    "http://%6c%69sted.test/a/b/c",  # encoded host
    "http://LISTED.TEST/a/b/c",  # host case
    "http://listed.test./a/b/c",  # trailing dot
    "http://..listed..test../a/b/c",
    "http://user:pw@listed.test/a/b/c",  # userinfo
    "http://listed.test:80/a/b/c",  # port
    "http://listed.test//a//b/c",  # //
    "http://listed.test/a/./b/c",  # /./
    "http://listed.test/x/../a/b/c",  # /../
    "http://listed.test/a/b/c#frag",  # fragment
    "http://listed.test/%61/%62/c",  # encoded path
    "http://listed.test/%2561/b/c",  # double-encoded path
    "https://listed.test/a/b/c",
    "http://www.listed.test/a/b/c",  # subdomain (Safe Browsing host suffixes)
    "listed.test:443",  # CONNECT form cannot match a prefix...
    # page entries
    "http://listed.test/page.html",
    "http://listed.test/page.html?any=thing",
    "http://listed.test/q.html?id=7",
    # whole host
    "http://whole.test/",
    "http://deep.sub.whole.test/anything?x",
    "whole.test:443",  # CONNECT to a whole-host entry
    # IPv4 in every form
    "http://192.0.2.7/x/y.html",
    "http://3221225991/x/y.html",  # decimal
    "http://0xc0000207/x/y.html",  # hex
    "http://0300.0.02.07/x/y.html",  # octal
    "http://192.0.519/x/y.html",  # fewer than 4 parts
    "http://example.com/Case/Sensitive.html",
]
UNLISTED = [
    "http://listed.test/a/bc",  # path boundary
    "http://listed.test/a/",
    "http://listed.test/a",
    "http://listed.test/",  # listed host, unlisted path
    "http://listed.test/other/page",
    "http://listed.test/page.html2",
    "http://listed.test/q.html?id=8",
    "http://listed.test/q.html",
    "http://listed.test/A/b/c",  # path case is preserved
    "http://example.com/case/sensitive.html",
    "http://listed.test.example.com/a/b",  # look-alike host
    "http://notlisted.test/a/b",
    "http://whole.test.invalid/",
    "http://192.0.2.8/x/y.html",
    "http://192.0.2.7/x/y.htm",
]


def test_cleanfeed_variants_are_listed(matcher: Matcher):
    missed = [u for u in LISTED if u != "listed.test:443" and not matcher.listed(u.encode())]
    assert missed == []
    assert not matcher.listed(b"listed.test:443")  # only a host can match a CONNECT


def test_nothing_else_is_listed(matcher: Matcher):
    assert [u for u in UNLISTED if matcher.listed(u.encode())] == []
    assert [u for u in UNLISTED if matcher.decide(u) is not Decision.UNLISTED] == []


def test_listed_and_decide_agree_and_caches_do_not_change_answers(matcher: Matcher):
    for _ in range(2):  # the second round is served from the caches
        for u in LISTED + UNLISTED:
            assert matcher.listed(u.encode()) == (matcher.decide(u) is Decision.LISTED), u


def test_hostile_input_never_raises(matcher: Matcher):
    rnd = random.Random(1)
    alphabet = b"htps:/%.@?#[]\\\x00\t\r\n \xff\xc3\xbcAZ09x-~;&="
    samples = [
        b"",
        b"http://",
        b"http://[",
        b"http://%",
        b"http://" + b"%25" * 30000,
        b"http://a" + b"." * 70000,
        "http://\ud800.test/".encode("utf-8", "surrogatepass"),
    ]
    for _ in range(3000):
        samples.append(b"http://" + bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(40))))
        samples.append(bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(40))))
    for s in samples:
        matcher.listed(s)
        matcher.decide(s)


def test_authority_shortcut_equals_full_canonicalization():
    rnd = random.Random(2)
    parts = [
        "a",
        "B",
        "0x1f",
        "192",
        "0",
        "012",
        ".",
        "..",
        ":80",
        ":",
        "@",
        "u:p@",
        "%2e",
        "%41",
        "%25",
        "xn--mlat-zra",
        "\xfc",
        "-",
        "[::1]",
        " ",
        "%2F",
        "?",
        "\t",
    ]
    for _ in range(5000):
        auth = "".join(rnd.choice(parts) for _ in range(rnd.randrange(1, 7))).encode()
        if b"/" in auth or b"?" in auth or b"#" in auth:
            continue
        try:
            want = canonicalize(b"http://" + auth + b"/x/y?z").host
        except InvalidURL:
            with pytest.raises(InvalidURL):
                host_from_authority(auth)
            continue
        assert host_from_authority(auth) == want, auth


def test_idn_and_unicode_hosts_match_their_punycode(tmp_path):
    m = Matcher(
        build_snapshot([entry("http://www.xn--mlat-zra.test/p.html")], seq=1, list_key=LIST_KEY, created=0)
    )
    assert m.listed("http://www.ümlat.test/p.html".encode())
    assert m.listed(b"http://www.%C3%BCmlat.test/p.html")
    assert not m.listed(b"http://www.umlat.test/p.html")


def test_different_list_keys_give_unrelated_hashes(entries):
    a = build_snapshot(entries, seq=1, list_key=os.urandom(16), created=0)
    b = build_snapshot(entries, seq=1, list_key=os.urandom(16), created=0)
    assert {a.digests[i : i + 32] for i in range(0, len(a.digests), 32)}.isdisjoint(
        b.digests[i : i + 32] for i in range(0, len(b.digests), 32)
    )
