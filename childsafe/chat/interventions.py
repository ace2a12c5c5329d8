"""What the platform asks of the chat, by signed webhook: officers' interventions, data
preservation and badge changes.

Each delivery is verified (`childsafe.sdk.verify_webhook`, HMAC over the raw body with the
provider's secret, timestamp within five minutes) before anything is parsed, and applied at
most once per delivery id: the platform delivers at least once, so a repeat is answered 200
and ignored. A delivery that fails to apply is forgotten, so the platform's retry applies it.

- `room_message`: a message in the room, marked as from the police. The marking comes from
  the message's kind, which only this module sets; users' messages never have it.
- `private_advice`: a private notice shown to the target (the child) only.
- `suspend`: the target cannot log in or post; their sessions and live connections end.
- `preserve` / `preservation_request`: the accounts' messages are exported to a JSON file
  under data_dir/preservations and recorded in the database.
- `room.badge`: the room's cached badge is refreshed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from childsafe.chat.accounts import clean_text
from childsafe.chat.config import ChatSettings
from childsafe.chat.hub import Hub, message_event, notice_event
from childsafe.chat.platform import PlatformLink
from childsafe.chat.store import ChatStore, iso, utcnow
from childsafe.sdk import BadgeChange, ChildsafeError, verify_webhook

log = logging.getLogger("childsafe.chat.webhooks")
MAX_TEXT = 2000
POLICE_LABEL = "Police message — {agency}"
ADVICE_LABEL = "Private safety advice — {agency}"


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int
    detail: str
    duplicate: bool = False


def police_label(body: Mapping[str, Any]) -> str:
    agency = clean_text(str(body.get("agency_name") or body.get("agency") or "police"), 120)
    return POLICE_LABEL.format(agency=agency.replace("\n", " ") or "police")


class WebhookReceiver:
    def __init__(self, settings: ChatSettings, store: ChatStore, hub: Hub,
                 link: PlatformLink) -> None:
        self.settings, self.store, self.hub, self.link = settings, store, hub, link

    async def receive(self, raw: bytes, headers: Mapping[str, str]) -> Outcome:
        secret = self.link.webhook_secret
        if not secret:
            return Outcome(503, "no webhook secret configured")
        try:
            event = verify_webhook(raw, headers, secret)
        except ChildsafeError as exc:
            log.warning("webhook refused: %s", exc.code)
            return Outcome(401, exc.code)
        delivery = event.delivery_id
        if not self.store.claim_delivery(delivery, event.type):
            return Outcome(200, "already applied", duplicate=True)
        try:
            detail = await self.apply(event.type, dict(event.body), delivery)
        except Exception:
            self.store.forget_delivery(delivery)
            log.exception("webhook %s (%s) failed to apply", delivery, event.type)
            raise
        self.store.set_delivery_outcome(delivery, detail)
        return Outcome(200, detail)

    async def apply(self, kind: str, body: dict[str, Any], delivery: str) -> str:
        if kind == "intervention":
            return await self.intervention(body, delivery)
        if kind == "preservation_request":
            accounts = sorted({a for r in body.get("reports") or [] if isinstance(r, dict)
                               for a in r.get("reported_accounts") or []})
            ids = [m for r in body.get("reports") or [] if isinstance(r, dict)
                   for m in r.get("message_ids") or []]
            return self.preserve(delivery, f"case {body.get('case', '?')}", accounts, ids, body)
        if kind == "room.badge":
            change = BadgeChange.from_json(body)
            room = self.store.room(change.external_id)
            if room is None or room.direct:
                return f"unknown room {change.external_id[:40]}"
            # The event carries the new state and words: show them at once, without calling
            # the platform back while it waits for our answer; fetch the full badge after.
            self.store.set_badge(room.slug, self.link.badge_from_change(room, change), utcnow())
            self.link.refresh_badge_soon(room.slug)
            return f"badge of {room.slug}: {change.state}"
        return f"ignored type {kind[:40]}"

    async def intervention(self, body: dict[str, Any], delivery: str) -> str:
        kind = str(body.get("kind") or "")
        text = clean_text(str(body.get("message") or ""), MAX_TEXT)
        agency = clean_text(str(body.get("agency_name") or body.get("agency") or ""), 120)
        target = self.store.user_by_name(str(body.get("target") or ""))
        room = self.store.room(str(body.get("room") or ""))
        alert = str(body.get("alert") or "")[:64]
        if kind == "room_message":
            if not text:
                return "empty message"
            if room is not None and not room.direct:
                message = self.store.add_message(text=text, room_slug=room.slug,
                                                 police_label=police_label(body), agency=agency)
                await self.hub.publish([f"room:{room.slug}"], message_event(message))
                return f"police message in {room.slug}"
            if target is None:  # a direct conversation has no room to post in
                return "no room and no target"
            return await self._notice(target.id, target.username, police_label(body), text,
                                      agency, alert)
        if kind == "private_advice":
            if target is None or not text:
                return "unknown target or empty advice"
            return await self._notice(target.id, target.username,
                                      ADVICE_LABEL.format(agency=agency or "police"), text,
                                      agency, alert)
        if kind == "suspend":
            if target is None:
                return "unknown target"
            ended = self.store.suspend(target.id, f"requested by {agency or 'the police'} "
                                                  f"(alert {alert})", utcnow())
            await self.hub.disconnect_user(target.username, "suspended")
            return f"suspended {target.username}; {ended} session(s) ended"
        if kind == "preserve":
            accounts = [str(a) for a in body.get("accounts") or ([body["target"]] if
                                                                 body.get("target") else [])]
            ids = [str(m) for m in body.get("message_ids") or []]
            return self.preserve(delivery, f"alert {alert}", accounts, ids, body)
        return f"ignored intervention {kind[:40]}"

    async def _notice(self, user_id: int, username: str, label: str, text: str, agency: str,
                      alert: str) -> str:
        notice = self.store.add_notice(user_id, label, text, agency, alert)
        await self.hub.publish([f"user:{username}"], notice_event(notice))
        return f"notice to {username}"

    def preserve(self, delivery: str, reason: str, accounts: list[str], message_ids: list[str],
                 request: dict[str, Any]) -> str:
        users = [u for u in (self.store.user_by_name(a) for a in accounts[:100]) if u]
        messages = self.store.messages_for_accounts([u.id for u in users], message_ids[:5000])
        data = {
            "preserved_at": iso(utcnow()), "reason": reason, "request": request,
            "accounts": [{"username": u.username, "display_name": u.display_name,
                          "birth_year": u.birth_year, "country": u.country, "email": u.email,
                          "created_at": u.created_at, "suspended_at": u.suspended_at}
                         for u in users],
            "messages": [{"id": m.id, "room": m.room_slug, "sender": m.sender_username,
                          "recipient": m.recipient_username, "kind": m.kind,
                          "sent_at": m.sent_at, "text": m.text} for m in messages]}
        folder = self.settings.data_dir / "preservations"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (re.sub(r"[^A-Za-z0-9_.-]", "_", delivery)[:150] + ".json")
        path.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        self.store.add_preservation(delivery, reason, [u.username for u in users],
                                    len(messages), str(Path(path)), data)
        return f"preserved {len(messages)} message(s) of {len(users)} account(s)"
