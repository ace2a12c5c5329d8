"""RPZ export: rendering rules, and a real Unbound answering from the exported zone."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

from childsafe.block.core.rpz import Policy, render_rpz

from .conftest import entry, free_port, stop

UNBOUND = shutil.which("unbound") or ("/usr/sbin/unbound" if os.path.exists("/usr/sbin/unbound") else None)
ZONE = "rpz.childsafe.invalid"


def test_only_whole_host_entries_are_exported():
    text, skipped = render_rpz(
        [
            entry("whole.test", "host"),
            entry("http://pages.test/a.html", "page"),
            entry("http://folder.test/a", "prefix"),
            entry("192.0.2.9", "host"),
        ],
        serial=7,
    )
    assert "whole.test CNAME ." in text and "*.whole.test CNAME ." in text
    assert "pages.test" not in text and "folder.test" not in text and "192.0.2.9" not in text
    assert skipped == []


def test_cname_policy_needs_a_valid_target():
    text, _ = render_rpz(
        [entry("whole.test", "host")], serial=1, policy=Policy.CNAME, warning_host="warning.example.com"
    )
    assert "whole.test CNAME warning.example.com." in text
    with pytest.raises(ValueError):
        render_rpz([], serial=1, policy=Policy.CNAME, warning_host=None)


def _query(port: int, name: str, qtype: int = 1) -> tuple[int, bytes]:
    """Minimal stub resolver: (rcode, raw answer section) for one question."""
    qid = int.from_bytes(os.urandom(2), "big")
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        for _ in range(10):
            try:
                s.sendto(packet, ("127.0.0.1", port))
                data, _ = s.recvfrom(4096)
                break
            except (TimeoutError, ConnectionRefusedError):
                time.sleep(0.3)
        else:
            raise AssertionError("unbound did not answer")
    rid, flags, qd, an = struct.unpack(">HHHH", data[:8])
    assert rid == qid
    return flags & 0xF, data[12 + len(qname) + 4 :] if an else b""


@pytest.mark.integration
@pytest.mark.skipif(UNBOUND is None, reason="unbound binary not installed (apt-get install unbound)")
@pytest.mark.parametrize("policy", [Policy.NXDOMAIN, Policy.CNAME])
def test_unbound_applies_the_exported_zone(world_dir: Path, policy: Policy):
    text, _ = render_rpz(
        [entry("listed.test", "host"), entry("http://clean.test/only/this.html", "page")],
        serial=1,
        policy=policy,
        warning_host="warn.test",
    )
    (world_dir / "zone.rpz").write_text(text)
    # The names' real data, served as if from upstream (local-data would bypass RPZ).
    (world_dir / "test.zone").write_text(
        "$ORIGIN test.\n$TTL 60\n@ SOA localhost. hostmaster.invalid. 1 3600 600 86400 60\n"
        "@ NS localhost.\nclean A 192.0.2.10\nlisted A 192.0.2.11\nwww.listed A 192.0.2.12\n"
        "warn A 192.0.2.99\n"
    )
    port = free_port()
    (world_dir / "unbound.conf").write_text(f"""
server:
  interface: 127.0.0.1
  port: {port}
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "{world_dir}"
  pidfile: "{world_dir}/unbound.pid"
  use-syslog: no
  verbosity: 1
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  module-config: "respip validator iterator"
  local-zone: "test." nodefault
remote-control:
  control-enable: no
auth-zone:
  name: "test."
  zonefile: "{world_dir}/test.zone"
  for-downstream: no
  for-upstream: yes
  fallback-enabled: no
rpz:
  name: "{ZONE}."
  zonefile: "{world_dir}/zone.rpz"
""")
    proc = subprocess.Popen(
        [UNBOUND, "-d", "-c", str(world_dir / "unbound.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        rcode, answer = _query(port, "clean.test")
        assert rcode == 0 and bytes([192, 0, 2, 10]) in answer  # unlisted: untouched
        for name in ("listed.test", "www.listed.test"):
            rcode, answer = _query(port, name)
            if policy is Policy.NXDOMAIN:
                assert rcode == 3, name  # NXDOMAIN
            else:
                assert rcode == 0 and bytes([192, 0, 2, 99]) in answer, name
                assert bytes([192, 0, 2, 11]) not in answer and bytes([192, 0, 2, 12]) not in answer
    finally:
        stop(proc)
        proc.stderr.close()
