"""`childsafe watch ...`: evaluate the grooming detectors, train the learned layer, write the corpus.

Thin wrappers around `childsafe.watch`: every command reads its files, calls the pure
evaluation or the trainer, and turns a bad input (missing file, bad JSONL line, bad XML,
unusable model) into one clear error line and exit status 1, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from childsafe.watch.core.evaluation import Report, evaluate, format_report, run_items
from childsafe.watch.core.learned import ArtifactError, ModelArtifact

app = typer.Typer(help="Watch: evaluate grooming detection on a labelled corpus, train the learned "
                       "model, write the generated corpus.", no_args_is_help=True)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
HARD_NEGATIVE = "hard_negative"


class DetectorName(StrEnum):
    rules = "rules"
    learned = "learned"
    combined = "combined"


class CorpusError(ValueError):
    """A corpus file cannot be read; the message names the file (and line)."""


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


def _say(text: str) -> None:
    out.print(text, markup=False, soft_wrap=True)


def _check_item(item: Any, where: str) -> None:
    if not isinstance(item, dict):
        raise CorpusError(f"{where}: expected a JSON object (one conversation)")
    for key in ("id", "messages"):
        if key not in item:
            raise CorpusError(f"{where}: missing {key!r}")
    if not isinstance(item["messages"], list):
        raise CorpusError(f"{where}: 'messages' must be a list")
    if item.get("groomer") is not None and not isinstance(item["groomer"], str):
        raise CorpusError(f"{where}: 'groomer' must be an author id or null")
    for i, message in enumerate(item["messages"], start=1):
        if not isinstance(message, dict):
            raise CorpusError(f"{where}: message {i} must be a JSON object")
        missing = [k for k in ("id", "author", "ts", "text") if k not in message]
        if missing:
            raise CorpusError(f"{where}: message {i} misses {', '.join(map(repr, missing))}")
        if not isinstance(message["ts"], int | float) or isinstance(message["ts"], bool):
            raise CorpusError(f"{where}: message {i}: 'ts' must be a number")
        age = message.get("age")
        if age is not None and (not isinstance(age, int) or isinstance(age, bool)):
            raise CorpusError(f"{where}: message {i}: 'age' must be an integer or null")


def read_jsonl_corpus(path: Path) -> list[dict[str, Any]]:
    """Our JSONL corpus, every line checked; errors name the line."""
    items: list[dict[str, Any]] = []
    with path.open("rb") as src:
        for lineno, raw in enumerate(src, start=1):
            if not raw.strip():
                continue
            where = f"{path}: line {lineno}"
            try:
                item = json.loads(raw)
            except UnicodeDecodeError:
                raise CorpusError(f"{where}: not UTF-8") from None
            except ValueError as exc:
                raise CorpusError(f"{where}: not JSON ({exc})") from None
            _check_item(item, where)
            items.append(item)
    if not items:
        raise CorpusError(f"{path}: no conversations")
    return items


def _is_xml(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return True
    if suffix in (".jsonl", ".json", ".ndjson"):
        return False
    with path.open("rb") as src:
        head = src.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def load_corpus(path: Path, predators: Path | None = None) -> tuple[list[dict[str, Any]], str]:
    """(conversations in our JSONL shape, format name) from a JSONL or PAN 2012 XML file."""
    from childsafe.watch.core.pan2012 import PanFormatError
    from childsafe.watch.corpus import load_pan2012

    for file in (path, predators):
        if file is not None and not file.is_file():
            raise CorpusError(f"{file}: no such file")
    try:
        if _is_xml(path):
            try:
                items = load_pan2012(path, predators)
            except PanFormatError as exc:
                raise CorpusError(f"{path}: {exc}") from None
            except UnicodeDecodeError:
                raise CorpusError(f"{predators}: the predator list is not UTF-8") from None
            if not items:
                raise CorpusError(f"{path}: no conversations")
            return items, "pan2012"
        if predators is not None:
            raise CorpusError("--predators goes with a PAN 2012 XML corpus, not JSONL")
        return read_jsonl_corpus(path), "jsonl"
    except OSError as exc:
        raise CorpusError(f"cannot read {exc.filename or path}: {exc.strerror or exc}") from None


def _model(path: Path | None) -> ModelArtifact:
    from childsafe.watch.catalog import load_model

    return load_model(path)


def grouped_false_alarms(report: Report, items: list[dict[str, Any]]) -> dict[str, Any]:
    """False alarms per 1,000 for ordinary benign conversations and for hard negatives apart."""
    hard = {str(i.get("subkind") or i["kind"]) for i in items if i.get("kind") == HARD_NEGATIVE}
    counts: dict[str, int] = {}
    for item in items:
        if not item.get("groomer"):
            kind = str(item.get("subkind") or item.get("kind"))
            counts[kind] = counts.get(kind, 0) + 1

    def pooled(kinds: list[str]) -> float | None:
        total = sum(counts[k] for k in kinds)
        if not total:
            return None
        alarms = sum(report.false_alarms_per_1000.get(k, 0.0) * counts[k] / 1000 for k in kinds)
        return round(1000 * alarms / total, 1)

    ordinary = sorted(k for k in counts if k not in hard)
    hard_kinds = sorted(k for k in counts if k in hard)
    return {"ordinary": {"kinds": ordinary, "per_1000": pooled(ordinary),
                         "conversations": sum(counts[k] for k in ordinary)},
            "hard_negatives": {"kinds": hard_kinds, "per_1000": pooled(hard_kinds),
                               "conversations": sum(counts[k] for k in hard_kinds),
                               "by_kind": {k: round(report.false_alarms_per_1000.get(k, 0.0), 1)
                                           for k in hard_kinds}}}


EVAL_HELP = ("Run a detector over a labelled corpus and print every figure.\n\n"
             "Groomer identification (precision, recall, F1, F0.5), early detection (share alerted "
             "before halfway, median messages to alert, PR-AUC, latency-weighted F1) and false alarms "
             "per 1,000 benign conversations by kind, with hard negatives reported separately.")
TRAIN_HELP = ("Train the learned model (logistic regression) and write its versioned artifact.\n\n"
              "A quarter of the conversations (per kind) is held out; the default thresholds of the "
              "learned and combined detectors are chosen there for alert precision >= 0.9. Needs the "
              "`train` extra (scikit-learn): pip install 'childsafe\\[train]'.")


@app.command("eval", help=EVAL_HELP)
def eval_(
    corpus: Path = typer.Argument(..., help="Labelled corpus: our JSONL (one conversation per line, "
                                            "as `childsafe watch corpus` writes) or PAN 2012 XML "
                                            "(chosen by extension, else by content)."),
    predators: Path | None = typer.Option(None, "--predators", help="PAN 2012 ground truth: the "
                                          "predator author ids, one per line (XML corpus only)."),
    detector: DetectorName = typer.Option(DetectorName.combined, "--detector",
                                          help="rules (cue rules only), learned (the model alone) or "
                                               "combined (rules, then the model; recommended)."),
    threshold: float | None = typer.Option(None, "--threshold", min=0.01, max=1.0,
                                           help="Alert threshold in (0, 1]. Default: the detector's "
                                                "(rules 0.65; learned and combined: the one chosen at "
                                                "training, recorded in the model)."),
    latency_at: int = typer.Option(30, "--latency-at", min=2,
                                   help="Messages read at which the latency penalty of F_latency "
                                        "is 0.5 (Vogt et al.)."),
    model: Path | None = typer.Option(None, "--model", help="Model artifact to use instead of the "
                                      "packaged one (learned and combined)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of text."),
) -> None:
    """Run a detector over a labelled corpus and print every figure (see EVAL_HELP)."""
    from childsafe.watch.catalog import default_threshold
    from childsafe.watch.catalog import detector as make_detector
    from childsafe.watch.core.cues import CueError
    from childsafe.watch.core.detector import AlertGate

    try:
        items, fmt = load_corpus(corpus, predators)
    except CorpusError as exc:
        raise _fail(str(exc)) from None
    name = detector.value
    try:
        artifact = None if name == "rules" else _model(model)
        chosen = make_detector(name, artifact)
        level = threshold if threshold is not None else default_threshold(name, artifact)
    except (ArtifactError, CueError) as exc:
        raise _fail(str(exc)) from None
    try:
        truths, outcomes = run_items(chosen, AlertGate(level, name), items)
    except (KeyError, TypeError, ValueError) as exc:  # a message field of the wrong type
        raise _fail(f"{corpus}: malformed conversation: {exc!r}") from None
    report = evaluate(truths, outcomes, latency_at)
    groups = grouped_false_alarms(report, items)
    model_name = None if artifact is None else artifact.name
    if as_json:
        typer.echo(json.dumps({"corpus": str(corpus), "format": fmt, "detector": name, "model": model_name,
                               "threshold": level, "report": report.as_dict(), "false_alarms": groups},
                              sort_keys=True))
        return
    about = f" (model {model_name})" if model_name else ""
    _say(f"{corpus} ({fmt}): detector {name}{about}, threshold {level:g}")
    _say(format_report(report))
    ordinary, hard = groups["ordinary"], groups["hard_negatives"]
    lines = ["false alarms per 1,000, ordinary and hard negatives apart:"]
    if ordinary["conversations"]:
        kinds = ", ".join(ordinary["kinds"])
        lines.append(f"  ordinary conversations ({kinds}; {ordinary['conversations']}): "
                     f"{ordinary['per_1000']:.1f}")
    if hard["conversations"]:
        lines.append(f"  hard negatives ({', '.join(hard['kinds'])}; {hard['conversations']}): "
                     f"{hard['per_1000']:.1f}")
        lines += [f"    hard negative {k}: {v:.1f}" for k, v in hard["by_kind"].items()]
    else:
        lines.append("  hard negatives: none in this corpus")
    _say("\n".join(lines))


def _figure_line(name: str, figures: dict[str, Any]) -> str:
    median = figures.get("median_messages_to_alert")
    to_alert = "-" if median is None else f"{median:g}"
    return (f"  {name:<9} threshold {figures['threshold']:<5g} precision {figures['precision']:.3f}  "
            f"recall {figures['recall']:.3f}  F0.5 {figures['f05']:.3f}  before halfway "
            f"{figures['alerted_before_half']:.1%}  median to alert {to_alert}  "
            f"PR-AUC {figures['pr_auc']:.3f}  F_latency {figures['f_latency']:.3f}")


@app.command(help=TRAIN_HELP)
def train(
    corpus: Path = typer.Argument(..., help="Labelled corpus (JSONL or PAN 2012 XML) to train from."),
    out_path: Path = typer.Option(..., "--out", help="Where to write the model artifact (JSON)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the held-out split and the solver; the same "
                                               "corpus and seed give a byte-identical artifact."),
    predators: Path | None = typer.Option(None, "--predators", help="PAN 2012 predator id list "
                                          "(XML corpus only)."),
) -> None:
    """Train the learned model and write its versioned artifact (see TRAIN_HELP)."""
    try:
        items, _ = load_corpus(corpus, predators)
    except CorpusError as exc:
        raise _fail(str(exc)) from None
    try:
        import sklearn  # noqa: F401 - only to say clearly that the extra is missing
    except ImportError as exc:
        raise _fail(f"training needs the `train` extra ({exc.name} is missing): "
                    "pip install 'childsafe[train]'") from None
    from childsafe.watch.training import TrainingError
    from childsafe.watch.training import train as fit

    with Progress(TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=False) as progress:
        tasks: dict[str, TaskID] = {}

        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = progress.add_task(step, total=total)
            progress.update(tasks[step], completed=done, total=total)

        try:
            artifact = fit(items, seed, progress=report)
        except TrainingError as exc:
            raise _fail(str(exc)) from None
    text = artifact.to_json()
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {out_path}: {exc.strerror or exc}") from None
    meta = artifact.meta
    split = meta["split"]
    _say(f"trained {artifact.name} on {split['train_conversations']} conversations "
         f"({split['train_samples']} samples), held out {split['held_out_conversations']}; "
         f"{meta['trainer']['text_weights_kept']} n-gram weights")
    _say("held-out figures:")
    for name, figures in meta["held_out_metrics"].items():
        _say(_figure_line(name, figures))
    for name in ("learned", "combined"):
        basis = meta["held_out_metrics"][name].get("threshold_basis", "")
        _say(f"default threshold {name}: {artifact.thresholds[name]:g} ({basis})")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    size = len(text.encode("utf-8"))
    _say(f"wrote {out_path} ({size:,} bytes, sha256 {digest[:16]}...)")


@app.command()
def corpus(
    out_path: Path = typer.Option(..., "--out", help="Where to write the corpus (JSONL)."),
    per_kind: int = typer.Option(250, "--per-kind", min=1, help="Conversations of each kind (grooming, "
                                                              "teen_chat, adult_chat, hard_negative)."),
    seed: int = typer.Option(0, "--seed", help="Seed; the same seed always gives the same corpus."),
    french_share: float = typer.Option(0.25, "--french-share", min=0.0, max=1.0,
                                       help="Share of conversations in French."),
) -> None:
    """Write the generated, non-explicit, labelled corpus (for eval and train)."""
    from childsafe.watch.corpus import generate, write_jsonl

    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        count = write_jsonl(out_path, generate(per_kind, seed, french_share))
    except OSError as exc:
        raise _fail(f"cannot write {out_path}: {exc.strerror or exc}") from None
    _say(f"wrote {count} conversations to {out_path} (seed {seed}, {per_kind} per kind)")


@app.command("feedback-export")
def feedback_export(
    agency: str = typer.Argument(..., help="Agency code whose officers' verdicts to export (e.g. ceop)."),
    out_path: Path = typer.Option(..., "--out", help="JSONL file to write (our corpus format)."),
) -> None:
    """Write officers' verdicts on alerts as a labelled corpus for `childsafe watch train`.

    Alerts marked grooming (or acted on) become grooming conversations with the alerted author
    as groomer; alerts dismissed as not grooming become benign ones; unsure verdicts are left
    out. The file holds chat text: keep it inside the agency's training environment. The
    export is audited.
    """
    from childsafe.cli.common import load_settings, transaction
    from childsafe.watch.corpus import write_jsonl
    from childsafe.watch.retraining import labelled_conversations

    settings = load_settings()
    try:
        with transaction(settings) as session:
            items = list(labelled_conversations(session, settings.keyring, agency.strip().upper(),
                                                actor="cli"))
    except LookupError as exc:
        raise _fail(str(exc)) from None
    try:
        count = write_jsonl(out_path, items)
    except OSError as exc:
        raise _fail(f"cannot write {out_path}: {exc.strerror or exc}") from None
    grooming = sum(1 for item in items if item["label"] == "grooming")
    _say(f"wrote {count} conversation(s) to {out_path}: {grooming} grooming, "
         f"{count - grooming} benign")
