"""Web fixtures: the app on each store with a controllable clock, and a login helper."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from childsafe.web.app import create_app
from tests.helpers import Clock, Officer, csrf_from


@pytest.fixture
def app(settings, db, clock):
    application = create_app(settings, db)
    application.state.clock = clock
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    # https: the session cookie is Secure and __Host- prefixed.
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as c:
        yield c


def login(client: TestClient, clock: Clock, officer: Officer, *, code: str | None = None):
    """Password then TOTP, as a browser would; returns the final response."""
    page = client.get("/login")
    r = client.post("/login", data={"username": officer.username, "password": officer.password,
                                    "csrf": csrf_from(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    mfa = client.get(r.headers["location"])
    clock.advance(seconds=31)  # a fresh TOTP step each login (codes are single-use)
    return client.post("/login/mfa", data={"code": code or clock.code(officer.totp_secret),
                                           "csrf": csrf_from(mfa.text)}, follow_redirects=False)


@pytest.fixture
def logged_in(client, clock, make_officer):
    def _login(username: str = "ceop.one", **kwargs) -> Officer:
        officer = make_officer(username, **kwargs)
        r = login(client, clock, officer)
        assert r.status_code == 303 and r.headers["location"] == "/"
        return officer
    return _login
