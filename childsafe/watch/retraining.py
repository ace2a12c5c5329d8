"""Officers' verdicts on alerts as a labelled corpus, so `childsafe watch train` can learn
from the agency's own rooms.

A dismissed alert ("not grooming", "adults only", "false alarm") becomes a benign
conversation; an alert officers acted on, or marked grooming, becomes a grooming conversation
whose groomer is the alerted author. "Unsure" verdicts and duplicates are left out: a label
the officer did not give would teach the model a guess. The export holds chat text, so it is
audited and meant to stay inside the agency's training environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent
from childsafe.core.crypto import Keyring
from childsafe.store import audit
from childsafe.store.models import AgencyRow
from childsafe.store.watch_models import AlertFeedbackRow, AlertRow, RoomRow
from childsafe.watch.alert_view import messages_of, read_text

GROOMING_LABELS = frozenset({"grooming"})
BENIGN_LABELS = frozenset({"not_grooming"})


def _verdicts(session: Session, agency_id: int) -> dict[str, tuple[AlertRow, str]]:
    """The last verdict per alert (an officer may revise one)."""
    found: dict[str, tuple[AlertRow, str]] = {}
    rows = session.execute(select(AlertFeedbackRow.label, AlertRow)
                           .join(AlertRow, AlertRow.id == AlertFeedbackRow.alert_id)
                           .where(AlertRow.agency_id == agency_id)
                           .order_by(AlertFeedbackRow.created_at, AlertFeedbackRow.id))
    for label, alert in rows:
        found[alert.id] = (alert, label)
    return found


def labelled_conversations(session: Session, keyring: Keyring, agency_code: str, *,
                           actor: str) -> Iterator[dict[str, Any]]:
    """Items in our JSONL corpus shape (see `childsafe.watch.corpus`), one per conversation
    with a grooming or benign verdict; audited once with the count."""
    agency = session.scalar(select(AgencyRow).where(AgencyRow.code == agency_code))
    if agency is None:
        raise LookupError(f"no agency {agency_code!r}")
    by_conversation: dict[int, dict[str, Any]] = {}
    for alert, label in _verdicts(session, agency.id).values():
        if label not in GROOMING_LABELS | BENIGN_LABELS:
            continue
        item = by_conversation.setdefault(alert.conversation_id, {
            "id": f"{agency_code}-conv-{alert.conversation_id}", "kind": "feedback",
            "subkind": "feedback", "label": "benign", "groomer": None,
            "alerts": [], "room": alert.room_id})
        item["alerts"].append(alert.reference)
        if label in GROOMING_LABELS:
            item["label"], item["groomer"] = "grooming", alert.author_id
            item["kind"] = "grooming"
    exported = 0
    for conversation_id, item in sorted(by_conversation.items()):
        room = session.get(RoomRow, item["room"])
        item["language"] = room.language if room is not None else "en"
        item["messages"] = [
            {"id": row.message_id, "author": row.author_id, "ts": row.sent_at.timestamp(),
             "text": read_text(keyring, row), "age": row.declared_age}
            for row in messages_of(session, conversation_id)]
        exported += 1
        yield item
    audit.append(session, AuditEvent("watch.feedback_export", actor=actor, agency=agency_code,
                                     object_type="agency", object_id=str(agency.id),
                                     detail={"conversations": exported}))
