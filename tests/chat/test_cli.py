"""`childsafe chat …` and the chat's part of `childsafe demo`."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from childsafe.chat.store import ChatStore
from childsafe.cli.main import app
from childsafe.store.db import Database
from childsafe.store.models import ApiKeyRow

runner = CliRunner()


def test_chat_commands_have_help():
    for args in (["chat"], ["chat", "serve"], ["chat", "setup-demo"], ["demo"]):
        r = runner.invoke(app, [*args, "--help"])
        assert r.exit_code == 0 and "Usage" in r.output, args
    assert "--chat-port" in runner.invoke(app, ["demo", "--help"]).output


def test_demo_connects_the_chat_and_prints_every_login(tmp_path, monkeypatch):
    for var in ("CHILDSAFE_DATABASE_URL", "CHILDSAFE_KEY_FILE", "CHILDSAFE_KEYS",
                "CHILDSAFE_CHAT_DATA_DIR", "CHILDSAFE_CHAT_API_KEY",
                "CHILDSAFE_CHAT_WEBHOOK_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CHILDSAFE_DATA_DIR", str(tmp_path / "var"))
    r = runner.invoke(app, ["demo", "--no-serve"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "ceop.officer" in r.output  # the platform's officer logins...
    for login in ("dan", "dan-demo-password", "kim", "kim-demo-password", "lee"):
        assert login in r.output  # ...and the chat's
    chat_dir = tmp_path / "var" / "chat"
    saved = json.loads((chat_dir / "platform.json").read_text())
    assert oct((chat_dir / "platform.json").stat().st_mode)[-3:] == "600"
    assert saved["api_key"].startswith("csk_") and saved["webhook_secret"].startswith("whsec_")
    assert saved["webhook_url"] == "http://127.0.0.1:8001/platform/webhook"
    store = ChatStore(chat_dir / "chat.db")
    assert store.user_by_name("kim").age() == 13 and store.user_by_name("lee").is_parent
    store.close()
    again = runner.invoke(app, ["demo", "--no-serve"])
    assert again.exit_code == 0, again.output
    assert json.loads((chat_dir / "platform.json").read_text())["api_key"] != saved["api_key"]
    db = Database(f"sqlite:///{tmp_path / 'var' / 'childsafe.db'}")
    with db.transaction() as s:
        old = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == saved["api_key"][4:16]))
        assert old is not None and old.revoked_at is not None  # the previous run's key
    db.dispose()
