"""`childsafe watch eval | train | corpus`: every figure printed, hard negatives apart, JSON output,
PAN 2012 input, and one clear error line (no traceback) for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from childsafe.cli.main import app
from childsafe.watch.corpus import generate, write_jsonl

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()
FIGURES = ["precision", "recall", "F1", "F0.5", "alerted before halfway", "median messages to alert",
           "PR-AUC", "F_latency", "false alarms per 1,000 benign conversations"]
HARD = ["parent", "teacher", "friends_meet", "sibling_pet"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("watch") / "corpus.jsonl"
    write_jsonl(path, generate(30, seed=21))
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["watch", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("detector", ["rules", "learned", "combined"])
def test_eval_prints_every_figure_and_hard_negatives_apart(corpus: Path, detector: str) -> None:
    code, out, _ = run("eval", str(corpus), "--detector", detector)
    assert code == 0
    for figure in FIGURES:
        assert figure in out
    assert f"detector {detector}" in out
    assert "ordinary conversations (adult_chat, teen_chat; 60)" in out
    assert "hard negatives (" in out
    for kind in HARD:
        assert f"    hard negative {kind}: " in out


def test_eval_default_is_combined_with_the_artifact_threshold(corpus: Path) -> None:
    from childsafe.watch.catalog import default_threshold

    code, out, _ = run("eval", str(corpus))
    assert code == 0
    assert f"detector combined (model grooming-v1), threshold {default_threshold('combined'):g}" in out


def test_eval_json_is_one_object(corpus: Path) -> None:
    code, out, _ = run("eval", str(corpus), "--json", "--threshold", "0.8", "--latency-at", "10",
                       "--detector", "learned")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["detector"] == "learned" and doc["threshold"] == 0.8 and doc["format"] == "jsonl"
    report = doc["report"]
    assert report["conversations"] == 120 and report["grooming"] == 30 and report["latency_at"] == 10
    assert {"precision", "recall", "f05", "alerted_before_half", "median_messages_to_alert", "pr_auc",
            "f_latency", "false_alarms_per_1000"} <= set(report)
    hard = doc["false_alarms"]["hard_negatives"]
    assert set(hard["by_kind"]) == set(HARD) and hard["conversations"] == 30
    assert doc["false_alarms"]["ordinary"]["kinds"] == ["adult_chat", "teen_chat"]


def test_eval_pan2012_xml_with_predator_list() -> None:
    code, out, _ = run("eval", str(FIXTURES / "pan_tiny.xml"), "--predators",
                       str(FIXTURES / "pan_tiny_predators.txt"), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["format"] == "pan2012"
    assert doc["report"]["conversations"] == 3 and doc["report"]["grooming"] == 1
    assert doc["report"]["true_positives"] == 1 and doc["report"]["false_positives"] == 0
    code, text, _ = run("eval", str(FIXTURES / "pan_tiny.xml"), "--detector", "rules")
    assert code == 0 and "(pan2012)" in text and "grooming 0" in text and "hard negatives: none" in text


@pytest.mark.parametrize(("content", "expected"), [
    ('{"id": "a", "messages": []}\n{"id": "b", "messages": [}\n', "line 2: not JSON"),
    ('{"id": "a"}\n', "line 1: missing 'messages'"),
    ('[1, 2]\n', "line 1: expected a JSON object"),
    ('{"id": "a", "messages": [{"id": "m", "author": "x", "ts": "noon", "text": "hi"}]}\n',
     "line 1: message 1: 'ts' must be a number"),
    ('{"id": "a", "messages": [{"id": "m", "author": "x", "text": "hi"}]}\n', "message 1 misses 'ts'"),
    ("\n\n", "no conversations"),
])
def test_eval_bad_jsonl_names_the_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    code, out, err = run("eval", str(path))
    assert code == 1 and expected in err and "Traceback" not in out + err


@pytest.mark.parametrize(("content", "expected"), [
    ("<conversations><conversation id='c'>", "not well-formed XML"),
    ("<chats/>", "root element is <chats>"),
    ("<!DOCTYPE x [<!ENTITY a 'b'>]><conversations/>", "document type declarations"),
])
def test_eval_bad_xml(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(content, encoding="utf-8")
    code, out, err = run("eval", str(path))
    assert code == 1 and expected in err and "Traceback" not in out + err


def test_eval_input_errors(tmp_path: Path, corpus: Path) -> None:
    code, _, err = run("eval", str(tmp_path / "nope.jsonl"))
    assert code == 1 and "nope.jsonl: no such file" in err
    code, _, err = run("eval", str(FIXTURES / "pan_tiny.xml"), "--predators", str(tmp_path / "none.txt"))
    assert code == 1 and "none.txt: no such file" in err
    code, _, err = run("eval", str(corpus), "--predators", str(FIXTURES / "pan_tiny_predators.txt"))
    assert code == 1 and "--predators goes with a PAN 2012 XML corpus" in err
    broken = tmp_path / "model.json"
    broken.write_text('{"format": "childsafe-watch-model", "version": 7}', encoding="utf-8")
    code, out, err = run("eval", str(corpus), "--model", str(broken))
    assert code == 1 and "artifact version 7" in err and "Traceback" not in out + err
    code, _, _ = run("eval", str(corpus), "--detector", "forest")
    assert code == 2


def test_corpus_then_train_then_eval_with_the_new_model(tmp_path: Path) -> None:
    corpus = tmp_path / "small.jsonl"
    code, out, _ = run("corpus", "--out", str(corpus), "--per-kind", "24", "--seed", "8")
    assert code == 0 and "wrote 96 conversations" in out
    assert len(corpus.read_text(encoding="utf-8").splitlines()) == 96
    model = tmp_path / "models" / "m.json"
    code, out, _ = run("train", str(corpus), "--out", str(model), "--seed", "3")
    assert code == 0, out
    assert "held-out figures:" in out and "default threshold combined:" in out
    for name in ("learned", "combined", "rules"):
        assert f"  {name} " in out
    first = model.read_bytes()
    code, _, _ = run("train", str(corpus), "--out", str(model), "--seed", "3")
    assert code == 0 and model.read_bytes() == first
    code, out, _ = run("eval", str(corpus), "--model", str(model), "--json")
    assert code == 0 and json.loads(out)["threshold"] == json.loads(first)["thresholds"]["combined"]


def test_train_errors(tmp_path: Path) -> None:
    benign = tmp_path / "benign.jsonl"
    write_jsonl(benign, [i for i in generate(5, seed=2) if i["kind"] != "grooming"])
    code, out, err = run("train", str(benign), "--out", str(tmp_path / "m.json"))
    assert code == 1 and "needs grooming conversations" in err and "Traceback" not in out + err
    code, _, err = run("train", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "m.json"))
    assert code == 1 and "no such file" in err


def test_help_texts() -> None:
    for command in ("eval", "train", "corpus"):
        result = runner.invoke(app, ["watch", command, "--help"])
        assert result.exit_code == 0
    assert "hard negatives" in runner.invoke(app, ["watch", "eval", "--help"]).stdout
    assert "childsafe[train]" in runner.invoke(app, ["watch", "train", "--help"]).stdout
