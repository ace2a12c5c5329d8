"""The list console: permissions, CSRF, inline errors, CSV import, publish, distribution."""

from __future__ import annotations

import re

import pytest

from childsafe.block import authority_store as store
from childsafe.block.authority import generate_keys
from childsafe.block.core.listfile import ListSnapshot, decode_signed
from childsafe.block.core.matcher import Matcher
from tests.helpers import csrf_from

HEADER = "url,scope,category,added_by,reason,review_date\n"


@pytest.fixture
def signing_key(settings):
    path = store.signing_key_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    generate_keys(path, path.with_suffix(".pub"))
    return store.load_signing_key(settings)


def _editor(logged_in, name="list.one"):
    return logged_in(name, roles="list-editor")


def _add(client, csrf, url="http://listed.test/a/p.html", scope="page", **kw):
    data = {"url": url, "scope": scope, "category": kw.get("category", "csam"),
            "reason": kw.get("reason", "ticket 7"), "review_date": kw.get("review", "2030-01-01"),
            "csrf": csrf}
    return client.post("/block/entries", data=data, follow_redirects=False)


def test_other_roles_get_403_and_anonymous_goes_to_login(client, logged_in):
    r = client.get("/block", follow_redirects=False)
    assert r.status_code in {303, 307} and r.headers["location"].endswith("/login")
    logged_in("officer.one", roles="officer")
    assert client.get("/block").status_code == 403
    assert client.get("/block/history").status_code == 403
    page = client.get("/")
    r = client.post("/block/publish", data={"csrf": csrf_from(page.text)})
    assert r.status_code == 403


def test_add_shows_entry_and_inline_errors(client, logged_in):
    _editor(logged_in)
    page = client.get("/block")
    assert page.status_code == 200 and "Nothing published yet" not in page.text
    csrf = csrf_from(page.text)
    assert _add(client, csrf).status_code == 303
    page = client.get("/block?done=added")
    assert "listed.test/a/p.html" in page.text and "Entry added" in page.text
    assert 'class="chart"' in page.text and "Active entries by category" in page.text
    dup = _add(client, csrf, url="HTTP://LISTED.test/a/p.html")
    assert dup.status_code == 409 and "already listed" in dup.text
    assert 'value="HTTP://LISTED.test/a/p.html"' in dup.text  # the form keeps what was typed
    bad = _add(client, csrf, url="http://listed.test/", scope="page")
    assert bad.status_code == 422 and "would also block the whole host" in bad.text
    bad = _add(client, csrf, url="http://x.test/p", review="tomorrow")
    assert bad.status_code == 422 and "review_date" in bad.text


def test_csrf_is_required_on_every_form(client, logged_in):
    _editor(logged_in)
    assert _add(client, "0" * 64).status_code == 403
    assert client.post("/block/entries", data={"url": "http://x.test/p.html"}).status_code == 403
    r = client.post("/block/import", files={"file": ("e.csv", HEADER.encode(), "text/csv")})
    assert r.status_code == 403
    assert client.post("/block/publish", data={}).status_code == 403
    assert "x.test" not in client.get("/block").text


