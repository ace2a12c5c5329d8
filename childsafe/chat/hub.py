"""Live delivery: the WebSocket connections of this process, by channel.

A connection listens on its account's channel (`user:<name>`: direct messages, private
notices, suspension) and on the channel of the room or direct conversation it shows
(`room:<slug>` or `dm:<a>:<b>`). Events are JSON objects; the page builds its nodes with
textContent, never markup from an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from typing import Any

from starlette.websockets import WebSocket

from childsafe.chat.store import Message, Notice

log = logging.getLogger("childsafe.chat")
SEND_TIMEOUT_S = 5.0


def dm_channel(a: str, b: str) -> str:
    first, second = sorted((a, b))
    return f"dm:{first}:{second}"


def message_event(message: Message) -> dict[str, Any]:
    """What a page needs to show one message. A police message carries its label; a user's
    message never has one (the page decides the marking by `kind` alone)."""
    conversation = (f"room:{message.room_slug}" if message.room_slug else
                    dm_channel(message.sender_username or "", message.recipient_username or ""))
    event: dict[str, Any] = {
        "type": "message", "conversation": conversation, "id": message.id, "kind": message.kind,
        "text": message.text, "sent_at": message.sent_at}
    if message.is_police:
        event["label"] = message.label
    else:
        event["sender"] = message.sender_username
        event["sender_name"] = message.sender_name
    return event


def notice_event(notice: Notice) -> dict[str, Any]:
    return {"type": "notice", "id": notice.id, "label": notice.label, "text": notice.text,
            "created_at": notice.created_at}


class Hub:
    def __init__(self) -> None:
        self._channels: dict[str, set[WebSocket]] = defaultdict(set)
        self._users: dict[str, set[WebSocket]] = defaultdict(set)

    def add(self, socket: WebSocket, username: str, channels: list[str]) -> None:
        self._users[username].add(socket)
        for channel in [f"user:{username}", *channels]:
            self._channels[channel].add(socket)

    def remove(self, socket: WebSocket) -> None:
        for group in (self._channels, self._users):
            for key in [k for k, sockets in group.items() if socket in sockets]:
                group[key].discard(socket)
                if not group[key]:
                    del group[key]

    def connections(self, username: str) -> int:
        return len(self._users.get(username, ()))

    async def publish(self, channels: list[str], event: dict[str, Any]) -> int:
        """Send to every connection on any of the channels (once each); returns how many."""
        targets: set[WebSocket] = set()
        for channel in channels:
            targets |= self._channels.get(channel, set())
        if not targets:
            return 0
        text = json.dumps(event)
        results = await asyncio.gather(*(self._send(s, text) for s in targets))
        return sum(results)

    async def _send(self, socket: WebSocket, text: str) -> bool:
        try:
            await asyncio.wait_for(socket.send_text(text), SEND_TIMEOUT_S)
            return True
        except Exception:  # noqa: BLE001 - a dead or slow socket is dropped, never fatal
            self.remove(socket)
            return False

    async def disconnect_user(self, username: str, reason: str) -> None:
        """End every live connection of an account (suspended, logged out)."""
        for socket in list(self._users.get(username, ())):
            with contextlib.suppress(Exception):
                await socket.send_text(json.dumps({"type": "ended", "reason": reason}))
                await socket.close(code=4403)
            self.remove(socket)
