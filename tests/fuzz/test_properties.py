"""Hypothesis properties of the three parsers hostile input reaches first.

- The questionnaire engine: any answers (any JSON, any keys) give a classified result or an
  error naming the field at fault, never another exception; the same input, the same result.
- The URL canonicalizer: any bytes or text give a canonical URL or `InvalidURL`; the output
  is printable ASCII in the documented form, and canonicalizing it again changes nothing.
- The list delta applier: A + delta(A->B) == B; a delta applied to the wrong list, or with
  its content altered, is refused; a sync that meets a bad delta leaves the installed list
  as it was, or ends on the signed newest list, never in between.

Bounded (`settings` below) and derandomized: the same examples every run.
"""

from __future__ import annotations

import dataclasses
import string
import tempfile
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from childsafe.block.core import canon
from childsafe.block.core.expressions import HOST_KEY_BYTES
from childsafe.block.core.listfile import (
    DIGEST_BYTES,
    LIST_KEY_BYTES,
    ListDelta,
    ListError,
    ListSnapshot,
    apply_delta,
    compute_delta,
    decode_signed,
    encode_signed,
)
from childsafe.block.core.publish import LATEST, delta_name, snapshot_name
from childsafe.block.state import StateDir
from childsafe.block.sync import SyncError, sync
from childsafe.reports import catalog
from childsafe.reports.core import engine
from childsafe.reports.core.errors import AnswersInvalid
from childsafe.reports.core.model import Category
from tests.fuzz.figures import DERANDOMIZE, FIGURES, examples

