"""`childsafe block import-entries` and `publish-db`: the database-backed authority from the CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from childsafe.block import authority_store as store
from childsafe.block.state import StateDir
from childsafe.cli.main import app

runner = CliRunner()
HEADER = "url,scope,category,added_by,reason,review_date\n"


@pytest.fixture
def env(settings, db, monkeypatch):
    monkeypatch.setenv("CHILDSAFE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CHILDSAFE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("CHILDSAFE_KEYS", settings.keyring.to_json())
    return settings


def test_import_publish_and_sync(env, db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "http://a.test/x.html,page,csam,an,r,2030-01-01\n"
                   + "http://b.test/,page,csam,an,r,2030-01-01\n")
    r = runner.invoke(app, ["block", "import-entries", str(bad)])
    assert r.exit_code == 1, r.output
    flat = " ".join(r.output.split())  # rich wraps long lines
    assert "bad.csv:line 3: a page entry b.test/ would also block the whole host" in flat
    assert "1 invalid row(s); nothing imported" in flat
    with db.transaction() as s:
        assert store.active_entries(s) == []

    good = tmp_path / "good.csv"
    good.write_text(HEADER + "http://a.test/x.html,page,csam,an,r,2030-01-01\n"
                    + "http://b.test/dir,prefix,csam,an,r,2030-01-01\n")
    r = runner.invoke(app, ["block", "import-entries", str(good), "--actor", "analyst.7"])
    assert r.exit_code == 0, r.output
    assert "imported 2 entries" in r.output
    with db.transaction() as s:
        assert [c.actor for c in store.history(s)] == ["analyst.7", "analyst.7"]

    r = runner.invoke(app, ["block", "publish-db"])
    assert r.exit_code == 1 and "childsafe block keygen" in " ".join(r.output.split())
    keys = store.signing_key_path(env).parent
    assert runner.invoke(app, ["block", "keygen", "--out", str(keys)]).exit_code == 0
    r = runner.invoke(app, ["block", "publish-db"])
    assert r.exit_code == 0, r.output
    assert "published list 1: 2 entries, 3 hashed expressions" in r.output
    out = store.publication_dir(env)
    assert (out / "LATEST").read_text() == "1\n"

    state = tmp_path / "node"
    r = runner.invoke(app, ["block", "sync", "--state", str(state), "--source", str(out),
                            "--public-key", str(keys / "list-signing.pub")])
    assert r.exit_code == 0, r.output
    snap = StateDir(state).current()
    assert snap is not None and snap.seq == 1

    other = tmp_path / "elsewhere"
    r = runner.invoke(app, ["block", "publish-db", "--rewrite", "--out", str(other)])
    assert r.exit_code == 0 and (other / "LATEST").read_text() == "1\n"
