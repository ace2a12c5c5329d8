"""What the HTTP benchmarks share: a real server (uvicorn) on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
# High enough that a benchmark measures intake, not the abuse limits.
UNLIMITED = {"CHILDSAFE_REPORTS_PER_IP_PER_HOUR": "100000000",
             "CHILDSAFE_REPORTS_PER_CONTACT_PER_DAY": "100000000"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(env: dict[str, str], log_path: Path, *, workers: int = 1,
                   port: int | None = None, cli_args: list[str] | None = None
                   ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start `childsafe.web.asgi:app`, wait for /healthz, stop it (bounded) on exit.

    With `cli_args` the server is started the way the README tells an operator to:
    `childsafe serve --host 127.0.0.1 --port PORT --workers N <cli_args>`; without, by
    uvicorn directly, quiet."""
    port = port or free_port()
    log = log_path.open("wb")
    if cli_args is not None:
        command = [sys.executable, "-c", "from childsafe.cli.main import run; run()", "serve",
                   "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                   *cli_args]
    else:
        command = [sys.executable, "-m", "uvicorn", "childsafe.web.asgi:app", "--host",
                   "127.0.0.1", "--port", str(port), "--workers", str(workers),
                   "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, env=os.environ | env, stdout=log,
                              stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit("server did not start: " + log_path.read_text()[-2000:])
        yield base, server
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def server_processes(server: subprocess.Popen[bytes]) -> list[int]:
    """The server's process and its children (uvicorn's workers), as pids."""
    pids = [server.pid]
    with suppress(OSError):
        pids += [int(p) for p in
                 Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def connection_owners(pids: list[int], port: int) -> dict[int, int]:
    """Which server process holds each accepted connection on `port`: client port -> pid.

    Read from /proc (the load runs on the same machine): the server side of each loopback
    connection, by socket inode, and the processes whose file descriptors hold that inode."""
    peer_of_inode: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if local_port == port and remote_port and int(fields[9]):
                peer_of_inode[int(fields[9])] = remote_port
    owners: dict[int, int] = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                peer = peer_of_inode.get(int(link[8:-1]))
                if peer is not None:
                    owners[peer] = pid
    return owners
