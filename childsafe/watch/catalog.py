"""Load the packaged cue files and model artifact; the only place in detection that reads files.

Parsing and validation happen in the pure core, so a broken cue file fails at start-up with
a `CueError` naming the file and the rule, and a model artifact of another version or shape
with an `ArtifactError`, never in the middle of a watched conversation.

`combined_detector()` is the recommended detector; `default_threshold(name)` its threshold
(for the learned layers, the one chosen at training and recorded in the artifact).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from childsafe.watch.core.cues import CueError, CueSet, parse_cue_document
from childsafe.watch.core.detector import DEFAULT_THRESHOLD, DETECTORS, Detector
from childsafe.watch.core.learned import ArtifactError, ModelArtifact

PACKAGE = "childsafe.watch"
MODEL = "grooming-v1"


def cue_languages() -> tuple[str, ...]:
    """Languages that have a cue file, from the file names (cues/<lang>.yaml)."""
    folder = resources.files(PACKAGE).joinpath("cues")
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


@cache
def load_cues(language: str) -> CueSet:
    source = f"cues/{language}.yaml"
    resource = resources.files(PACKAGE).joinpath("cues", f"{language}.yaml")
    if not resource.is_file():
        raise CueError(source, "file", "no such cue file")
    try:
        doc = yaml.safe_load(resource.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CueError(source, "yaml", str(exc)) from exc
    cue_set = parse_cue_document(doc, source)
    if cue_set.language != language:
        raise CueError(source, "language", f"says {cue_set.language!r}, file name says {language!r}")
    return cue_set


def load_all_cues() -> tuple[CueSet, ...]:
    return tuple(load_cues(lang) for lang in cue_languages())


def rule_detector() -> Detector:
    """The rule detector over every packaged language."""
    return DETECTORS.create("rules", cue_sets=load_all_cues())


def load_model(path: str | Path | None = None) -> ModelArtifact:
    """The packaged model artifact (`models/grooming-v1.json`), or the one at `path`."""
    if path is None:
        return _packaged_model()
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ArtifactError(f"{source}: cannot read the model artifact: {exc.strerror or exc}") from exc
    return ModelArtifact.from_json(data, source)


@cache
def _packaged_model() -> ModelArtifact:
    source = f"models/{MODEL}.json"
    resource = resources.files(PACKAGE).joinpath("models", f"{MODEL}.json")
    if not resource.is_file():
        raise ArtifactError(f"{source}: no such model artifact; train one with `childsafe watch train`")
    return ModelArtifact.from_json(resource.read_bytes(), source)


def learned_detector(model: ModelArtifact | None = None) -> Detector:
    """The learned layer alone (the packaged model unless another is given)."""
    return DETECTORS.create("learned", artifact=model or load_model(), cue_sets=load_all_cues())


def combined_detector(model: ModelArtifact | None = None) -> Detector:
    """Rules, then the model on the authors they flag: the recommended detector."""
    return DETECTORS.create("combined", artifact=model or load_model(), cue_sets=load_all_cues())


def detector(name: str, model: ModelArtifact | None = None) -> Detector:
    """A detector by registry name: rules, learned or combined."""
    if name == "rules":
        return rule_detector()
    return DETECTORS.create(name, artifact=model or load_model(), cue_sets=load_all_cues())


def default_threshold(name: str, model: ModelArtifact | None = None) -> float:
    """The default alert threshold of a detector: the rules' constant, else the artifact's."""
    if name == "rules":
        return DEFAULT_THRESHOLD
    artifact = model or load_model()
    if name not in artifact.thresholds:
        raise ArtifactError(f"model {artifact.name!r} has no threshold for detector {name!r}")
    return artifact.thresholds[name]
