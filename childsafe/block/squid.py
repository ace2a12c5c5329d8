"""Squid helper: url_rewrite_program / external_acl_type, plain or concurrent (channel ids).

Reads request lines from stdin and answers each on stdout, in order, unbuffered:

    [channel-id] URL [extras...]   ->   [channel-id] OK rewrite-url=WARNING   (listed)
                                        [channel-id] ERR                      (not listed)

`--mode redirect` answers `OK status=302 url=WARNING`; `--mode acl` answers `OK` (the ACL
matches: deny it) or `ERR`. The channel id is detected per line (a leading number followed
by a URL) unless forced. The same fixed answer is given whichever entry matched, so the
answer is no oracle for *which* entry is listed.

Robustness: input is bytes and hostile. Any line gets an answer: garbage (empty, only an id,
overlong) gets `BH message="..."`, an unparseable URL gets ERR (not listed), an internal
error gets BH and a line on stderr (Squid's cache.log). Answers for all complete lines of
one read are written together and immediately, so no answer ever waits for more input.

The list reloads when `STATE/current.csbl` changes (checked every `reload_interval`
seconds, between reads) or on SIGHUP; a list that fails to load is logged and the old one
stays in force. With no list yet, every URL passes (fail-open, logged).

The helper needs only the standard library, so it also runs as Squid's unprivileged user
under the system Python: `PYTHONPATH=/opt/childsafe python3 -m childsafe.block.squid ...`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import threading
import time
from dataclasses import dataclass
from itertools import compress
from typing import ClassVar, Protocol

from childsafe.block.core.listfile import ListError
from childsafe.block.core.matcher import Matcher
from childsafe.block.state import StateDir, StateError

MAX_LINE = 64 * 1024
READ_SIZE = 1 << 16


class HelperMode(Protocol):
    name: ClassVar[str]

    def answers(self, warning_url: bytes) -> tuple[bytes, bytes]:
        """(answer for a listed URL, answer for an unlisted one), without channel/newline."""
        ...


class RewriteMode:
    name: ClassVar[str] = "rewrite"

    def answers(self, warning_url: bytes) -> tuple[bytes, bytes]:
        return b"OK rewrite-url=" + warning_url, b"ERR"


class RedirectMode:
    name: ClassVar[str] = "redirect"

    def answers(self, warning_url: bytes) -> tuple[bytes, bytes]:
        return b"OK status=302 url=" + warning_url, b"ERR"


class AclMode:
    name: ClassVar[str] = "acl"

    def answers(self, warning_url: bytes) -> tuple[bytes, bytes]:
        return b"OK", b"ERR"


MODES: dict[str, HelperMode] = {}
for _mode in (RewriteMode(), RedirectMode(), AclMode()):
    if _mode.name in MODES:
        raise ValueError(f"duplicate helper mode {_mode.name!r}")
    MODES[_mode.name] = _mode


def log(message: str) -> None:
    with contextlib.suppress(OSError):
        os.write(2, f"childsafe-squid-helper: {message}\n".encode("utf-8", "replace"))


def check_warning_url(url: str) -> bytes:
    raw = url.encode("utf-8", "strict")
    if not url.startswith(("http://", "https://")) or any(b <= 0x20 or b == 0x22 for b in raw):
        raise ValueError("warning URL must be an http(s) URL without spaces or quotes")
    return raw


class ListHolder:
    """Holds the current `Matcher`; `reload()` swaps it with one reference assignment."""

    def __init__(self, state: StateDir, interval: float = 5.0) -> None:
        self.state = state
        self.interval = interval
        self.matcher = Matcher.empty()
        self.force = True
        self._stamp: tuple[int, int, int] | None = None
        self._next = 0.0

    def maybe_reload(self) -> None:
        now = time.monotonic()
        if not self.force and now < self._next:
            return
        self._next = now + self.interval
        try:
            st = os.stat(self.state.current_path)
            stamp: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_ino, st.st_size)
        except OSError:
            stamp = None
        if stamp == self._stamp and not self.force:
            return
        self.force = False
        self._stamp = stamp
        try:
            snap = self.state.current()
            if snap is None:
                log(f"no list in {self.state.path} yet: passing all traffic")
                return
            matcher = Matcher(snap)
        except (StateError, ListError, OSError) as exc:
            log(f"keeping list {self.matcher.seq}: cannot load new list: {exc}")
            return
        self.matcher = matcher
        log(f"list {matcher.seq} loaded ({matcher.size} hashed expressions)")


# One match per request line, newline included: the common shape
# `[ID ]http(s)://AUTHORITY[/PATH][ extras]` gives the channel prefix (`b""` if none), the
# origin `http(s)://AUTHORITY` and the path; any other line matches the last alternative and
# gives three `None`s (the host verdict of a None origin is `UNDECIDED`, truthy). URL bytes
# are printable (no space, TAB, CR or other control byte), so these are exactly the URLs the
# per-line path would also send straight to `Matcher.listed`. With `split`, n lines become
# [b"", ch, origin, path, b"", ch, ..., path, b""]: four flat list items per line, no tuple.
# Possessive repeats: nothing to backtrack into, linear time on any input.
_URL_TAIL = rb"(https?://[^/\x00-\x20]*+)(/[^\x00-\x20]*+|)(?: .*+|)|.*+)\n"
_LINE_RES = {
    "auto": re.compile(rb"(?:(\d++ |)" + _URL_TAIL),
    "on": re.compile(rb"(?:(\d++ )" + _URL_TAIL),
    "off": re.compile(rb"(?:()" + _URL_TAIL),
}


@dataclass
class Answerer:
    """Turns complete request lines into answer bytes (pure apart from the matcher cache).

    `block()` answers a whole read at once: one regex `split` cuts every line into channel
    prefix, origin and path; one `map` over the matcher's host cache gives every line's host
    verdict; the answers of all lines whose host has no entry (almost all traffic) are one
    `bytes.join`. No Python code runs per line except for lines whose host owns an entry
    (decided by `Matcher.listed`) and lines of any other shape (`answer_line`).
    """

    blocked: bytes
    passed: bytes
    channels: str = "auto"  # "auto", "on", "off"

    def __post_init__(self) -> None:
        self._line_re = _LINE_RES[self.channels]
        self._blocked_nl = self.blocked + b"\n"
        self._passed_nl = self.passed + b"\n"

    def _parse(self, line: bytes) -> tuple[bytes, bytes | None, bytes | None]:
        """(channel prefix, URL, or None and a BH answer) for any line, however odd."""
        parts = line.split(None, 2)
        if not parts:
            return b"", None, b'BH message="empty request"\n'
        first = self.channels != "off" and parts[0].isdigit()
        if first and (len(parts) > 1 or self.channels == "auto"):
            ch = parts[0] + b" "
            if len(parts) == 1:
                return ch, None, b'BH message="no URL"\n'
            return ch, parts[1], None
        if self.channels == "on":
            return b"", None, b'BH message="missing channel id"\n'
        return b"", parts[0], None

    def _decide(self, url: bytes, matcher: Matcher) -> bytes:
        try:
            return self._blocked_nl if matcher.listed(url) else self._passed_nl
        except Exception as exc:  # never let one request kill the helper
            log(f"internal error on a request: {exc!r}")
            return b'BH message="internal error"\n'

    def answer_line(self, line: bytes, matcher: Matcher) -> bytes:
        """The answer to one request line (any bytes without a newline), newline included."""
        i = line.find(b" ")
        if self.channels != "off" and i > 0 and line[:i].isdigit():
            j = line.find(b" ", i + 1)
            url: bytes | None = line[i + 1 : j] if j >= 0 else line[i + 1 :]
            ch = line[: i + 1]
        elif self.channels != "on" and i > 0:
            url, ch = line[:i], b""
        else:
            url = b""
        if not url or url[-1] <= 32 or b"\t" in url:
            ch, url, bad = self._parse(line)
            if url is None:
                return ch + (bad or b"BH\n")
        return ch + self._decide(url, matcher)

    def block(self, block: bytes, matcher: Matcher) -> bytes:
        """Answers for `block`: complete lines, each ending in a newline. One answer line
        per request line."""
        if not block.endswith(b"\n"):
            raise ValueError("block must end with a newline")
        parts = self._line_re.split(block)
        if parts[0] or parts[4::4].count(b"") != len(parts) // 4:
            # Cannot happen (every line is one match); never answer out of step.
            return b"".join([self.answer_line(ln, matcher) for ln in block.split(b"\n")[:-1]])
        chs = parts[1::4]
        origins = parts[2::4]  # None for a line of another shape: verdict UNDECIDED (truthy)
        passed = self._passed_nl
        slow = list(compress(range(len(chs)), map(matcher.host_cache.__getitem__, origins)))
        if not slow:
            return passed.join(chs) + passed
        lines: list[bytes] | None = None
        out: list[bytes] = []
        prev = 0
        for i in slow:
            ch = chs[i]
            chs[i] = b""
            out.append(passed.join(chs[prev : i + 1]))  # lines prev..i-1 answered
            if ch is None:  # the per-line path decides
                if lines is None:
                    lines = block.split(b"\n")
                out.append(self.answer_line(lines[i], matcher))
            else:
                out.append(ch + self._decide(origins[i] + parts[4 * i + 3], matcher))
            prev = i + 1
        if prev < len(chs):
            out.append(passed.join(chs[prev:]) + passed)
        return b"".join(out)

    def __call__(self, lines: list[bytes], matcher: Matcher) -> bytes:
        """Answers for a list of complete lines (without newlines), in order."""
        return self.block(b"\n".join(lines) + b"\n", matcher) if lines else b""

    def overlong(self, head: bytes) -> bytes:
        parts = head.split(None, 1)
        ch = parts[0] + b" " if parts and parts[0].isdigit() and self.channels != "off" else b""
        return ch + b'BH message="request line too long"\n'


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def serve(holder: ListHolder, answerer: Answerer, in_fd: int = 0, out_fd: int = 1) -> None:
    """Answer requests until EOF on `in_fd`."""

    def on_hup(signum, frame) -> None:
        holder.force = True

    if hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGHUP, on_hup)
    buf = b""
    discarding: bytes | None = None  # head of an overlong line being skipped
    holder.maybe_reload()
    while True:
        chunk = os.read(in_fd, READ_SIZE)
        if not chunk:
            return
        holder.maybe_reload()  # after the read, so the request that arrives sees a new list
        if discarding is not None:
            nl = chunk.find(b"\n")
            if nl < 0:
                continue
            _write_all(out_fd, answerer.overlong(discarding))
            discarding, chunk = None, chunk[nl + 1 :]
        data = buf + chunk if buf else chunk
        end = data.rfind(b"\n")
        if end < 0:
            out, buf = b"", data
        else:
            out, buf = answerer.block(data[: end + 1], holder.matcher), data[end + 1 :]
        if len(buf) > MAX_LINE:
            discarding, buf = buf[:64], b""
        if out:
            _write_all(out_fd, out)


def main(
    state: str,
    warning_url: str,
    mode: str = "rewrite",
    reload_interval: float = 5.0,
    channels: str = "auto",
) -> int:
    """Entry point used by the CLI; returns the exit status."""
    try:
        url = check_warning_url(warning_url)
    except ValueError as exc:
        log(str(exc))
        return 2
    if mode not in MODES or channels not in ("auto", "on", "off"):
        log(f"unknown mode {mode!r} or channels {channels!r}")
        return 2
    blocked, passed = MODES[mode].answers(url)
    holder = ListHolder(StateDir(state), reload_interval)
    try:
        serve(holder, Answerer(blocked, passed, channels))
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0
    return 0


def cli(argv: list[str] | None = None) -> int:
    """`python3 -m childsafe.block.squid`: the helper without the typer CLI."""
    p = argparse.ArgumentParser(prog="childsafe.block.squid", description=__doc__.split("\n")[0])
    p.add_argument("--state", required=True)
    p.add_argument("--warning-url", required=True)
    p.add_argument("--mode", default="rewrite", choices=sorted(MODES))
    p.add_argument("--reload-interval", type=float, default=5.0)
    p.add_argument("--channels", default="auto", choices=["auto", "on", "off"])
    a = p.parse_args(argv)
    return main(a.state, a.warning_url, a.mode, a.reload_interval, a.channels)


if __name__ == "__main__":
    raise SystemExit(cli())
