"""A list-editor adds an entry and publishes in Chromium; an ISP node then syncs over HTTP."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from childsafe.block.authority import generate_keys
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

LISTED = "http://blocked.test/files/page.html"
SIBLING = "http://blocked.test/files/other.html"


def _childsafe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from childsafe.cli.main import run; run()",
                           *args], capture_output=True, text=True, timeout=60, check=False)


def test_list_editor_adds_publishes_and_a_node_syncs(live_server, page, tmp_path):
    keys = live_server.data_dir / "block"
    keys.mkdir()
    generate_keys(keys / "list-signing.key", keys / "list-signing.pub")
    officer = live_server.officers("list.browser", roles="list-editor")

    page.goto(live_server.url + "/block")
    assert page.url.endswith("/login")
    log_in(page, live_server.url, officer)

    page.goto(live_server.url + "/block")
    assert page.get_by_role("heading", name="Block list").is_visible()
    page.get_by_label("URL").fill(LISTED)
    page.get_by_label("Scope", exact=True).select_option("page")
    page.get_by_label("Category", exact=True).fill("test-category")
    page.get_by_label("Reason", exact=True).fill("browser test")
    page.get_by_label("Review by").fill("2030-01-01")
    page.get_by_role("button", name="Add entry").click()
    page.wait_for_url(re.compile(r"/block\?done=added$"))
    assert page.get_by_role("status").inner_text().startswith("Entry added")
    assert page.get_by_text("blocked.test/files/page.html").is_visible()
    assert page.locator("svg.chart[aria-label='Active entries by category']").is_visible()

    page.get_by_role("button", name="Publish list 1").click()
    page.wait_for_url(re.compile(r"/block\?done=published$"))
    assert "Published list 1" in page.get_by_role("status").inner_text()
    assert page.locator("#latest-seq").inner_text().startswith("1 ·")
    fingerprint = page.locator("#key-fingerprint").inner_text()
    assert re.fullmatch(r"([0-9a-f]{4} ){15}[0-9a-f]{4}", fingerprint)
    assert not [e for e in page.console_errors if "Content Security Policy" in e]

    state = tmp_path / "node"
    r = _childsafe("block", "sync", "--source", live_server.url + "/block/list/",
                   "--state", str(state), "--public-key", str(keys / "list-signing.pub"))
    assert r.returncode == 0, r.stderr
    assert "installed list 1" in r.stdout
    r = _childsafe("block", "check", "--state", str(state), LISTED, SIBLING)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"listed\t{LISTED}", f"unlisted\t{SIBLING}"]
