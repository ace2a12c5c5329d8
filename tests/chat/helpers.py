"""Driving the chat app in tests (not collected): accounts, sessions, signed webhooks.

One TestClient per app (one event loop, so the WebSocket hub sees every connection); the
acting user is switched by setting the session cookie, as a second browser would have it.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from childsafe.chat.store import utcnow
from childsafe.sdk import sign

SECRET = "whsec_test-secret-for-the-chat"
PASSWORD = "a-long-enough-password"


class Chat:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.sessions: dict[str, str] = {}

    @property
    def store(self) -> Any:
        return self.client.app.state.store  # type: ignore[attr-defined]

    def csrf(self) -> str:
        if not self.client.cookies.get("chat_csrf"):
            self.client.get("/login")
        return str(self.client.cookies.get("chat_csrf"))

    def sign_up(self, username: str, age: int = 30, *, country: str = "GB", email: str = "",
                parent: bool = False, display: str | None = None) -> str:
        self.client.cookies.delete("chat_session")
        r = self.client.post("/signup", data={
            "username": username, "display_name": display or username.title(),
            "password": PASSWORD, "birth_year": str(utcnow().year - age), "country": country,
            "email": email, "is_parent": "1" if parent else "", "csrf": self.csrf()},
            follow_redirects=False)
        assert r.status_code == 303, r.text
        token = str(self.client.cookies.get("chat_session"))
        self.sessions[username] = token
        self.as_(username)
        return token

    def as_(self, username: str) -> Chat:
        self.client.cookies.delete("chat_session")  # one session cookie at a time
        self.client.cookies.set("chat_session", self.sessions[username])
        return self

    def post(self, path: str, text: str, *, json_: bool = True) -> Any:
        headers = {"accept": "application/json"} if json_ else {}
        return self.client.post(path, data={"text": text, "csrf": self.csrf()}, headers=headers,
                                follow_redirects=False)

    def say(self, username: str, room: str, text: str) -> str:
        r = self.as_(username).post(f"/rooms/{room}/messages", text)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def dm(self, username: str, to: str, text: str) -> str:
        r = self.as_(username).post(f"/dm/{to}/messages", text)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def webhook(self, body: dict[str, Any], *, delivery: str | None = None,
                secret: str = SECRET, timestamp: int | None = None) -> Any:
        raw = json.dumps(body).encode()
        ts = str(timestamp if timestamp is not None else int(time.time()))
        return self.client.post("/platform/webhook", content=raw, headers={
            "content-type": "application/json", "x-childsafe-timestamp": ts,
            "x-childsafe-signature": sign(secret, ts, raw),
            "x-childsafe-delivery": delivery or f"test:{uuid.uuid4().hex}"})

    @contextmanager
    def live(self, username: str, channel: str) -> Iterator[Any]:
        """A WebSocket of the user's on a conversation; the greeting is read already."""
        self.as_(username)
        with self.client.websocket_connect(f"/ws?c={channel}") as socket:
            assert socket.receive_json()["type"] == "hello"
            yield socket


def intervention(kind: str, *, room: str = "teen-lounge-3", target: str | None = None,
                 message: str = "", **extra: Any) -> dict[str, Any]:
    return {"type": "intervention", "kind": kind, "room": room, "alert": "WA-TEST-1",
            "message": message, "target": target, "agency": "UK-NCA-CEOP",
            "agency_name": "CEOP", "from_police": True, "label": "Police message from CEOP",
            "intervention": 1, "sent_at": utcnow().isoformat()} | extra


def message_items(html: str) -> list[str]:
    return re.findall(r'<li class="msg [^"]*"[^>]*>.*?</li>', html, flags=re.S)
