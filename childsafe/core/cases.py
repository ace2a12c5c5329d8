"""The case: the unit officers work on, owned by one agency, visible to agencies it is shared with."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    IN_PROGRESS = "in_progress"
    ESCALATED = "escalated"
    CLOSED = "closed"


class CaseSource(StrEnum):
    REPORT = "report"
    WATCH_ALERT = "watch_alert"
    MANUAL = "manual"