FAST = settings(max_examples=examples(300), derandomize=DERANDOMIZE, deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(FAST, max_examples=examples(60))
FLOW = catalog.load_flow()
ROUTING = catalog.load_routing()
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def counted(name: str) -> None:
    FIGURES["properties"][name] += 1


# ---- questionnaire engine ----------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=12)
tricky_text = st.sampled_from(["", " ", "yes", "no", "oui", "GB", "gb ", "UK", "XX", "2026-11-20",
                               "2026-11-20T10:00", "2026-11-20T10:00:00+14:00", "9999-12-31",
                               "0001-01-01", "2026-02-30", "\u202egb", "a\x00b", "\ud800",
                               "<script>window.__xss=1</script>", "{{7*7}}", "x" * 600])


def answer_for(question: Any) -> st.SearchStrategy[Any]:
    """A value a reporter might send for `question`: right, nearly right or junk."""
    options = [o.value for o in question.options]
    good: st.SearchStrategy[Any]
    if question.type == "single_choice":
        good = st.sampled_from(options)
    elif question.type == "multi_choice":
        good = st.lists(st.sampled_from(options), max_size=len(options))
    elif question.type == "yes_no":
        good = st.sampled_from([True, False, "yes", "no", "on", "non"])
    elif question.type == "country":
        good = st.sampled_from(["GB", "us", "FR", " au ", "CA"])
    elif question.type == "date_time":
        good = st.dates(min_value=datetime(1990, 1, 1).date(),
                        max_value=datetime(2030, 1, 1).date()).map(str)
    else:
        good = st.text(max_size=60)
    return st.one_of(good, good, tricky_text, json_values)


def good_answer_for(question: Any) -> st.SearchStrategy[Any]:
    options = [o.value for o in question.options]
    if question.type == "single_choice":
        return st.sampled_from(options)
    if question.type == "multi_choice":
        return st.lists(st.sampled_from(options), min_size=1, max_size=2, unique=True)
    if question.type == "yes_no":
        return st.sampled_from([True, False, "yes", "no"])
    if question.type == "country":
        return st.sampled_from(["GB", "US", "FR", "AU", "CA"])
    if question.type == "date_time":
        return st.sampled_from(["2026-11-20", "2026-11-22T18:30", "2025-01-01"])
    return st.text(alphabet=string.ascii_letters + " _-.", min_size=1, max_size=30)


@st.composite
def answer_sets(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly a reporter's walk through the questions (so whole sets get classified), with
    now and then an answer that is wrong, missing or extra."""
    answers: dict[str, Any] = {}
    for _ in range(len(FLOW.questions)):
        at = engine.step(FLOW, answers, now=NOW)
        if at.question is None:
            break
        roll = draw(st.integers(0, 19))
        if roll == 0:
            break  # left unfinished
        answers[at.question.id] = draw(answer_for(at.question) if roll == 1
                                       else good_answer_for(at.question))
        if roll == 2:
            break
    if draw(st.integers(0, 3)) == 0:
        answers |= draw(st.dictionaries(st.text(max_size=12) | st.sampled_from(list(FLOW.questions)),
                                        json_values, max_size=2))
    return answers


@FAST
@given(answers=answer_sets(), lang=st.sampled_from(["en", "fr"]))
def test_engine_classifies_or_names_the_field(answers, lang):
    counted("questionnaire engine: evaluate")
    try:
        result = engine.evaluate(FLOW, answers, lang, now=NOW, routing=ROUTING)
    except AnswersInvalid as exc:
        problems = exc.as_list()
        assert problems, "an invalid answer set must say what is wrong"
        for problem in problems:
            # The field is a question id, or the unknown key exactly as it was sent.
            assert problem["field"] in FLOW.questions or (
                problem["reason"] == "unknown_question" and problem["field"] in answers)
            assert problem["reason"] and problem["detail"]
        # Deterministic: the same problems again.
        with pytest.raises(AnswersInvalid) as again:
            engine.evaluate(FLOW, answers, lang, now=NOW, routing=ROUTING)
        assert again.value.as_list() == problems
        return
    counted("questionnaire engine: evaluate, classified")
    c = result.classification
    assert isinstance(c.category, Category) and c.in_scope == c.category.in_scope
    assert set(result.answers) <= set(FLOW.questions)
    assert c.title and c.message and c.reasons
    assert (c.emergency is not None) == c.immediate
    again = engine.evaluate(FLOW, answers, lang, now=NOW, routing=ROUTING)
    assert again.to_dict() == result.to_dict()


@FAST
@given(answers=answer_sets(), lang=st.sampled_from(["en", "fr"]))
def test_wizard_step_never_crashes_and_resumes_where_it_stopped(answers, lang):
    """The no-JavaScript wizard walks the same answers one page at a time."""
    counted("questionnaire engine: step")
    s = engine.step(FLOW, answers, lang, now=NOW)
    assert s.path and s.path[0] == FLOW.start
    if s.error is not None:
        assert s.error.field == s.path[-1] and s.question is not None
    if s.question is not None:
        assert s.question.id == s.path[-1]
    assert engine.step(FLOW, engine.prune(FLOW, answers, now=NOW), lang, now=NOW).path == s.path


# ---- URL canonicalizer -------------------------------------------------------------------

PRINTABLE = frozenset(range(0x21, 0x7F))
SCHEME_CHARS = frozenset(string.ascii_lowercase + string.digits + "+-.")
hosts = st.sampled_from([
    "example.com", "EXAMPLE.com.", "www.example.com", "a..b.example.com", "sub.site.test",
    "192.0.2.7", "0xC0.0.2.7", "3221225991", "0300.0.02.07", "192.0.2.7 xy", "[2001:db8::1]",
    "bücher.test", "xn--bcher-kva.test", "%65xample.com", "user:pw@example.com:8080",
    "exa%00mple.com", "例え.test", "ＥＸＡＭＰＬＥ.com", "example.com\u202e", "", ".", "%",
])
segments = st.sampled_from(["", ".", "..", "a", "A%2fb", "%2e%2e", "%25", "%2525", "%ff", "%zz",
                            "x y", "#frag", "?q=1", "\t", "\r\n", "é", "\u200d", "\x00", "~"])
url_text = st.builds(
    lambda scheme, host, path, query: f"{scheme}{host}{path}{query}",
    st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "", "//", "h:", ":", "1http://"]),
    hosts,
    st.lists(segments, max_size=6).map(lambda parts: "/" + "/".join(parts) if parts else ""),
    st.sampled_from(["", "?", "?a=1&b=%2F", "?%2525", "?x#y", "?\x7f"]))
any_input = st.one_of(url_text, url_text.map(str.encode), st.binary(max_size=200),
                      st.text(max_size=120),
                      st.text(alphabet=st.characters(codec=None, categories=["Cs", "Co", "Cf",
                                                                             "Zs", "Lo"]),
                              max_size=40))


def _check_form(url: canon.CanonicalURL) -> None:
    assert url.scheme and set(url.scheme) <= SCHEME_CHARS
    assert url.host and url.path.startswith("/")
    for part in (url.scheme, url.host, url.path, url.query or ""):
        assert all(ord(ch) in PRINTABLE for ch in part), part
    assert "#" not in str(url)
    assert str(url).isascii()


@FAST
@given(raw=any_input)
@example(raw="http://0::/")  # found by this test: was host "0:", then "0.0.0.0"
def test_canonicalizer_never_crashes_and_is_idempotent(raw):
    counted("URL canonicalizer")
    try:
        url = canon.canonicalize(raw)
    except canon.InvalidURL:
        return
    counted("URL canonicalizer, canonical")
    _check_form(url)
    text = str(url)
    assert canon.canonicalize(text) == url
    assert canon.canonicalize(text.encode("ascii")) == url
    assert canon.try_canonicalize(raw) == url


@FAST
@given(authority=st.one_of(hosts, st.text(max_size=30)).map(
    lambda s: s.encode("utf-8", "surrogatepass")))
def test_host_fast_path_agrees_with_canonicalize(authority):
    counted("URL canonicalizer: host fast path")
    assume(b"/" not in authority and b"?" not in authority and b"#" not in authority)
    try:
        slow = canon.canonicalize(b"http://" + authority + b"/").host
    except canon.InvalidURL:
        with pytest.raises(canon.InvalidURL):
            canon.host_from_authority(authority)
        return
    assert canon.host_from_authority(authority) == slow


def test_a_second_colon_is_part_of_the_port():
    """A host keeps no colon (outside IPv6 brackets): everything after the first is port."""
    assert str(canon.canonicalize("http://0::/")) == "http://0.0.0.0/"
    assert canon.canonicalize("http://example.com::80/x").host == "example.com"
    assert canon.canonicalize("http://[2001:db8::1]:80/").host == "[2001:db8::1]"


def test_canonicalizer_rejects_oversized_input_quickly():
    with pytest.raises(canon.InvalidURL, match="too long"):
        canon.canonicalize(b"http://example.com/" + b"%25" * canon.MAX_URL_BYTES)


# ---- list deltas -------------------------------------------------------------------------

KEY = bytes(range(LIST_KEY_BYTES))
host_keys = st.sets(st.binary(min_size=HOST_KEY_BYTES, max_size=HOST_KEY_BYTES), max_size=12)
digests = st.sets(st.binary(min_size=DIGEST_BYTES, max_size=DIGEST_BYTES), max_size=12)


def snapshot(seq: int, hosts_: set[bytes], digests_: set[bytes]) -> ListSnapshot:
    return ListSnapshot(seq, 1_700_000_000 + seq, KEY, b"".join(sorted(hosts_)),
                        b"".join(sorted(digests_)))


lists = st.builds(snapshot, st.just(0), host_keys, digests)


@st.composite
def chains(draw: st.DrawFn, min_size: int = 2, max_size: int = 4) -> list[ListSnapshot]:
    """Successive lists at sequence numbers 1, 2, ... (each a random edit of the one before)."""
    n = draw(st.integers(min_size, max_size))
    hosts_, digests_ = draw(host_keys), draw(digests)
    out = []
    for seq in range(1, n + 1):
        hosts_ = (hosts_ - draw(st.sets(st.sampled_from(sorted(hosts_)))) if hosts_ else hosts_) \
            | draw(host_keys)
        digests_ = (digests_ - draw(st.sets(st.sampled_from(sorted(digests_))))
                    if digests_ else digests_) | draw(digests)
        out.append(snapshot(seq, hosts_, digests_))
    return out


@FAST
@given(chain=chains(2, 2))
def test_delta_takes_a_to_b(chain):
    counted("list deltas: apply")
    a, b = chain
    assert apply_delta(a, compute_delta(a, b)) == b


@FAST
@given(chain=chains(3, 3))
def test_delta_in_the_wrong_order_is_refused(chain):
    counted("list deltas: order")
    a, b, c = chain
    ab, bc = compute_delta(a, b), compute_delta(b, c)
    for target, delta in ((a, bc), (b, ab), (c, ab), (c, bc)):
        with pytest.raises(ListError):
            apply_delta(target, delta)
    assert apply_delta(apply_delta(a, ab), bc) == c


def _records(blob: bytes, size: int) -> list[bytes]:
    return [blob[i:i + size] for i in range(0, len(blob), size)]


@st.composite
def corruptions(draw: st.DrawFn) -> tuple[ListSnapshot, ListSnapshot, ListDelta]:
    """A delta A->B with one thing about its content changed (the signature aside)."""
    a, b = draw(chains(2, 2))
    delta = compute_delta(a, b)
    groups = {"add_hosts": HOST_KEY_BYTES, "del_hosts": HOST_KEY_BYTES,
              "add_digests": DIGEST_BYTES, "del_digests": DIGEST_BYTES}
    what = draw(st.sampled_from(["drop", "add", "swap", "hash", "key", "base"]))
    field = draw(st.sampled_from(sorted(groups)))
    size = groups[field]
    items = _records(getattr(delta, field), size)
    if what == "drop":
        assume(items)
        items.pop(draw(st.integers(0, len(items) - 1)))
        changed = dataclasses.replace(delta, **{field: b"".join(items)})
    elif what == "add":
        extra = draw(st.binary(min_size=size, max_size=size))
        changed = dataclasses.replace(delta, **{field: b"".join(sorted(items + [extra]))})
    elif what == "swap":  # an addition turned into a removal or the other way round
        other = {"add_hosts": "del_hosts", "del_hosts": "add_hosts",
                 "add_digests": "del_digests", "del_digests": "add_digests"}[field]
        assume(getattr(delta, field))
        changed = dataclasses.replace(delta, **{field: getattr(delta, other),
                                                other: getattr(delta, field)})
    elif what == "hash":
        flip = draw(st.integers(0, 31))
        h = bytearray(delta.content_hash)
        h[flip] ^= draw(st.integers(1, 255))
        changed = dataclasses.replace(delta, content_hash=bytes(h))
    elif what == "key":
        changed = dataclasses.replace(delta, list_key=bytes(LIST_KEY_BYTES))
    else:
        changed = dataclasses.replace(delta, base_seq=delta.base_seq + draw(st.integers(1, 3)))
    return a, b, changed


@FAST
@given(case=corruptions())
def test_a_corrupted_delta_is_refused(case):
    counted("list deltas: corrupted content")
    a, b, delta = case
    try:
        result = apply_delta(a, delta)
    except ListError:
        return
    # Accepted only if the change made no difference to what it yields (say, a record
    # removed twice): the result is still exactly the signed list.
    assert result == b


SIGNING_KEY = Ed25519PrivateKey.generate()


@SLOW
@given(chain=chains(2, 3), offset=st.integers(0, 10_000), xor=st.integers(1, 255),
       cut=st.booleans())
def test_a_damaged_delta_file_is_refused(chain, offset, xor, cut):
    counted("list deltas: damaged file")
    data = bytearray(encode_signed(compute_delta(chain[0], chain[1]), SIGNING_KEY))
    if cut:
        data = data[:offset % len(data)]
    else:
        data[offset % len(data)] ^= xor
    with pytest.raises(ListError):
        decode_signed(bytes(data), SIGNING_KEY.public_key())


class MemorySource:
    name = "memory"

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def fetch(self, filename: str) -> bytes | None:
        return self.files.get(filename)


@SLOW
@given(chain=chains(3, 4), broken=st.integers(0, 2), snapshot_there=st.booleans(),
       offset=st.integers(0, 10_000))
def test_sync_never_stops_between_lists(chain, broken, snapshot_there, offset):
    """Installed: list 1. Published: deltas 1->2->...->n, one of them damaged, and maybe the
    snapshot n. The node ends on list n (deltas before the damage are not kept) or on list 1;
    nothing in between, and nothing but list n or list 1 on disk."""
    counted("list deltas: sync")
    key = SIGNING_KEY
    newest = chain[-1]
    files: dict[str, bytes] = {LATEST: f"{newest.seq}\n".encode()}
    for old, new in zip(chain, chain[1:], strict=False):
        files[delta_name(old.seq, new.seq)] = encode_signed(compute_delta(old, new), key)
    name = delta_name(chain[broken % (len(chain) - 1)].seq,
                      chain[broken % (len(chain) - 1) + 1].seq)
    damaged = bytearray(files[name])
    damaged[offset % len(damaged)] ^= 0x5A
    files[name] = bytes(damaged)
    if snapshot_there:
        files[snapshot_name(newest.seq)] = encode_signed(newest, key)
    with tempfile.TemporaryDirectory() as tmp:
        state = StateDir(tmp)
        state.install(chain[0])
        try:
            result = sync(MemorySource(files), state, key.public_key())
        except SyncError:
            assert not snapshot_there
            assert state.current() == chain[0]
            return
        assert snapshot_there and result.method == "snapshot"
        assert state.current() == newest
        assert state.previous() == chain[0]
