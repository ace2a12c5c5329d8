"""Alerts on the store: an agency's queue, one alert, and the officers' verdicts on it.

Isolation lives in the query: every read filters on the officer's agency, so another agency's
alert is absent (NotFound), never forbidden; a refused look is audited all the same. Every
view of an alert is audited, as are all changes, in the caller's transaction.

States: open → acknowledged → actioned | dismissed, and open → actioned | dismissed directly.
Dismissed and actioned are final; acting on a dismissed alert is refused with the reason.
Verdicts (dismissals, interventions, cases) are kept as `AlertFeedbackRow`s for retraining.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent, Outcome
from childsafe.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from childsafe.core.permissions import Permission
from childsafe.core.principal import Principal
from childsafe.store import audit
from childsafe.store.models import UserRow
from childsafe.store.watch_models import AlertFeedbackRow, AlertRow


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    DISMISSED = "dismissed"
    ACTIONED = "actioned"


ACTIVE = (AlertState.OPEN.value, AlertState.ACKNOWLEDGED.value)
QUEUE_FILTERS = ("active", "open", "acknowledged", "actioned", "dismissed", "all")
SORTS = ("newest", "riskiest")
FEEDBACK_LABELS = ("grooming", "not_grooming", "unsure")
# Dismissal reason → (what officers read, the training label it stands for).
DISMISS_REASONS: dict[str, tuple[str, str]] = {
    "false_alarm": ("False alarm", "not_grooming"),
    "not_grooming": ("Not grooming", "not_grooming"),
    "adults_only": ("Adults only", "not_grooming"),
    "duplicate": ("Duplicate of another alert", "unsure"),
    "other": ("Other (explain in the note)", "unsure"),
}
MAX_NOTE = 2000


def _event(session: Session, who: Principal, action: str, alert_id: str, *,
           ip: str | None = None, outcome: Outcome = Outcome.SUCCESS, **detail: Any) -> None:
    audit.append(session, AuditEvent(action, outcome=outcome, actor=who.username,
                                     agency=who.agency_code, object_type="watch_alert",
                                     object_id=alert_id[:36], detail=detail, ip=ip))


def visible_to(who: Principal) -> ColumnElement[bool]:
    """The one predicate that keeps officers to their own agency's alerts."""
    return AlertRow.agency_id == who.agency_id


def queue(session: Session, who: Principal, *, state: str = "active", sort: str = "newest",
          limit: int = 100, ip: str | None = None) -> list[AlertRow]:
    """The agency's alerts, newest (or riskiest) first; the listing itself is audited."""
    if state not in QUEUE_FILTERS:
        raise InvalidInput(f"Unknown filter {state!r}; use one of {', '.join(QUEUE_FILTERS)}.",
                           field="state")
    if sort not in SORTS:
        raise InvalidInput(f"Unknown order {sort!r}; use one of {', '.join(SORTS)}.", field="sort")
    query = select(AlertRow).where(visible_to(who))
    if state == "active":
        query = query.where(AlertRow.state.in_(ACTIVE))
    elif state != "all":
        query = query.where(AlertRow.state == state)
    order = ((AlertRow.created_at.desc(), AlertRow.score.desc()) if sort == "newest"
             else (AlertRow.score.desc(), AlertRow.created_at.desc()))
    rows = list(session.scalars(query.order_by(*order, AlertRow.id).limit(limit)))
    audit.append(session, AuditEvent("watch.alert.list", actor=who.username,
                                     agency=who.agency_code, object_type="watch_alert",
                                     detail={"state": state, "sort": sort, "shown": len(rows),
                                             "alerts": [r.reference for r in rows[:50]]}, ip=ip))
    return rows


def queue_fingerprint(session: Session, who: Principal) -> dict[str, object]:
    """What changes when the queue does (new alert, acknowledged, closed): for live updates.

    Reads counts and times only, no alert content, so polling it is not an alert view."""
    count, created, acked, closed = session.execute(
        select(func.count(), func.max(AlertRow.created_at), func.max(AlertRow.acknowledged_at),
               func.max(AlertRow.closed_at))
        .where(visible_to(who), AlertRow.state.in_(ACTIVE))).one()
    total, last_closed = session.execute(
        select(func.count(), func.max(AlertRow.closed_at)).where(visible_to(who))).one()
    stamps = [t.isoformat() if t else None for t in (created, acked, closed, last_closed)]
    return {"active": int(count), "total": int(total), "changed": stamps}


def load(session: Session, who: Principal, alert_id: str, *,
         for_update: bool = False) -> AlertRow:
    """The alert if it is the officer's agency's, else NotFound (no audit: callers do)."""
    query = select(AlertRow).where(AlertRow.id == alert_id[:36], visible_to(who))
    if for_update:
        query = query.with_for_update()
    row = session.scalar(query) if len(alert_id) <= 36 else None
    if row is None:
        raise NotFound("No such alert.")
    return row


def get_alert(session: Session, who: Principal, alert_id: str, *,
              ip: str | None = None) -> AlertRow:
    """One alert for the officer, its view audited."""
    row = load(session, who, alert_id)
    _event(session, who, "watch.alert.view", row.id, ip=ip, reference=row.reference)
    return row


def record_denied(session: Session, who: Principal, alert_id: str, action: str, *,
                  ip: str | None = None) -> None:
    """Audit a refused look at (or action on) an alert that is not the officer's agency's.

    The caller commits this on its own: the request that was refused rolls back."""
    _event(session, who, action, alert_id, ip=ip, outcome=Outcome.DENIED, reason="not_found")


