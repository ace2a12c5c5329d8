"""The embedded button on a provider's own origin (cross-origin script + tips fetch).

The provider page is served by Playwright at http://localhost:PORT (another origin than the
server's http://127.0.0.1:PORT, both loopback). Chromium's local-network checks are turned
off for this one browser: they concern loopback-to-loopback tests, not real providers.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_button_works_on_a_provider_origin(live_server, browser):
    """The provider's page is on another origin (localhost vs 127.0.0.1)."""
    provider_page = live_server.url.replace("127.0.0.1", "localhost") + "/provider-host"
    host = ('<!doctype html><html lang="en"><head><title>ExampleChat</title></head><body>'
            '<main><h1>ExampleChat</h1></main>'
            f'<script src="{live_server.url}/static/embed.js" data-provider="ExampleChat" '
            'data-lang="en" data-audience="parent_carer" defer></script></body></html>')
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(5_000)
        page.route(provider_page, lambda route: route.fulfill(
            status=200, content_type="text/html", body=host))
        page.goto(provider_page)
        page.get_by_role("button", name="Report abuse").click()
        page.get_by_text("Listen first", exact=True).wait_for()
        href = page.locator("#childsafe-report-link").get_attribute("href")
        assert href.startswith(live_server.url + "/report?via=embed")
    finally:
        context.close()
