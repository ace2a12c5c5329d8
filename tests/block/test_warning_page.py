"""The warning page: status, headers, no entry revealed, private escalation."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from childsafe.block.core.warning import AttemptCounter, escalation_level
from childsafe.block.warning import WarningConfig, create_app


def _client(**cfg) -> TestClient:
    return TestClient(create_app(WarningConfig(**cfg)), client=("192.0.2.50", 1234))


def test_status_headers_and_content():
    c = _client(status=403, isp_name="Example ISP", appeal_email="appeals@example.com")
    r = c.get("/blocked")
    assert r.status_code == 403
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe-inline" not in csp
    assert "<script" not in r.text and "style=" not in r.text and "<style" not in r.text
    assert "Stop It Now" in r.text and "appeals@example.com" in r.text and "Example ISP" in r.text
    assert _client().get("/").status_code == 451
    assert c.get("/_childsafe/warning.css").headers["content-type"].startswith("text/css")


def test_page_never_depends_on_the_url():
    """No oracle: two clients at the same escalation level see the same bytes for any path."""
    app = create_app(WarningConfig())
    a = TestClient(app, client=("192.0.2.1", 1)).get("/listed.test/a/b?x=1")
    b = TestClient(app, client=("192.0.2.2", 1)).post("/whole.test/")
    assert a.status_code == b.status_code == 451
    assert a.content == b.content
    assert "listed.test" not in a.text and "whole.test" not in b.text


def test_repeated_attempts_escalate_per_client():
    app = create_app(WarningConfig())
    one = TestClient(app, client=("192.0.2.1", 1))
    titles = [re.search(r"<h1>(.*?)</h1>", one.get("/").text).group(1) for _ in range(4)]
    assert titles[0] == "This page is blocked"
    assert "again" in titles[1] and titles[1] == titles[2]
    assert titles[3] == "Please stop and get help now"
    other = TestClient(app, client=("192.0.2.2", 1))
    assert "<h1>This page is blocked</h1>" in other.get("/").text


def test_forwarded_for_is_trusted_only_from_the_proxy():
    app = create_app(WarningConfig(trusted_proxies=["192.0.2.9"]))
    proxy = TestClient(app, client=("192.0.2.9", 1))
    proxy.get("/", headers={"X-Forwarded-For": "198.51.100.1"})
    r = proxy.get("/", headers={"X-Forwarded-For": "198.51.100.2"})
    assert "<h1>This page is blocked</h1>" in r.text  # different clients behind the proxy
    outsider = TestClient(app, client=("192.0.2.77", 1))
    outsider.get("/", headers={"X-Forwarded-For": "198.51.100.3"})
    r = outsider.get("/", headers={"X-Forwarded-For": "198.51.100.4"})
    assert "again" in r.text  # spoofed header ignored: counted by its real address


def test_counter_keeps_no_addresses_and_rotates_daily():
    now = [1_800_000_000.0]
    salts = iter([b"a" * 32, b"b" * 32])
    counter = AttemptCounter(lambda: now[0], lambda n: next(salts))
    assert [counter.record("192.0.2.1") for _ in range(3)] == [1, 2, 3]
    assert counter.record("192.0.2.2") == 1
    assert "192.0.2.1" not in repr(vars(counter))
    day = next(iter(counter.aggregates))
    assert (counter.aggregates[day].views, counter.aggregates[day].repeat_clients) == (4, 1)
    now[0] += 86_400
    assert counter.record("192.0.2.1") == 1  # new day, new salt: no link to yesterday
    assert counter.clients_today == 1
    assert [escalation_level(n) for n in (1, 2, 3, 4, 9)] == [1, 2, 2, 3, 3]
