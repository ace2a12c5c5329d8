"""Load the packaged cue files; the only place in `childsafe.watch` detection that reads files.

Parsing and validation happen in the pure core, so a broken cue file fails at start-up with
a `CueError` naming the file and the rule, never in the middle of a watched conversation.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from childsafe.watch.core.cues import CueError, CueSet, parse_cue_document
from childsafe.watch.core.detector import DETECTORS, Detector

PACKAGE = "childsafe.watch"


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
