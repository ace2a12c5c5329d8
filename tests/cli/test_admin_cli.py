"""The `childsafe` command as an operator uses it (SQLite and PostgreSQL)."""

import json

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from childsafe.cli.main import app
from childsafe.core.crypto import key_id
from childsafe.store import accounts

runner = CliRunner()


@pytest.fixture
def env(settings, db, monkeypatch):
    monkeypatch.setenv("CHILDSAFE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CHILDSAFE_DATABASE_URL", settings.effective_database_url)
    key_file = settings.data_dir / "keys.json"
    key_file.write_text(settings.keyring.to_json())
    monkeypatch.setenv("CHILDSAFE_KEY_FILE", str(key_file))
    return settings


def run(*args, **kwargs):
    result = runner.invoke(app, list(args), **kwargs)
    return result


def test_help_everywhere():
    for args in ([], ["admin"], ["admin", "create-officer"], ["serve"], ["demo"], ["worker"],
                 ["block"]):
        r = run(*args, "--help")
        assert r.exit_code == 0 and "Usage" in r.output, args


def test_create_officer_and_provider(env, db):
    r = run("admin", "create-officer", "ceop.cli", "--agency", "UK-NCA-CEOP", "--role",
            "supervisor", "--name", "Cli Officer", "--password", "a-long-cli-password")
    assert r.exit_code == 0, r.output
    with db.transaction() as s:
        assert accounts.get_user(s, "ceop.cli").roles == "supervisor"
    r = run("admin", "create-provider", "ExampleChat", "--scope", "provider:report:write")
    assert r.exit_code == 0 and "csk_" in r.output


def test_clear_errors(env):
    r = run("admin", "create-officer", "ceop.bad", "--agency", "NOPE", "--name", "X",
            "--password", "a-long-cli-password")
    assert r.exit_code == 1 and "No agency" in r.output
    r = run("admin", "create-officer", "ceop.bad", "--agency", "UK-NCA-CEOP", "--name", "X",
            "--password", "short")
    assert r.exit_code == 1 and "at least 12" in r.output
    r = run("admin", "create-officer", "ceop.bad", "--agency", "UK-NCA-CEOP", "--name", "X",
            "--role", "god", "--password", "a-long-cli-password")
    assert r.exit_code == 1 and "unknown role" in r.output


def test_verify_audit_detects_edit_and_delete(env, db, make_officer):
    make_officer("ceop.a1")
    make_officer("ceop.a2")
    r = run("admin", "verify-audit")
    assert r.exit_code == 0 and "OK" in r.output
    head = run("admin", "audit-head").output.strip()
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
        conn.execute(text("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 2"))
    r = run("admin", "verify-audit")
    assert r.exit_code == 2 and "entry 2" in r.output and "altered" in r.output
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("DELETE FROM audit_events WHERE seq = 1"))
    r = run("admin", "verify-audit")
    assert r.exit_code == 2 and "entry 1 is missing" in r.output
    r = run("admin", "verify-audit", "--anchor", "bad")
    assert r.exit_code == 1
    assert ":" in head


def test_rotate_keys_rewraps_totp_secrets(env, db, make_officer):
    officer = make_officer("ceop.rot1")
    r = run("admin", "rotate-keys", "--key-id", "k2")
    assert r.exit_code == 0, r.output
    ring = json.loads((env.data_dir / "keys.json").read_text())
    assert ring["active"] == "k2" and set(ring["keys"]) == {"k1", "k2"}
    from childsafe.core.crypto import Keyring
    keyring = Keyring.from_json((env.data_dir / "keys.json").read_text())
    with db.transaction() as s:
        user = accounts.get_user(s, "ceop.rot1")
        assert key_id(user.totp_secret_enc) == "k2"
        assert accounts.totp_secret(keyring, user) == officer.totp_secret


def test_reset_mfa_disable_unlock(env, db, make_officer):
    make_officer("ceop.ops")
    assert run("admin", "reset-mfa", "ceop.ops").exit_code == 0
    assert run("admin", "disable-user", "ceop.ops").exit_code == 0
    with db.transaction() as s:
        user = accounts.get_user(s, "ceop.ops")
        assert user.disabled and not user.totp_enrolled and user.totp_secret_enc is None
    assert run("admin", "disable-user", "ceop.ops", "--enable").exit_code == 0
    assert run("admin", "unlock", "ceop.ops").exit_code == 0
    assert run("admin", "reset-mfa", "nobody").exit_code == 1


def test_worker_once_delivers_outbox(env, db):
    from childsafe.store import outbox
    with db.transaction() as s:
        outbox.enqueue(s, "mail.send", {"to": "a@example.com", "subject": "s", "body": "b"}, "k")
    r = run("worker", "--once", env={"CHILDSAFE_MAIL_SENDER": "console"})
    assert r.exit_code == 0 and "sent 1" in r.output


def test_demo_sets_up_embedded_platform(tmp_path, monkeypatch):
    for var in ("CHILDSAFE_DATABASE_URL", "CHILDSAFE_KEY_FILE", "CHILDSAFE_KEYS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CHILDSAFE_DATA_DIR", str(tmp_path / "var"))
    r = run("demo", "--no-serve")
    assert r.exit_code == 0, r.output
    assert "ceop.officer" in r.output and "demo-" in r.output
    assert (tmp_path / "var" / "childsafe.db").exists()
    assert oct((tmp_path / "var" / "keys.json").stat().st_mode)[-3:] == "600"
    again = run("demo", "--no-serve")
    first_pw = [line for line in r.output.splitlines() if "ceop.officer" in line][0]
    assert first_pw in again.output  # idempotent: same logins


def test_list_agencies_shows_routing(env):
    r = run("admin", "list-agencies", env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "UK-NCA-CEOP" in r.output and "every other country" in r.output
