"""What the HTTP benchmarks share: a real server (uvicorn) on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
                   port: int | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start `childsafe.web.asgi:app`, wait for /healthz, stop it (bounded) on exit."""
    port = port or free_port()
    log = log_path.open("wb")
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "childsafe.web.asgi:app",
                               "--host", "127.0.0.1", "--port", str(port), "--workers",
                               str(workers), "--log-level", "warning", "--no-access-log"],
                              env=os.environ | env, stdout=log, stderr=subprocess.STDOUT,
                              cwd=ROOT)
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