def _require_act(who: Principal) -> None:
    if not who.can(Permission.WATCH_ACT):
        raise PermissionDenied("Your role does not allow acting on alerts.")


def _who_name(session: Session, user_id: int | None) -> str:
    user = session.get(UserRow, user_id) if user_id else None
    return user.display_name if user else "another officer"


def _refuse_final(session: Session, alert: AlertRow, doing: str) -> None:
    if alert.state == AlertState.DISMISSED.value:
        raise Conflict(f"Cannot {doing}: alert {alert.reference} was dismissed by "
                       f"{_who_name(session, alert.closed_by)}.")


def acknowledge(session: Session, who: Principal, alert_id: str, now: datetime, *,
                ip: str | None = None) -> AlertRow:
    """An officer takes the alert: the others on duty see it is being looked at."""
    _require_act(who)
    alert = load(session, who, alert_id, for_update=True)
    if alert.state != AlertState.OPEN.value:
        _refuse_final(session, alert, "acknowledge")
        by = _who_name(session, alert.acknowledged_by or alert.closed_by)
        raise Conflict(f"Alert {alert.reference} is already {alert.state} (by {by}).")
    alert.state = AlertState.ACKNOWLEDGED.value
    alert.acknowledged_by, alert.acknowledged_at = who.user_id, now
    _event(session, who, "watch.alert.acknowledge", alert.id, ip=ip, reference=alert.reference)
    return alert


def record_feedback(session: Session, who: Principal, alert: AlertRow, label: str, *,
                    reason: str = "", note: str = "", now: datetime) -> AlertFeedbackRow:
    """Keep an officer's verdict on an alert (for evaluation and retraining)."""
    if label not in FEEDBACK_LABELS:
        raise InvalidInput(f"Unknown verdict {label!r}.", field="label")
    row = AlertFeedbackRow(alert_id=alert.id, label=label, reason=reason[:40],
                           note=note.strip()[:MAX_NOTE], detector=alert.detector,
                           score=alert.score, by_user=who.user_id, created_at=now)
    session.add(row)
    session.flush()
    return row


def dismiss(session: Session, who: Principal, alert_id: str, reason: str, note: str,
            now: datetime, *, ip: str | None = None) -> AlertFeedbackRow:
    """Close the alert as not needing action; the reason becomes a training label."""
    _require_act(who)
    if reason not in DISMISS_REASONS:
        raise InvalidInput("Choose why the alert is dismissed.", field="reason")
    note = (note or "").strip()
    if reason == "other" and not note:
        raise InvalidInput("Say in the note why the alert is dismissed.", field="note")
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"The note is longer than {MAX_NOTE} characters.", field="note")
    alert = load(session, who, alert_id, for_update=True)
    _refuse_final(session, alert, "dismiss")
    if alert.state == AlertState.ACTIONED.value:
        raise Conflict(f"Cannot dismiss: officers already acted on alert {alert.reference}.")
    alert.state = AlertState.DISMISSED.value
    alert.closed_by, alert.closed_at = who.user_id, now
    feedback = record_feedback(session, who, alert, DISMISS_REASONS[reason][1], reason=reason,
                               note=note, now=now)
    _event(session, who, "watch.alert.dismiss", alert.id, ip=ip, reference=alert.reference,
           reason=reason)
    return feedback


def begin_action(session: Session, who: Principal, alert_id: str, doing: str) -> AlertRow:
    """Load an alert an officer is about to act on (intervene, open a case), locked."""
    _require_act(who)
    alert = load(session, who, alert_id, for_update=True)
    _refuse_final(session, alert, doing)
    return alert


def mark_actioned(session: Session, who: Principal, alert: AlertRow, now: datetime,
                  reason: str) -> None:
    """The first action closes the alert as actioned and records a grooming verdict."""
    if alert.state == AlertState.ACTIONED.value:
        return
    if alert.acknowledged_by is None:
        alert.acknowledged_by, alert.acknowledged_at = who.user_id, now
    alert.state = AlertState.ACTIONED.value
    alert.closed_by, alert.closed_at = who.user_id, now
    record_feedback(session, who, alert, "grooming", reason=reason, now=now)


def feedback_of(session: Session, alert: AlertRow) -> list[AlertFeedbackRow]:
    return list(session.scalars(select(AlertFeedbackRow).where(AlertFeedbackRow.alert_id == alert.id)
                                .order_by(AlertFeedbackRow.id)))


def export_feedback(session: Session, agency_id: int) -> list[dict[str, Any]]:
    """Officers' verdicts on the agency's alerts as JSON values, oldest first, for retraining.

    Identifiers only (room, conversation, the message that crossed, the author): the trainer
    joins them to the messages under its own access; no chat text leaves through here."""
    rows = session.execute(
        select(AlertFeedbackRow, AlertRow)
        .join(AlertRow, AlertRow.id == AlertFeedbackRow.alert_id)
        .where(AlertRow.agency_id == agency_id)
        .order_by(AlertFeedbackRow.created_at, AlertFeedbackRow.id)).all()
    return [{"alert": a.reference, "room": a.room_id, "conversation": a.conversation_id,
             "author": a.author_id, "target": a.target_id, "message_seq": a.message_seq,
             "detector": f.detector, "score": f.score, "threshold": a.threshold,
             "stage": a.stage, "reasons": list(a.reasons or []), "label": f.label,
             "reason": f.reason, "note": f.note, "at": f.created_at.isoformat()}
            for f, a in rows]
