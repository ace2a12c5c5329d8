"""Signed snapshots/deltas, publication in files, and the node's sync/rollback."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from childsafe.block.authority import publish_to_dir, read_entries
from childsafe.block.core.listfile import (
    ListDelta,
    ListError,
    apply_delta,
    build_snapshot,
    compute_delta,
    decode_local,
    decode_signed,
    encode_local,
    encode_signed,
)
from childsafe.block.core.matcher import Matcher
from childsafe.block.core.publish import LATEST, delta_name, snapshot_name
from childsafe.block.sources import DirSource, HttpSource
from childsafe.block.state import StateDir
from childsafe.block.sync import SyncError, sync
from childsafe.cli.block import app

from .conftest import LIST_KEY, write_csv


def test_snapshot_and_delta_round_trip(entries, signing_key):
    old = build_snapshot(entries[:4], seq=1, list_key=LIST_KEY, created=1)
    new = build_snapshot(entries[2:], seq=2, list_key=LIST_KEY, created=2)
    pub = signing_key.public_key()
    assert decode_signed(encode_signed(old, signing_key), pub) == old
    delta = compute_delta(old, new)
    got = decode_signed(encode_signed(delta, signing_key), pub)
    assert isinstance(got, ListDelta)
    assert apply_delta(old, got) == new
    assert decode_local(encode_local(new)) == new


def test_files_hold_no_plaintext(entries, signing_key):
    data = encode_signed(build_snapshot(entries, seq=1, list_key=LIST_KEY, created=0), signing_key)
    for needle in (b"listed", b"whole", b"test", b"192.0.2", b"page.html"):
        assert needle not in data


def test_tampering_and_wrong_keys_are_rejected(snapshot, signing_key):
    data = bytearray(encode_signed(snapshot, signing_key))
    data[100] ^= 1
    with pytest.raises(ListError, match="signature"):
        decode_signed(bytes(data), signing_key.public_key())
    with pytest.raises(ListError, match="signature"):
        decode_signed(encode_signed(snapshot, signing_key), Ed25519PrivateKey.generate().public_key())
    with pytest.raises(ListError):
        decode_signed(encode_signed(snapshot, signing_key)[:-70], signing_key.public_key())
    with pytest.raises(ListError):
        decode_signed(b"garbage" * 30, signing_key.public_key())


def test_delta_must_fit_the_list(entries):
    s1 = build_snapshot(entries[:2], seq=1, list_key=LIST_KEY, created=0)
    s2 = build_snapshot(entries[:3], seq=2, list_key=LIST_KEY, created=0)
    s3 = build_snapshot(entries, seq=3, list_key=LIST_KEY, created=0)
    with pytest.raises(ListError, match="does not apply"):
        apply_delta(s1, compute_delta(s2, s3))
    forged = compute_delta(s1, s2)
    forged = ListDelta(**{**{f: getattr(forged, f) for f in forged.__slots__}, "content_hash": bytes(32)})
    with pytest.raises(ListError, match="content hash"):
        apply_delta(s1, forged)


def _publish(out: Path, key: Ed25519PrivateKey, es) -> None:
    publish_to_dir(es, out, key)


def test_sync_snapshot_then_deltas_and_removals(tmp_path, entries, signing_key):
    pub, state = tmp_path / "pub", StateDir(tmp_path / "state")
    _publish(pub, signing_key, entries)
    r = sync(DirSource(str(pub)), state, signing_key.public_key())
    assert (r.method, r.new_seq) == ("snapshot", 1)
    assert Matcher(state.current()).listed(b"http://whole.test/x")
    _publish(pub, signing_key, entries[:3])  # whole.test removed
    _publish(pub, signing_key, entries[:2])
    r = sync(DirSource(str(pub)), state, signing_key.public_key())
    assert (r.method, r.old_seq, r.new_seq) == ("deltas", 1, 3)
    assert not Matcher(state.current()).listed(b"http://whole.test/x")
    assert sync(DirSource(str(pub)), state, signing_key.public_key()).method == "up-to-date"


def test_missing_or_bad_delta_falls_back_to_snapshot(tmp_path, entries, signing_key):
    pub, state = tmp_path / "pub", StateDir(tmp_path / "state")
    _publish(pub, signing_key, entries)
    sync(DirSource(str(pub)), state, signing_key.public_key())
    _publish(pub, signing_key, entries[1:])
    (pub / delta_name(1, 2)).unlink()
    r = sync(DirSource(str(pub)), state, signing_key.public_key())
    assert r.method == "snapshot" and "missing" in r.notes[0]
    _publish(pub, signing_key, entries[2:])
    (pub / delta_name(2, 3)).write_bytes(b"CSBL" + os.urandom(300))
    r = sync(DirSource(str(pub)), state, signing_key.public_key())
    assert (r.method, r.new_seq) == ("snapshot", 3)


def test_failures_keep_the_last_good_list(tmp_path, entries, signing_key):
    pub, state = tmp_path / "pub", StateDir(tmp_path / "state")
    _publish(pub, signing_key, entries)
    sync(DirSource(str(pub)), state, signing_key.public_key())
    before = (state.path / "current.csbl").read_bytes()
    _publish(pub, signing_key, entries[1:])
    (pub / delta_name(1, 2)).unlink()
    snap = pub / snapshot_name(2)
    snap.write_bytes(snap.read_bytes()[:-1] + b"\x00")  # broken signature
    with pytest.raises(SyncError, match="signature"):
        sync(DirSource(str(pub)), state, signing_key.public_key())
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(SyncError):
        sync(DirSource(str(pub)), state, other)
    (pub / LATEST).write_text("0\n")
    with pytest.raises(SyncError, match="refusing to go back"):
        sync(DirSource(str(pub)), state, signing_key.public_key())
    assert (state.path / "current.csbl").read_bytes() == before


def test_rollback_swaps_to_the_previous_good_list(tmp_path, entries, signing_key):
    pub, state = tmp_path / "pub", StateDir(tmp_path / "state")
    _publish(pub, signing_key, entries)
    sync(DirSource(str(pub)), state, signing_key.public_key())
    _publish(pub, signing_key, entries[:1])
    sync(DirSource(str(pub)), state, signing_key.public_key())
    assert state.rollback() == (2, 1)
    assert state.current().seq == 1 and state.previous().seq == 2


def test_http_source(tmp_path, entries, signing_key):
    pub = tmp_path / "pub"
    _publish(pub, signing_key, entries)

    def handler(request: httpx.Request) -> httpx.Response:
        f = pub / request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, content=f.read_bytes()) if f.exists() else httpx.Response(404)

    src = HttpSource("http://lists.example.com/block/", transport=httpx.MockTransport(handler))
    state = StateDir(tmp_path / "state")
    assert sync(src, state, signing_key.public_key()).new_seq == 1
    assert Matcher(state.current()).listed(b"http://whole.test/")


def test_csv_errors_name_the_line(tmp_path):
    path = write_csv(
        tmp_path / "e.csv",
        [
            ("http://listed.test/a/b", "prefix"),
            ("http://listed.test/", "page"),
            ("/nohost", "page"),
            ("whole.test", "domain"),
        ],
    )
    rows, errors = read_entries(path)
    assert len(rows) == 1
    assert [e.line for e in errors] == [3, 4, 5]
    assert "scope 'domain'" in str(errors[2])


def test_cli_keygen_publish_sync_check_rollback(tmp_path):
    runner = CliRunner()
    keys, pub, st = tmp_path / "keys", tmp_path / "pub", tmp_path / "st"
    assert runner.invoke(app, ["keygen", "--out", str(keys)]).exit_code == 0
    assert oct((keys / "list-signing.key").stat().st_mode & 0o777) == "0o600"
    csv = write_csv(tmp_path / "e.csv", [("http://listed.test/a/b", "prefix")])
    key = ["--key", str(keys / "list-signing.key")]
    assert runner.invoke(app, ["publish", "--entries", str(csv), "--out", str(pub), *key]).exit_code == 0
    sync_args = [
        "sync",
        "--source",
        str(pub),
        "--state",
        str(st),
        "--public-key",
        str(keys / "list-signing.pub"),
    ]
    r = runner.invoke(app, sync_args)
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["check", "--state", str(st), "http://listed.test/a/b/c", "http://listed.test/a/bc"]
    )
    assert r.stdout.splitlines() == ["listed\thttp://listed.test/a/b/c", "unlisted\thttp://listed.test/a/bc"]
    bad = write_csv(tmp_path / "bad.csv", [("http://listed.test/", "page")])
    r = runner.invoke(app, ["publish", "--entries", str(bad), "--out", str(pub), *key])
    assert r.exit_code == 1 and "line 2" in r.output
    (pub / LATEST).write_text("9\n")
    r = runner.invoke(app, sync_args)
    assert r.exit_code == 1 and "last good list kept" in r.output
    assert runner.invoke(app, ["sync", "--state", str(st), "--rollback"]).exit_code == 1  # no previous
    r = runner.invoke(app, ["canon", "http://LISTED.test:80/a/./b", "/nohost"])
    assert r.stdout.splitlines() == ["http://listed.test/a/b", "!INVALID"]
    r = runner.invoke(app, ["expressions", "http://a.b.c/1/2.html?param=1"])
    assert len(r.stdout.splitlines()) == 8
