"""Officers' interventions into the provider's service, sent as signed webhooks (outbox).

Four kinds: a police message posted into the room (the provider shows it marked as from the
police: the webhook carries `from_police` and a `label` naming the agency), safety advice
sent privately to the child, and requests to suspend the author's account or to preserve
data. Each is an `InterventionRow` plus one outbox message in the officer's transaction, so
a refused or rolled-back action never leaves, and a provider that is down gets it later.
The same text to the same person twice is refused (a double click does not post twice).

Starting texts are data (`advice/<language>.yaml`), in the room's language; officers edit
them before sending.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe.core.audit import AuditEvent
from childsafe.core.crypto import Keyring
from childsafe.core.errors import Conflict, InvalidInput
from childsafe.core.principal import Principal
from childsafe.store import audit
from childsafe.store.models import AgencyRow, ProviderRow
from childsafe.store.watch_models import (
    AlertRow,
    InterventionRow,
    RoomRow,
    WatchMessageRow,
)
from childsafe.watch import alerts, provider_webhooks


class Kind(StrEnum):
    ROOM_MESSAGE = "room_message"
    PRIVATE_ADVICE = "private_advice"
    SUSPEND = "suspend"
    PRESERVE = "preserve"


KIND_LABELS = {
    Kind.ROOM_MESSAGE: "Police message in the room",
    Kind.PRIVATE_ADVICE: "Safety advice to the child (private)",
    Kind.SUSPEND: "Ask the provider to suspend the account",
    Kind.PRESERVE: "Ask the provider to preserve data",
}
KEY_PREFIX = "watch-intervention:"
MAX_MESSAGE = 2000
MAX_PRESERVED_IDS = 5000
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_KNOWN = {"agency", "reference"}


class AdviceError(ValueError):
    """An advice file is invalid; names the file and the key."""


@dataclass(frozen=True, slots=True)
class AdviceTexts:
    language: str
    version: int
    label: str
    texts: dict[str, str]  # kind -> template

    def render(self, key: str, *, agency: str, reference: str) -> str:
        template = self.label if key == "label" else self.texts[key]
        return template.format(agency=agency, reference=reference)


def parse_advice(doc: Any, source: str) -> AdviceTexts:
    """Validate an advice document: every kind has a text, only known placeholders."""
    if not isinstance(doc, dict):
        raise AdviceError(f"{source}: must be a mapping")
    language, version = doc.get("language"), doc.get("version")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2}", language):
        raise AdviceError(f"{source}: language must be a two-letter code")
    if not isinstance(version, int) or version < 1:
        raise AdviceError(f"{source}: version must be a positive integer")
    texts = {}
    for key in ["label", *(k.value for k in Kind)]:
        value = doc.get(key)
        if not isinstance(value, str) or not value.strip():
            raise AdviceError(f"{source}: {key} must be a non-empty text")
        unknown = set(_PLACEHOLDER.findall(value)) - _KNOWN
        if unknown:
            raise AdviceError(f"{source}: {key} uses unknown placeholders {sorted(unknown)}")
        if len(value) > MAX_MESSAGE:
            raise AdviceError(f"{source}: {key} is longer than {MAX_MESSAGE} characters")
        texts[key] = value.strip()
    label = texts.pop("label")
    return AdviceTexts(language, version, label, texts)


def advice_languages() -> tuple[str, ...]:
    folder = resources.files("childsafe.watch").joinpath("advice")
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


@cache
def load_advice(language: str) -> AdviceTexts:
    """The advice texts of a language, English when there is no file for it."""
    lang = language if language in advice_languages() else "en"
    source = f"advice/{lang}.yaml"
    resource = resources.files("childsafe.watch").joinpath("advice", f"{lang}.yaml")
    texts = parse_advice(yaml.safe_load(resource.read_text(encoding="utf-8")), source)
    if texts.language != lang:
        raise AdviceError(f"{source}: says {texts.language!r}, file name says {lang!r}")
    return texts


def default_text(kind: str, *, language: str, agency: str, reference: str) -> str:
    return load_advice(language).render(Kind(kind).value, agency=agency, reference=reference)


def _participants(session: Session, alert: AlertRow) -> set[str]:
    return set(session.scalars(select(WatchMessageRow.author_id).distinct()
                               .where(WatchMessageRow.conversation_id == alert.conversation_id)))


def _target(session: Session, alert: AlertRow, kind: Kind, target: str | None) -> str | None:
    target = (target or "").strip() or None
    if target is None:
        target = {Kind.PRIVATE_ADVICE: alert.target_id, Kind.SUSPEND: alert.author_id,
                  Kind.PRESERVE: alert.author_id}.get(kind)
    if kind is Kind.PRIVATE_ADVICE and target is None:
        raise InvalidInput("No child was identified in this conversation: choose the "
                           "participant to send the advice to.", field="target")
    if target is not None and target not in _participants(session, alert):
        raise InvalidInput("The target must be a participant of this conversation.",
                           field="target")
    return target


def _key(alert: AlertRow, kind: Kind, target: str | None, message: str) -> str:
    """Same kind, person and text on the same alert: the same key (a repeat is refused)."""
    text = message if kind in (Kind.ROOM_MESSAGE, Kind.PRIVATE_ADVICE) else ""
    digest = hashlib.sha256(f"{target or ''}\x00{text}".encode()).hexdigest()[:24]
    return f"{KEY_PREFIX}{alert.id}:{kind.value}:{digest}"


def intervene(session: Session, keyring: Keyring, who: Principal, alert_id: str, kind: str,
              *, now: datetime, message: str = "", target: str | None = None,
              ip: str | None = None) -> InterventionRow:
    """Queue one intervention for the room's provider; the alert becomes actioned."""
    try:
        chosen = Kind(kind)
    except ValueError:
        raise InvalidInput("Choose what to do: " + ", ".join(k.value for k in Kind) + ".",
                           field="kind") from None
    alert = alerts.begin_action(session, who, alert_id, "intervene")
    room = session.get(RoomRow, alert.room_id)
    assert room is not None
    provider = session.get(ProviderRow, room.provider_id)
    agency = session.get(AgencyRow, who.agency_id)
    assert provider is not None and agency is not None
    who_for = _target(session, alert, chosen, target)
    text = (message or "").strip() or default_text(
        chosen, language=room.language, agency=agency.name, reference=alert.reference)
    if len(text) > MAX_MESSAGE:
        raise InvalidInput(f"The message is longer than {MAX_MESSAGE} characters.",
                           field="message")
    key = _key(alert, chosen, who_for, text)
    if session.scalar(select(InterventionRow.id).where(InterventionRow.idempotency_key == key)):
        raise Conflict(f"This was already sent for alert {alert.reference}.")
    row = InterventionRow(alert_id=alert.id, kind=chosen.value, body=text, target_id=who_for,
                          by_user=who.user_id, idempotency_key=key, status="queued",
                          created_at=now)
    session.add(row)
    session.flush()
    body: dict[str, Any] = {
        "type": "intervention", "kind": chosen.value, "room": room.external_id,
        "alert": alert.reference, "message": text, "target": who_for,
        "agency": who.agency_code, "agency_name": agency.name, "from_police": True,
        "label": load_advice(room.language).render("label", agency=agency.name,
                                                   reference=alert.reference),
        "intervention": row.id, "sent_at": now.isoformat()}
    if chosen is Kind.PRESERVE:
        body["accounts"] = sorted({alert.author_id} | ({alert.target_id} if alert.target_id
                                                        else set()))
        body["message_ids"] = list(session.scalars(
            select(WatchMessageRow.message_id)
            .where(WatchMessageRow.conversation_id == alert.conversation_id)
            .order_by(WatchMessageRow.seq).limit(MAX_PRESERVED_IDS)))
    provider_webhooks.enqueue(session, keyring, provider, body, key)
    alerts.mark_actioned(session, who, alert, now, f"intervened:{chosen.value}")
    audit.append(session, AuditEvent("watch.alert.intervene", actor=who.username,
                                     agency=who.agency_code, object_type="watch_alert",
                                     object_id=alert.id, ip=ip,
                                     detail={"reference": alert.reference, "kind": chosen.value,
                                             "target": who_for, "intervention": row.id,
                                             "provider": provider.id}))
    return row


def interventions_of(session: Session, alert: AlertRow) -> list[InterventionRow]:
    return list(session.scalars(select(InterventionRow).where(InterventionRow.alert_id == alert.id)
                                .order_by(InterventionRow.id)))


def mark_delivered(session: Session, idempotency_key: str, now: datetime) -> bool:
    """The provider accepted the webhook (2xx). False if the key is no intervention's."""
    row = session.scalar(select(InterventionRow)
                         .where(InterventionRow.idempotency_key == idempotency_key))
    if row is None:
        return False
    row.status, row.delivered_at = "delivered", now
    return True


def mark_failed(session: Session, idempotency_key: str) -> bool:
    """The outbox gave up: officers see the intervention did not reach the provider."""
    row = session.scalar(select(InterventionRow)
                         .where(InterventionRow.idempotency_key == idempotency_key))
    if row is None or row.status == "delivered":
        return False
    row.status = "failed"
    return True