def test_remove_needs_a_reason_and_overdue_is_highlighted(client, logged_in):
    _editor(logged_in)
    csrf = csrf_from(client.get("/block").text)
    _add(client, csrf, url="http://old.test/p.html", review="2000-01-01")
    page = client.get("/block")
    assert 'class="overdue"' in page.text and "overdue" in page.text
    assert "old.test/p.html" in client.get("/block?overdue=1").text
    entry_id = re.search(r'/block/entries/(\d+)/remove', page.text).group(1)
    r = client.post(f"/block/entries/{entry_id}/remove", data={"reason": " ", "csrf": csrf})
    assert r.status_code == 422 and "reason" in r.text
    r = client.post(f"/block/entries/{entry_id}/remove",
                    data={"reason": "site gone", "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert "old.test/p.html" not in client.get("/block").text
    history = client.get("/block/history").text
    assert "site gone" in history and "remove" in history and "list.one" in history
    r = client.post("/block/entries/999/remove", data={"reason": "x", "csrf": csrf})
    assert r.status_code == 404


def test_csv_import_lists_bad_lines_and_imports_nothing(client, logged_in):
    _editor(logged_in)
    csrf = csrf_from(client.get("/block").text)
    bad = (HEADER + "http://a.test/x.html,page,csam,an,r,2030-01-01\n"
           + "http://b.test/,page,csam,an,r,2030-01-01\n"
           + "http://c.test/x.html,everything,csam,an,r,2030-01-01\n")
    r = client.post("/block/import", data={"csrf": csrf},
                    files={"file": ("bad.csv", bad.encode(), "text/csv")})
    assert r.status_code == 422
    assert "2 line(s) of bad.csv cannot be imported; nothing was imported" in r.text
    assert "line 3: a page entry b.test/ would also block the whole host" in r.text
    assert "line 4: scope &#39;everything&#39; is not one of" in r.text
    assert "a.test/x.html" not in client.get("/block").text
    r = client.post("/block/import", data={"csrf": csrf},
                    files={"file": ("h.csv", b"url\nhttp://a.test/\n", "text/csv")})
    assert r.status_code == 422 and "header lacks" in r.text
    good = HEADER + "".join(f"http://h{i}.test/p.html,page,cat{i % 2},an,r,2030-01-01\n"
                            for i in range(60))
    r = client.post("/block/import", data={"csrf": csrf},
                    files={"file": ("good.csv", good.encode(), "text/csv")},
                    follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "Imported 60 entries" in page.text and "Entries (60)" in page.text
    assert "Page 1 of 2" in page.text and 'rel="next"' in page.text
    assert "h0.test/p.html" in client.get("/block?page=2").text
    assert "Entries (30)" in client.get("/block?category=cat1").text
    assert "Entries (1)" in client.get("/block?q=h42.test").text


def test_publish_without_key_is_an_inline_error(client, logged_in):
    _editor(logged_in)
    csrf = csrf_from(client.get("/block").text)
    r = client.post("/block/publish", data={"csrf": csrf})
    assert r.status_code == 422 and "childsafe block keygen" in r.text
    assert client.get("/block/list/LATEST").status_code == 404


def test_publish_serves_signed_files_and_shows_fingerprint(client, logged_in, signing_key):
    _editor(logged_in)
    page = client.get("/block")
    fp = store.fingerprint(signing_key.public_key())
    assert fp in page.text and "Publish list 1" in page.text
    csrf = csrf_from(page.text)
    _add(client, csrf)
    r = client.post("/block/publish", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "Published list 1 (1 entries" in page.text and "Publish list 2" in page.text
    latest = client.get("/block/list/LATEST")
    assert latest.status_code == 200 and latest.text == "1\n"
    assert latest.headers["cache-control"] == "public, max-age=60"
    snap = client.get("/block/list/snapshot-0000000001.csbl")
    assert "immutable" in snap.headers["cache-control"]
    assert snap.status_code == 200 and b"listed.test" not in snap.content
    decoded = decode_signed(snap.content, signing_key.public_key())
    assert isinstance(decoded, ListSnapshot) and Matcher(decoded).listed(b"http://listed.test/a/p.html")
    assert client.get("/block/list/..%2Fkeys.json").status_code == 404
    assert client.get("/block/list/list-signing.key").status_code == 404
    pem = client.get("/block/public-key")
    assert pem.status_code == 200 and pem.content.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert "publish list 1" in client.get("/block/history").text.lower()


def test_distribution_is_public_and_other_roles_cannot_publish(client, logged_in, signing_key):
    _editor(logged_in)
    csrf = csrf_from(client.get("/block").text)
    _add(client, csrf)
    client.post("/block/publish", data={"csrf": csrf})
    client.cookies.clear()
    assert client.get("/block/list/LATEST").text == "1\n"  # no login needed
    assert client.get("/block").status_code in {200, 303, 307, 401}
    assert "listed.test" not in client.get("/block", follow_redirects=True).text
