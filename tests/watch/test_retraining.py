"""Officers' verdicts become a labelled corpus that `childsafe watch train` reads."""

import json

import pytest
from typer.testing import CliRunner

from childsafe.cli.main import app
from childsafe.store import accounts
from childsafe.watch import alerts
from childsafe.watch.retraining import labelled_conversations
from tests.watch.alert_factory import ADULT, CHILD, WatchFactory

runner = CliRunner()


@pytest.fixture
def watch(db, keyring):
    return WatchFactory(db, keyring)


def _officer(db, make_officer, username, agency="UK-NCA-CEOP"):
    make_officer(username, agency=agency)
    with db.transaction() as s:
        return accounts.principal_for(s, accounts.get_user(s, username))



def test_verdicts_become_grooming_and_benign_items_unsure_left_out(db, keyring, watch,
                                                                    make_officer, clock):
    uk = _officer(db, make_officer, "ceop.train")
    acted, dismissed, doubtful = watch.alert(), watch.alert(), watch.alert()
    other_agency = watch.alert("US-DHS-HSI")
    now = clock()
    with db.transaction() as s:
        alert = alerts.begin_action(s, uk, acted.id, "intervene")
        alerts.mark_actioned(s, uk, alert, now, "intervened")
        alerts.dismiss(s, uk, dismissed.id, "not_grooming", "parent checking in", now)
        alerts.dismiss(s, uk, doubtful.id, "duplicate", "", now)
    with db.transaction() as s:
        items = list(labelled_conversations(s, keyring, "UK-NCA-CEOP", actor="test"))
    by_label = {item["label"]: item for item in items}
    assert len(items) == 2 and set(by_label) == {"grooming", "benign"}
    assert by_label["grooming"]["groomer"] == ADULT
    assert by_label["benign"]["groomer"] is None
    texts = [m["text"] for m in by_label["grooming"]["messages"]]
    assert texts == acted.texts  # decrypted, in order, exactly as ingested
    assert {m["author"] for m in by_label["grooming"]["messages"]} == {ADULT, CHILD}
    assert other_agency.id not in json.dumps(items)


def test_cli_writes_a_corpus_train_and_eval_can_read(db, keyring, watch, make_officer, clock,
                                                      settings, tmp_path, monkeypatch):
    uk = _officer(db, make_officer, "ceop.cli.train")
    made = watch.alert()
    with db.transaction() as s:
        alerts.dismiss(s, uk, made.id, "false_alarm", "", clock())
    monkeypatch.setenv("CHILDSAFE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CHILDSAFE_DATABASE_URL", settings.effective_database_url)
    key_file = settings.data_dir / "keys.json"
    key_file.write_text(settings.keyring.to_json())
    monkeypatch.setenv("CHILDSAFE_KEY_FILE", str(key_file))
    out = tmp_path / "feedback.jsonl"
    result = runner.invoke(app, ["watch", "feedback-export", "UK-NCA-CEOP", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 conversation(s)" in result.output and "1 benign" in result.output
    evaluated = runner.invoke(app, ["watch", "eval", str(out), "--detector", "rules"])
    assert evaluated.exit_code == 0, evaluated.output
    missing = runner.invoke(app, ["watch", "feedback-export", "NO-SUCH", "--out", str(out)])
    assert missing.exit_code == 1 and "no agency" in missing.output
