"""Periodic Watch duties run by `childsafe worker`: push badge changes to providers.

A badge changes when a shift starts or ends, or when agencies choose or drop a room. Every
~60 s the worker recomputes each active room's badge and, when its digest differs from the
one last pushed (`RoomRow.badge_digest`), queues a signed `room.badge` webhook and stores the
new digest in the same transaction — so a change is pushed once, and a rolled-back run
pushes nothing. Assignment and shift changes call `refresh_room` at once, in their own
transaction.

The delivery key carries the time of the change as well as the digest: a room that goes
monitored → off duty → monitored shows the same badge twice, and the provider must hear of
both changes (the outbox drops a key it has seen before).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from childsafe.core.crypto import Keyring
from childsafe.store.db import Database, is_postgres
from childsafe.store.models import ProviderRow
from childsafe.store.watch_models import RoomRow
from childsafe.watch.badge import Badge, all_texts, badge_for_room, badges_for_rooms
from childsafe.watch.provider_webhooks import enqueue, has_webhook

log = logging.getLogger("childsafe.watch")
PAGE = 200
EVENT_TYPE = "room.badge"


def badge_event(room: RoomRow, badge: Badge, now: datetime) -> dict[str, object]:
    """The webhook body: everything the provider needs to update the room's badge."""
    return {"type": EVENT_TYPE, "room": room.id, "external_id": room.external_id,
            "state": badge.state.value, "monitored": badge.monitored,
            "on_duty": [{"code": a.code, "name": a.name} for a in badge.on_duty],
            "monitoring": [{"code": a.code, "name": a.name} for a in badge.monitoring],
            "next_review_at": badge.next_review_at.isoformat() if badge.next_review_at
            else None,
            "text": all_texts(badge), "digest": badge.digest(), "changed_at": now.isoformat(),
            "badge_path": f"/api/v1/rooms/{room.id}/badge",
            "svg_path": f"/api/v1/rooms/{room.id}/badge.svg"}


def push_badge(session: Session, keyring: Keyring, room: RoomRow, badge: Badge, now: datetime,
               provider: ProviderRow | None = None) -> bool:
    """Queue the badge if it changed since the last push; True when queued."""
    digest = badge.digest()
    if room.badge_digest == digest or not room.active:
        return False
    provider = provider or session.get(ProviderRow, room.provider_id)
    if provider is None or provider.disabled or not has_webhook(provider):
        log.debug("badge of room %s changed; provider %s has no webhook, not pushed", room.id,
                  room.provider_id)
        return False
    enqueue(session, keyring, provider, badge_event(room, badge, now),
            idempotency_key=f"badge:{room.id}:{digest}:{now:%Y%m%dT%H%M%S}")
    room.badge_digest = digest
    return True


def refresh_room(session: Session, keyring: Keyring | None, room: RoomRow,
                 now: datetime) -> bool:
    """Recompute one room's badge and push it if it changed (e.g. after an assignment)."""
    if keyring is None:
        return False
    return push_badge(session, keyring, room, badge_for_room(session, room.id, now), now)


def refresh_rooms(session: Session, keyring: Keyring | None, room_ids: list[str],
                  now: datetime) -> int:
    """As `refresh_room` for many rooms (e.g. after a shift of their agency changed)."""
    if keyring is None or not room_ids:
        return 0
    rooms = list(session.scalars(select(RoomRow).where(RoomRow.id.in_(room_ids),
                                                       RoomRow.active.is_(True))))
    badges = badges_for_rooms(session, [r.id for r in rooms], now)
    return sum(push_badge(session, keyring, room, badges[room.id], now) for room in rooms)


def run(db: Database, now: datetime, keyring: Keyring | None) -> int:
    """Do what is due; returns how many badge changes were queued (for the worker's log)."""
    if keyring is None:
        log.warning("watch housekeeping needs the keyring (provider webhook secrets); skipped")
        return 0
    pushed, skipped, after = 0, 0, ""
    while True:
        with db.transaction() as session:
            query = (select(RoomRow).where(RoomRow.active.is_(True), RoomRow.id > after)
                     .order_by(RoomRow.id).limit(PAGE))
            if is_postgres(session):  # two workers never push the same change twice
                query = query.with_for_update(skip_locked=True)
            rooms = list(session.scalars(query))
            if not rooms:
                break
            after = rooms[-1].id
            badges = badges_for_rooms(session, [r.id for r in rooms], now)
            providers = {p.id: p for p in session.scalars(select(ProviderRow).where(
                ProviderRow.id.in_({r.provider_id for r in rooms})))}
            for room in rooms:
                badge = badges[room.id]
                if room.badge_digest == badge.digest():
                    continue
                if push_badge(session, keyring, room, badge, now, providers.get(room.provider_id)):
                    pushed += 1
                else:
                    skipped += 1
    if skipped:
        log.info("watch: %d room badge change(s) not pushed (provider without a webhook)",
                 skipped)
    return pushed
