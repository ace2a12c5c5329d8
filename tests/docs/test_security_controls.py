"""Controls docs/SECURITY.md claims that no other test pins down on its own."""

from __future__ import annotations

import base64
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from childsafe.core.accounts import issue_api_key, new_token, parse_api_key
from childsafe.core.crypto import Keyring
from childsafe.core.errors import InvalidInput
from childsafe.reports.deliveries import check_webhook_url
from childsafe.store import agencies, encrypted
from childsafe.store.db import Database
from childsafe.store.schema import metadata
from childsafe.web.app import create_app
from tests.conftest import make_settings


def test_every_encrypted_column_is_re_wrapped_by_key_rotation() -> None:
    """`childsafe admin rotate-keys` re-wraps what `store.encrypted.FIELDS` lists: every
    `*_enc` column of the schema must be handled there, so rotation forgets none."""
    columns = sorted(f"{t.name}.{c.name}" for t in metadata.sorted_tables for c in t.columns
                     if c.name.endswith("_enc"))
    assert len(columns) >= 8
    source = inspect.getsource(encrypted)
    assert [c for c in columns if "." + c.split(".")[1] not in source] == []
    assert len(encrypted.FIELDS) >= 7


@pytest.mark.parametrize("url", ["http://hooks.example.com/childsafe",
                                 "ftp://hooks.example.com/x", "https://user:pw@hooks.example.com/",
                                 "hooks.example.com/no-scheme"])
def test_webhook_targets_must_be_https(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_webhook_url(url)


def test_webhook_targets_https_or_loopback_only() -> None:
    assert check_webhook_url("https://hooks.example.com/x") == "https://hooks.example.com/x"
    assert check_webhook_url("http://127.0.0.1:9000/x")  # labs and tests on this machine


def test_tokens_carry_256_bits_from_the_os_csprng() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in list(tokens)[:20]:
        assert len(base64.urlsafe_b64decode(token + "=")) == 32
    issued = issue_api_key()
    parsed = parse_api_key(issued.plaintext)
    assert parsed is not None and parsed[1] == issued.secret_digest
    assert issued.secret_digest not in issued.plaintext  # only the digest is stored


@pytest.fixture
def client(tmp_path: Path, sqlite_url: str, keyring: Keyring) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, sqlite_url, keyring)
    db = Database(settings.effective_database_url)
    with db.transaction() as s:
        agencies.seed_agencies(s)
    with TestClient(create_app(settings, db), base_url="https://testserver",
                    raise_server_exceptions=False) as c:
        yield c
    db.dispose()


@pytest.mark.parametrize("path", ["/login", "/report", "/api/v1/agencies", "/cases/x",
                                  "/api/v1/cases/x", "/no-such-page"])
def test_answers_are_never_cached(client: TestClient, path: str) -> None:
    """ASVS 8.2.1: pages, API answers, redirects and errors all carry `no-store`."""
    r = client.get(path, follow_redirects=False)
    assert r.headers["cache-control"] == "no-store"
