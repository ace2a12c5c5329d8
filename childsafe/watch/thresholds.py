"""An agency's operating point: which detector, and from what score its officers are alerted.

Unset, an agency uses the catalog default, chosen on the labelled corpus for alert precision
>= 0.9 (officer time is the scarce resource). A lower threshold alerts earlier and more often,
with more false alarms; changes are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent
from childsafe.core.errors import InvalidInput
from childsafe.core.principal import Principal
from childsafe.store import audit
from childsafe.store.watch_models import AgencyWatchSettingsRow
from childsafe.watch.core.detector import DETECTORS
from childsafe.watch.settings import default_detector_settings

MIN_THRESHOLD, MAX_THRESHOLD = 0.05, 0.99


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    detector: str
    threshold: float
    is_default: bool


def default_point() -> OperatingPoint:
    """The catalog default (`settings.default_detector_settings`), for agencies that chose none."""
    detector, threshold = default_detector_settings()
    return OperatingPoint(detector, threshold, True)


def detector_names() -> list[str]:
    return list(DETECTORS.names())


def current(session: Session, agency_id: int) -> OperatingPoint:
    row = session.get(AgencyWatchSettingsRow, agency_id)
    if row is None:
        return default_point()
    return OperatingPoint(row.detector, row.threshold, False)


def parse_threshold(text: str) -> float:
    try:
        value = float((text or "").strip().replace(",", "."))
    except ValueError:
        raise InvalidInput("The threshold is a number such as 0.65.", field="threshold") from None
    if not MIN_THRESHOLD <= value <= MAX_THRESHOLD:
        raise InvalidInput(f"The threshold must be between {MIN_THRESHOLD} and {MAX_THRESHOLD}.",
                           field="threshold")
    return round(value, 3)


def update(session: Session, who: Principal, *, detector: str, threshold: str | float,
           now: datetime, ip: str | None = None) -> OperatingPoint:
    """Set the agency's detector and threshold (audited, with the previous values)."""
    if detector not in detector_names():
        raise InvalidInput(f"Choose a detector among {', '.join(detector_names())}.",
                           field="detector")
    value = parse_threshold(str(threshold))
    before = current(session, who.agency_id)
    row = session.get(AgencyWatchSettingsRow, who.agency_id)
    if row is None:
        row = AgencyWatchSettingsRow(agency_id=who.agency_id, detector=detector,
                                     threshold=value)
        session.add(row)
    row.detector, row.threshold = detector, value
    row.updated_by, row.updated_at = who.user_id, now
    session.flush()
    audit.append(session, AuditEvent(
        "watch.threshold_set", actor=who.username, agency=who.agency_code,
        object_type="agency", object_id=str(who.agency_id), ip=ip,
        detail={"detector": detector, "threshold": value, "before": {
            "detector": before.detector, "threshold": before.threshold,
            "default": before.is_default}}), at=now)
    return OperatingPoint(detector, value, False)
