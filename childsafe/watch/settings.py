"""Which detector an agency uses and from what score it is alerted; detectors cached per process.

The default operating point lives in one function, `default_detector_settings()`, so the
detector catalogue can move it (e.g. to the combined detector) without touching the scorer.
"""

from __future__ import annotations

import logging
import threading
from functools import cache

from sqlalchemy.orm import Session

from childsafe.store.watch_models import AgencyWatchSettingsRow
from childsafe.watch import catalog
from childsafe.watch.core.detector import DEFAULT_THRESHOLD, DETECTORS, Detector, RuleDetector

log = logging.getLogger("childsafe.watch")
_CACHE: dict[str, Detector] = {}
_LOCK = threading.Lock()


RECOMMENDED = "combined"  # rules, then the learned model on the authors they flag


@cache
def default_detector_settings() -> tuple[str, float]:
    """(detector name, threshold) for an agency that chose none: the combined detector at
    its artifact's operating point (chosen for alert precision >= 0.9); the rules at theirs
    if the packaged model cannot be read (logged: scoring goes on, less well)."""
    try:
        return RECOMMENDED, catalog.default_threshold(RECOMMENDED)
    except ValueError:  # ArtifactError: a missing or broken packaged model
        log.exception("watch: the packaged model cannot be used; the default is the rules")
        return RuleDetector.name, DEFAULT_THRESHOLD


def agency_settings(session: Session, agency_id: int | None) -> tuple[str, float]:
    """The agency's (detector name, threshold), else the default."""
    row = session.get(AgencyWatchSettingsRow, agency_id) if agency_id is not None else None
    if row is None:
        return default_detector_settings()
    return row.detector, row.threshold


def _build(name: str) -> Detector:
    # The catalogue's builders (rule_detector, learned_detector, …) load packaged data once.
    builder = getattr(catalog, "rule_detector" if name == RuleDetector.name else f"{name}_detector",
                      None)
    detector = builder() if callable(builder) else DETECTORS.create(name)
    assert isinstance(detector, Detector)
    return detector


def detector_named(name: str) -> Detector:
    """One shared instance per detector name in this process (detectors keep no per-call
    state: everything lives in the `ConversationState` they are handed). An unknown or
    broken detector falls back to the default one, loudly, rather than stop all scoring."""
    found = _CACHE.get(name)
    if found is not None:
        return found
    with _LOCK:
        if name not in _CACHE:
            try:
                _CACHE[name] = _build(name)
            except Exception:  # noqa: BLE001 - a bad setting must not stop every alert
                fallback = default_detector_settings()[0]
                if name == fallback:
                    raise
                log.exception("detector %r cannot be built; scoring with %r", name, fallback)
                _CACHE[name] = _CACHE.get(fallback) or _build(fallback)
        return _CACHE[name]
