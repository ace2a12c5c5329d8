"""Fixtures for the block tests: keys, entries, published lists, node state, services."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from childsafe.block.core.entries import Entry, make_entry
from childsafe.block.core.listfile import ListSnapshot, build_snapshot
from childsafe.block.state import StateDir

REPO = Path(__file__).resolve().parents[2]
LIST_KEY = bytes(range(16))

# Reserved names only (RFC 2606 / 6761): *.test, example.com, *.invalid, 192.0.2.0/24.
DEFAULT_ROWS = [
    ("http://listed.test/a/b", "prefix"),
    ("http://listed.test/page.html", "page"),
    ("http://listed.test/q.html?id=7", "page"),
    ("whole.test", "host"),
    ("http://192.0.2.7/x/y.html", "page"),
    ("http://example.com/Case/Sensitive.html", "page"),
]


def entry(url: str, scope: str = "page", **kw: str) -> Entry:
    return make_entry(
        url,
        scope,
        kw.get("category", "test"),
        kw.get("added_by", "tester"),
        kw.get("reason", ""),
        kw.get("review_date", "2030-01-01"),
    )


@pytest.fixture
def entries() -> list[Entry]:
    return [entry(u, s) for u, s in DEFAULT_ROWS]


@pytest.fixture
def snapshot(entries: list[Entry]) -> ListSnapshot:
    return build_snapshot(entries, seq=1, list_key=LIST_KEY, created=1_700_000_000)


@pytest.fixture(scope="session")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["url,scope,category,added_by,reason,review_date"]
    lines += [f"{u},{s},test,tester,,2030-01-01" for u, s in rows]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A temp dir any user can read: Squid's helpers run as its unprivileged user."""
    d = Path(tempfile.mkdtemp(prefix="childsafe-block-"))
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen | None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture
def install_list(world_dir: Path) -> Callable[[list[Entry], int], StateDir]:
    """Install entries as a node's current list (state dir readable by Squid's user)."""
    state = StateDir(world_dir / "state")

    def install(es: list[Entry], seq: int = 1) -> StateDir:
        state.install(build_snapshot(es, seq=seq, list_key=LIST_KEY, created=0))
        os.chmod(state.path, 0o755)
        return state

    return install


def helper_command(state: Path, warning_url: str, *extra: str) -> list[str]:
    """The helper as a stdlib-only process (what Squid runs)."""
    return [
        sys.executable,
        "-m",
        "childsafe.block.squid",
        "--state",
        str(state),
        "--warning-url",
        warning_url,
        *extra,
    ]


@pytest.fixture
def run_thread_server() -> Iterator[Callable]:
    """Run a uvicorn ASGI app in a thread on a free loopback port; stopped at teardown."""
    import uvicorn

    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app) -> int:
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off")
        )
        t = threading.Thread(target=server.run, daemon=True)
        t.start()
        servers.append((server, t))
        wait_port(port, None)
        return port

    yield start
    for server, t in servers:
        server.should_exit = True
        t.join(timeout=10)
