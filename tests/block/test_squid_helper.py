"""The Squid helper protocol, hostile input, reloads, and the no-oracle property."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

from childsafe.block.core.matcher import Matcher
from childsafe.block.squid import MODES, Answerer, ListHolder, serve

from .conftest import entry, helper_command

WARN = b"http://warning.example.com/blocked"


@pytest.fixture
def answer(snapshot):
    matcher = Matcher(snapshot)
    blocked, passed = MODES["rewrite"].answers(WARN)
    a = Answerer(blocked, passed)
    return lambda *lines: a([ln.encode() if isinstance(ln, str) else ln for ln in lines], matcher)


def test_concurrent_and_plain_forms(answer):
    out = answer(
        "0 http://listed.test/a/b/c 192.0.2.1/- - GET myip=127.0.0.1 myport=3128",
        "17 http://listed.test/a/bc 192.0.2.1/- - GET",
        "http://whole.test/x 192.0.2.1/- - GET",
        "http://other.test/",
        "3 listed.test:443 192.0.2.1/- - CONNECT",
    )
    assert out.split(b"\n") == [
        b"0 OK rewrite-url=" + WARN,
        b"17 ERR",
        b"OK rewrite-url=" + WARN,
        b"ERR",
        b"3 ERR",
        b"",
    ]


def test_garbage_gets_an_answer_never_an_exception(answer):
    lines = [
        b"",
        b"   ",
        b"5",
        b"\x00\xff\xfe",
        b"9 \x00",
        b"1 http://[::1",
        b"2\thttp://whole.test/",
        b"4  http://whole.test/  x",
        b"x" * 70000,
        "7 http://\u00fc.test/".encode(),
        b"8 %%%%",
    ]
    out = answer(*lines).split(b"\n")
    assert len(out) == len(lines) + 1
    assert out[0].startswith(b"BH") and out[1].startswith(b"BH") and out[2] == b'5 BH message="no URL"'
    assert out[6] == b"2 OK rewrite-url=" + WARN and out[7] == b"4 OK rewrite-url=" + WARN


def test_modes(snapshot):
    m = Matcher(snapshot)
    for mode, hit in [("redirect", b"1 OK status=302 url=" + WARN), ("acl", b"1 OK")]:
        blocked, passed = MODES[mode].answers(WARN)
        assert Answerer(blocked, passed)([b"1 http://whole.test/", b"2 http://ok.test/"], m) == (
            hit + b"\n2 ERR\n"
        )


def test_no_oracle_every_block_answer_is_identical(answer):
    """Whichever entry matched (page, prefix, host, IP), the answer bytes are the same."""
    urls = [
        "http://listed.test/a/b/c",
        "http://listed.test/page.html",
        "http://whole.test/",
        "http://192.0.2.7/x/y.html",
        "http://example.com/Case/Sensitive.html",
    ]
    answers = {answer(f"1 {u}") for u in urls}
    assert answers == {b"1 OK rewrite-url=" + WARN + b"\n"}


def _run(holder: ListHolder, data: bytes) -> bytes:
    rin, win = os.pipe()
    rout, wout = os.pipe()
    blocked, passed = MODES["rewrite"].answers(WARN)
    t = threading.Thread(target=serve, args=(holder, Answerer(blocked, passed), rin, wout))
    t.start()
    writer = threading.Thread(target=lambda: (os.write(win, data), os.close(win)), daemon=True)
    writer.start()
    t.join(timeout=30)
    assert not t.is_alive(), "serve() did not finish"
    os.close(wout)
    out = b""
    while chunk := os.read(rout, 65536):
        out += chunk
    os.close(rin)
    os.close(rout)
    return out


def test_serve_handles_overlong_lines_and_partial_reads(install_list):
    state = install_list([entry("whole.test", "host")])
    holder = ListHolder(state, interval=60)
    data = b"1 http://whole.test/\n2 http://" + b"a" * 200_000 + b"/\n3 http://ok.test/\n4 http://whole"
    out = _run(holder, data + b".test/x\n")
    assert out.split(b"\n") == [
        b"1 OK rewrite-url=" + WARN,
        b'2 BH message="request line too long"',
        b"3 ERR",
        b"4 OK rewrite-url=" + WARN,
        b"",
    ]


def test_list_reloads_when_the_state_changes_and_survives_a_bad_file(install_list):
    state = install_list([entry("whole.test", "host")])
    holder = ListHolder(state, interval=0)
    holder.maybe_reload()
    assert holder.matcher.listed(b"http://whole.test/")
    install_list([entry("other.test", "host")], seq=2)
    holder.maybe_reload()
    assert holder.matcher.seq == 2 and not holder.matcher.listed(b"http://whole.test/")
    state.current_path.write_bytes(b"broken")
    holder.maybe_reload()
    assert holder.matcher.seq == 2 and holder.matcher.listed(b"http://other.test/")


def test_helper_process_survives_hostile_bytes_and_reloads_on_sighup(install_list):
    state = install_list([entry("whole.test", "host")])
    proc = subprocess.Popen(
        helper_command(state.path, WARN.decode(), "--reload-interval", "3600"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        proc.stdin.write(
            b"1 http://whole.test/\n\x00\xff garbage \r\n\n"
            + os.urandom(3000).replace(b"\n", b"")
            + b"\n2 http://whole.test/\n"
        )
        proc.stdin.flush()
        lines = [proc.stdout.readline() for _ in range(5)]
        assert lines[0] == b"1 OK rewrite-url=" + WARN + b"\n"
        assert lines[4] == b"2 OK rewrite-url=" + WARN + b"\n"
        install_list([entry("other.test", "host")], seq=2)
        proc.send_signal(1)  # SIGHUP: reload now
        time.sleep(0.3)
        proc.stdin.write(b"3 http://whole.test/\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == b"3 ERR\n"
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
        err = proc.stderr.read().decode()
        proc.stdout.close()
        proc.stderr.close()
    assert "list 2 loaded" in err
