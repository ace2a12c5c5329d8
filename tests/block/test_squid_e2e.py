"""End to end with a real Squid: our helper as url_rewrite_program (concurrent channels)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from childsafe.block.warning import WarningConfig, create_app

from .conftest import REPO, entry, free_port, stop, wait_port

pytestmark = pytest.mark.integration

SQUID = shutil.which("squid") or ("/usr/sbin/squid" if os.path.exists("/usr/sbin/squid") else None)


def _body(path: str) -> bytes:
    seed = hashlib.sha256(path.encode()).digest()
    return b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(3000))


class Origin(BaseHTTPRequestHandler):
    seen: list[tuple[str, dict[str, str]]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        Origin.seen.append((self.path, dict(self.headers.items())))
        data = _body(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def _helper_python() -> str:
    """An interpreter Squid's helper user can run (the helper needs only the stdlib)."""
    if os.geteuid() != 0:
        return sys.executable
    tried = []
    for py in (sys.executable, "/usr/bin/python3"):
        r = subprocess.run(
            [
                "runuser",
                "-u",
                "proxy",
                "--",
                "env",
                f"PYTHONPATH={REPO}",
                py,
                "-c",
                "import childsafe.block.squid",
            ],
            cwd="/",
            capture_output=True,
            timeout=60,
        )
        if r.returncode == 0:
            return py
        tried.append(f"{py}: {r.stderr.decode(errors='replace').strip()[-200:]}")
    pytest.fail("Squid runs helpers as 'proxy', which cannot run the helper: " + "; ".join(tried))


@pytest.mark.skipif(SQUID is None, reason="squid binary not installed (apt-get install squid)")
def test_squid_blocks_listed_and_passes_the_rest(world_dir: Path, install_list, run_thread_server):
    state = install_list(
        [
            entry("http://listed.test/a/b", "prefix"),
            entry("http://listed.test/Page.html", "page"),
            entry("whole.test", "host"),
        ]
    )
    Origin.seen = []
    origin = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    oport = origin.server_address[1]
    wport = run_thread_server(create_app(WarningConfig(status=451, isp_name="Test ISP")))
    sport = free_port()
    (world_dir / "hosts").write_text("127.0.0.1 listed.test www.whole.test warn.test other.test\n")
    py = _helper_python()
    conf = f"""
http_port 127.0.0.1:{sport}
pid_filename {world_dir}/squid.pid
cache_log {world_dir}/cache.log
access_log stdio:{world_dir}/access.log
coredump_dir {world_dir}
netdb_filename none
pinger_enable off
cache deny all
cache_mem 0 MB
memory_cache_shared off
hosts_file {world_dir}/hosts
dns_nameservers 127.0.0.1
forwarded_for on
http_access allow localhost
http_access deny all
url_rewrite_program /usr/bin/env PYTHONPATH={REPO} {py} -m childsafe.block.squid \
  --state {state.path} --warning-url http://warn.test:{wport}/blocked --reload-interval 0.3
url_rewrite_children 2 startup=1 idle=1 concurrency=8
shutdown_lifetime 1 second
"""
    if os.geteuid() == 0:
        conf += "cache_effective_user proxy\n"
    (world_dir / "squid.conf").write_text(conf)
    proc = subprocess.Popen(
        [SQUID, "-N", "-n", f"csbt{os.getpid()}", "-f", str(world_dir / "squid.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=world_dir,
    )
    try:
        wait_port(sport, proc)
        with httpx.Client(proxy=f"http://127.0.0.1:{sport}", trust_env=False, timeout=20) as c:
            base = f"http://listed.test:{oport}"
            blocked = [
                base + "/a/b",
                base + "/a/b/",
                base + "/a/b/c/d.html?x=1",
                base + "/a//b/c",
                base + "/x/../a/b/c",
                base + "/a/./b/c",
                base + "/%61/b/c",
                base + "/Page.html",
                f"http://LISTED.test.:{oport}/a/b/c",
                f"http://user@listed.test:{oport}/a/b/c",
                f"http://www.whole.test:{oport}/anything",
            ]
            pages = []
            for url in blocked:
                r = c.get(url)
                assert r.status_code == 451, url
                assert "blocked" in r.text and "Stop It Now" in r.text
                assert "default-src 'none'" in r.headers["content-security-policy"]
                pages.append(r.text)
            assert "again" in pages[1] or "stop" in pages[1].lower()  # escalation
            assert not any(p.startswith(("/a/b", "/x/", "/%61", "/Page")) for p, _ in Origin.seen)
            assert not any("anything" in p for p, _ in Origin.seen)
            for path in ["/a/bc", "/a/B/c", "/page.html", "/", "/a/", "/other?a/b"]:
                r = c.get(base + path)
                assert r.status_code == 200, path
                assert r.content == _body(path), path
            seen = dict(Origin.seen)
            assert "/a/bc" in seen and "127.0.0.1" in seen["/a/bc"].get("X-Forwarded-For", "")
            # removals take effect once the node's list changes (next sync)
            install_list([entry("whole.test", "host")], seq=2)
            time.sleep(1.0)
            for _ in range(3):  # each helper child reloads on its next request
                r = c.get(base + "/a/b/c")
            assert r.status_code == 200 and r.content == _body("/a/b/c")
            assert c.get(f"http://www.whole.test:{oport}/x").status_code == 451
    finally:
        stop(proc)
        origin.shutdown()
        origin.server_close()
    log = (world_dir / "cache.log").read_text(errors="replace")
    assert "FATAL" not in log, log[-2000:]
    assert "list 2 loaded" in log
