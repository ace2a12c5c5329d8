"""The published Safe Browsing vectors, in full (copies in tests/block/vectors, never edited)."""

from __future__ import annotations

import codecs
import hashlib
import json
from pathlib import Path

import pytest

from childsafe.block.core.canon import InvalidURL, canonicalize, parse_ipv4
from childsafe.block.core.expressions import (
    MAX_HOST_LABELS,
    expression_digest,
    expressions,
    lookup_hosts,
    lookup_paths,
)

VECTORS = Path(__file__).parent / "vectors"


def _tsv_rows() -> list[tuple[bytes, str]]:
    rows = []
    for line in (VECTORS / "safebrowsing_canonicalization.tsv").read_text("ascii").split("\n"):
        if not line or line.startswith("#"):
            continue
        raw, expected = line.split("\t")
        rows.append((codecs.escape_decode(raw.encode("ascii"))[0], expected))
    return rows


ROWS = _tsv_rows()
DATA = json.loads((VECTORS / "safebrowsing_expressions.json").read_text("utf-8"))


def test_vector_files_are_complete():
    assert len(ROWS) == 53
    assert sum(1 for _, e in ROWS if e == "!INVALID") == 15


@pytest.mark.parametrize(("raw", "expected"), ROWS, ids=[repr(r)[:60] for r, _ in ROWS])
def test_canonicalization(raw: bytes, expected: str):
    if expected == "!INVALID":
        with pytest.raises(InvalidURL):
            canonicalize(raw)
    else:
        assert str(canonicalize(raw)) == expected


def _docs_rule_hosts(hosts: list[str]) -> list[str]:
    """Go's client keeps 7 host labels; the normative docs keep 5: drop the extra suffixes."""
    full = hosts[0]
    return [h for h in hosts if h == full or len(h.split(".")) <= MAX_HOST_LABELS]


def _docs_rule_exprs(exprs: list[str]) -> list[str]:
    hosts = _docs_rule_hosts(list(dict.fromkeys(e.split("/", 1)[0] for e in exprs)))
    return [e for e in exprs if e.split("/", 1)[0] in hosts]


def _expression_cases():
    for section in ("docs_examples", "gglsbl", "google_go_client"):
        block = DATA[section]
        cases = block.get("cases") or block["patterns"]
        for case in cases:
            yield pytest.param(section, block["order_significant"], case, id=f"{section}:{case['url']}")


@pytest.mark.parametrize(("section", "ordered", "case"), list(_expression_cases()))
def test_expressions(section, ordered, case):
    if case.get("error"):
        with pytest.raises(InvalidURL):
            expressions(case["url"])
        return
    want = case["expressions"]
    if case.get("conflicts_with_docs"):
        want = _docs_rule_exprs(want)
        assert want != case["expressions"]  # the conflict is real, and we follow the docs
    got = expressions(case["url"])
    assert len(got) <= 30
    if ordered:
        assert got == want
    else:
        assert sorted(got) == sorted(want)
        assert len(got) == len(set(got))


@pytest.mark.parametrize("case", DATA["google_go_client"]["lookup_hosts_ordered"], ids=str)
def test_lookup_hosts(case):
    if case.get("error"):
        with pytest.raises(InvalidURL):
            canonicalize(case["url"])
        return
    want = case["hosts"]
    if case.get("conflicts_with_docs"):
        want = _docs_rule_hosts(want)
    assert lookup_hosts(canonicalize(case["url"]).host) == want


@pytest.mark.parametrize("case", DATA["google_go_client"]["lookup_paths_ordered"], ids=str)
def test_lookup_paths(case):
    if case.get("error"):
        with pytest.raises(InvalidURL):
            canonicalize(case["url"])
        return
    assert lookup_paths(canonicalize(case["url"])) == case["paths"]


@pytest.mark.parametrize("case", DATA["google_go_client"]["canonical_host"], ids=str)
def test_canonical_host(case):
    if case.get("error"):
        with pytest.raises(InvalidURL):
            canonicalize(case["url"])
        return
    assert canonicalize(case["url"]).host == case["host"]


@pytest.mark.parametrize("case", DATA["google_go_client"]["canonical_path"], ids=str)
def test_canonical_path(case):
    assert canonicalize(case["url"]).path == case["path"]


def _ip_cases():
    block = DATA["ipv4_host_canonicalization"]
    for source in ("google_python_2010", "google_go"):
        for raw, want in block[source]["cases"]:
            yield pytest.param(raw, want or None, id=f"{source}:{raw}")


@pytest.mark.parametrize(("raw", "want"), list(_ip_cases()))
def test_ipv4_forms(raw, want):
    assert parse_ipv4(raw.encode()) == want


@pytest.mark.parametrize("case", DATA["ipv4_host_canonicalization"]["gglsbl"]["cases"], ids=str)
def test_ipv4_in_url(case):
    raw, want = case
    assert str(canonicalize(raw)) == want


@pytest.mark.parametrize("row", DATA["canonicalization_conflicts_between_clients"]["rows"], ids=str)
def test_client_conflicts_follow_docs(row):
    if row["input"] == "hosts with >5 labels":
        assert lookup_hosts("a.b.c.d.e.f.g") == ["a.b.c.d.e.f.g", "c.d.e.f.g", "d.e.f.g", "e.f.g", "f.g"]
    elif "docs" in row:
        assert str(canonicalize(row["input"])) == row["docs"]
    elif row["input"] == "http://www.google.com:443/":
        assert str(canonicalize(row["input"])) == "http://www.google.com/"
    elif row["input"] == "http://some%1bhost.com/%1b":
        assert str(canonicalize(row["input"])) == "http://some%1Bhost.com/%1B"
    elif row["input"] == "http://www.google.com/q?r?s%3F":
        assert str(canonicalize(row["input"])) == "http://www.google.com/q?r?s?"
    elif row["input"] == "myprotocol://site.com/":
        # docs are silent; we accept any scheme (the scheme plays no part in matching)
        assert expressions(row["input"]) == ["site.com/"]
    else:
        raise AssertionError(f"unhandled conflict row {row}")


def test_hash_vectors():
    hashes = DATA["hashes"]
    for case in hashes["sha256_prefix_cases"]:
        if "input" in case:
            data = case["input"].encode()
        else:
            data = case["input_repeat"]["char"].encode() * case["input_repeat"]["count"]
        digest = hashlib.sha256(data).digest()
        assert digest[: case["prefix_bits"] // 8].hex() == case["prefix_hex"]
        if "sha256" in case:
            assert digest.hex() == case["sha256"]
    for case in hashes["expression_sha256"]:
        assert expression_digest(b"", case["expression"]).hex() == case["sha256"]
