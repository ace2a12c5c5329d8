"""The chat's link to the childsafe platform, through the public SDK only.

- On start the chat registers its rooms (`client.rooms.register`, an upsert on the room's
  own id) and keeps the platform's room ids; a platform that is down is retried in the
  background, the chat works meanwhile.
- Every message posted (room or direct) is streamed to Watch (`client.messages.send`) by a
  background task, in batches. Posting never waits for it: a message goes into a bounded
  in-memory queue; when that queue is full, or the platform fails, the streamer falls back
  to the database (messages not yet acknowledged keep `streamed = 0`) and catches up from
  there in order, with exponential backoff. Sending again is harmless: the platform is
  idempotent on message ids.
- Each room's monitored badge is fetched (`client.rooms.badge`) and cached; a `room.badge`
  webhook or the periodic refresh updates it.
- Report abuse: `client.reports.handoff` with the captured conversation and the reporter's
  details from their account; the browser opens the returned URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from childsafe.chat.config import ChatSettings, RoomSpec
from childsafe.chat.store import ChatStore, Message, Room, User, parse_iso, utcnow
from childsafe.sdk import (
    AsyncClient,
    BadgeChange,
    CapturedMessage,
    ChatMessage,
    ChildsafeError,
    Conversation,
    Handoff,
    Participant,
    Reporter,
)

log = logging.getLogger("childsafe.chat.platform")
MAX_BACKOFF_S = 60.0
CAPTURE_LIMIT = 200  # the latest messages of a conversation attached to a report
MAX_PARTICIPANTS = 100  # the platform's limit per capture
_TRANSIENT = {None, 408, 425, 429, 500, 502, 503, 504}


def is_transient(error: ChildsafeError) -> bool:
    """Worth retrying later (network, overload); anything else will fail the same way."""
    return error.status in _TRANSIENT or (error.status is not None and error.status >= 500)


def age_band(age: int) -> str:
    if age < 13:
        return "under_13"
    if age < 16:
        return "13_15"
    return "16_17" if age < 18 else "18_plus"


def audience_of(user: User) -> str:
    if user.is_child:
        return "young_person"
    return "parent_carer" if user.is_parent else "other_adult"


def chat_message(message: Message, direct_to: str | None) -> ChatMessage:
    """How a stored message is streamed: ids are the chat's own usernames."""
    age = None
    if message.sender_birth_year is not None:
        age = parse_iso(message.sent_at).year - message.sender_birth_year
    return ChatMessage(message_id=message.id, author_id=message.sender_username or "",
                       text=message.text, sent_at=message.sent_at,
                       author_age=age if age is not None and 0 <= age <= 120 else None,
                       recipient_id=direct_to)


@dataclass(frozen=True, slots=True)
class CapturedConversation:
    """A conversation as the chat shows it, ready for a report hand-off."""

    room_id: str  # the chat's own room id, or dm:<a>:<b>
    title: str
    participants: Sequence[User]
    messages: Sequence[Message]


def capture(conversation: CapturedConversation, reporter: User, reported: User | None,
            platform_name: str) -> Conversation:
    """The SDK capture: participants with declared ages and roles, message ids, timestamps.
    The latest messages, as many as the platform's limits allow; police messages are not the
    users' conversation and are left out."""
    known = {u.username: u for u in conversation.participants}
    people = {reporter.username: reporter}
    if reported is not None:
        people[reported.username] = reported
    kept: list[Message] = []
    for m in reversed([m for m in conversation.messages if not m.is_police and m.sender_username]):
        sender = m.sender_username or ""
        if len(kept) >= CAPTURE_LIMIT or (sender not in people and (
                len(people) >= MAX_PARTICIPANTS or sender not in known)):
            break
        people.setdefault(sender, known[sender])
        kept.append(m)
    participants = [
        Participant(user_id=u.username, display_name=u.display_name, declared_age=u.age(),
                    role="reporter" if u.username == reporter.username else
                    "reported" if reported is not None and u.username == reported.username
                    else "other")
        for u in sorted(people.values(), key=lambda u: u.username)]
    messages = [CapturedMessage(id=m.id, sender=m.sender_username or "", sent_at=m.sent_at,
                                text=m.text) for m in reversed(kept)]
    return Conversation(platform=platform_name, room_id=conversation.room_id,
                        participants=participants, messages=messages)


def reporter_details(user: User) -> Reporter:
    """What the chat knows of the reporter, to prefill the report form (they can change it)."""
    return Reporter(name=user.display_name, email=user.email or None, country=user.country,
                    age_band=age_band(user.age()),
                    relationship="parent_carer" if user.is_parent and not user.is_child
                    else "self")


class Streamer:
    """Sends posted messages to Watch in the background: bounded, batched, ordered, retried."""

    def __init__(self, store: ChatStore,
                 send: Callable[[str, list[ChatMessage]], Awaitable[Any]],
                 platform_room: Callable[[Message], tuple[str | None, str | None]],
                 *, batch: int = 200, queue_size: int = 5000) -> None:
        self.store = store
        self._send = send
        self._platform_room = platform_room  # message -> (platform room id, recipient id)
        self.batch = batch
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=queue_size)
        self.backlog = True  # start from the database: catch up on what a restart left
        self._wake = asyncio.Event()
        self.sent = 0
        self.failures = 0
        self.overflows = 0
        self.idle = asyncio.Event()

    def offer(self, message: Message) -> None:
        """Never blocks: into the queue, or (full, or catching up) left to the database."""
        if not self.backlog:
            try:
                self.queue.put_nowait(message)
            except asyncio.QueueFull:
                self.overflows += 1
                self._fall_back()
        self.idle.clear()
        self._wake.set()

    def _fall_back(self) -> None:
        self.backlog = True
        while not self.queue.empty():  # the database has all of them, in order
            self.queue.get_nowait()

    async def run(self) -> None:
        backoff = 0.5
        while True:
            if self.backlog:
                pending = self.store.unstreamed(self.batch)
                if not pending:
                    self.backlog = False  # caught up: new messages go through the queue
                    self.idle.set()
                    await self._wait(None)
                    continue
            else:
                if self.queue.empty():
                    self.idle.set()
                    await self._wait(None)
                    continue
                pending = []
                while not self.queue.empty() and len(pending) < self.batch:
                    pending.append(self.queue.get_nowait())
            ok = await self.deliver(pending)
            if ok:
                backoff = 0.5
                continue
            self.failures += 1
            self._fall_back()
            await self._wait(backoff)
            backoff = min(MAX_BACKOFF_S, backoff * 2)

    async def _wait(self, timeout: float | None) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def deliver(self, messages: list[Message]) -> bool:
        """Send the messages grouped by platform room, in order; True if none must be retried.
        Answers that will never change (invalid, not ours) are recorded and not retried."""
        groups: dict[str, list[tuple[Message, ChatMessage]]] = {}
        for message in messages:
            room_id, recipient = self._platform_room(message)
            if room_id is None:
                return False  # rooms not registered yet: retry later
            groups.setdefault(room_id, []).append((message, chat_message(message, recipient)))
        for room_id, items in groups.items():
            try:
                await self._send(room_id, [c for _, c in items])
            except ChildsafeError as exc:
                if is_transient(exc):
                    log.warning("streaming %d message(s) to %s failed (%s); will retry",
                                len(items), room_id, exc)
                    return False
                log.error("platform refused %d message(s) for %s: %s", len(items), room_id, exc)
                self.store.mark_streamed([m.id for m, _ in items], note=f"refused: {exc.code}")
                continue
            self.store.mark_streamed([m.id for m, _ in items])
            self.sent += len(items)
        return True


class PlatformLink:
    """Everything the chat does with the platform, built on `childsafe.sdk.AsyncClient`."""

    def __init__(self, settings: ChatSettings, store: ChatStore, rooms: Sequence[RoomSpec],
                 client: AsyncClient | None = None) -> None:
        self.settings = settings
        self.store = store
        self.rooms = list(rooms)
        key, self.webhook_secret = settings.credentials()
        self.client = client or (AsyncClient(base_url=settings.platform_url, api_key=key,
                                             timeout=10.0) if key else None)
        self.registered = asyncio.Event()
        self.streamer = Streamer(store, self._send, self._platform_room,
                                 batch=settings.stream_batch, queue_size=settings.stream_queue)
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: set[asyncio.Task[Any]] = set()
        self.last_error: str | None = None

    @property
    def connected(self) -> bool:
        return self.client is not None

    async def start(self) -> None:
        if self.client is None:
            log.warning("no platform API key: rooms are not registered and nothing is streamed")
            return
        self._tasks = [asyncio.create_task(self._register_loop(), name="chat-register"),
                       asyncio.create_task(self.streamer.run(), name="chat-stream"),
                       asyncio.create_task(self._badge_loop(), name="chat-badges")]

    async def stop(self, flush_s: float = 3.0) -> None:
        if self.client is not None and self.registered.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.streamer.idle.wait(), flush_s)
        for task in [*self._tasks, *self._pending]:
            task.cancel()
        for task in [*self._tasks, *self._pending]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.client is not None:
            await self.client.aclose()

    # --- rooms and badges ---------------------------------------------------------------
    async def register_rooms(self) -> None:
        assert self.client is not None
        for spec in self.rooms:
            room = await self.client.rooms.register(
                external_id=spec.slug, title=spec.title, audience=spec.audience,
                language=spec.language, region=spec.region)
            self.store.set_platform_id(spec.slug, room.id)
        self.registered.set()

    async def _register_loop(self) -> None:
        backoff = 1.0
        while True:
            try:
                await self.register_rooms()
            except ChildsafeError as exc:
                self.last_error = str(exc)
                log.warning("registering rooms failed (%s); retrying in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF_S, backoff * 2)
                continue
            self.last_error = None
            log.info("%d room(s) registered with the platform", len(self.rooms))
            self.streamer.backlog = True  # send what waited for the registration
            self.streamer._wake.set()
            await self.refresh_badges()
            return

    async def refresh_badge(self, slug: str) -> dict[str, Any] | None:
        room = self.store.room(slug)
        if self.client is None or room is None or room.platform_id is None or room.direct:
            return None
        try:
            badge = await self.client.rooms.badge(room.platform_id, lang=room.language)
        except ChildsafeError as exc:
            log.warning("badge of %s: %s", slug, exc)
            return None
        doc = {"state": badge.state, "monitored": badge.monitored, "label": badge.label,
               "message": badge.message, "svg_url": badge.svg_url, "help_url": badge.help_url,
               "help_text": badge.help_text,
               "agencies": [asdict(a) for a in badge.agencies]}
        self.store.set_badge(slug, doc, utcnow())
        return doc

    def badge_from_change(self, room: Room, change: BadgeChange) -> dict[str, Any]:
        """The cached badge updated from a `room.badge` webhook (the words in the room's
        language; links kept from the last fetch)."""
        lang = room.language if room.language in change.text else "en"
        words = change.text.get(lang)
        doc = dict(room.badge or {})
        agencies = change.on_duty or change.monitoring
        doc.update(state=change.state, monitored=change.monitored,
                   agencies=[asdict(a) for a in agencies])
        if words is not None:
            doc.update(label=words.label, message=words.message, help_text=words.help)
        if change.svg_path and not doc.get("svg_url"):
            doc["svg_url"] = f"{self.settings.public_platform}{change.svg_path}?lang={lang}"
        return doc

    def refresh_badge_soon(self, slug: str) -> None:
        """Fetch the room's full badge in the background (never inside a webhook answer)."""
        if self.client is None:
            return
        task = asyncio.get_running_loop().create_task(self.refresh_badge(slug))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def refresh_badges(self) -> None:
        for spec in self.rooms:
            await self.refresh_badge(spec.slug)

    async def _badge_loop(self) -> None:
        await self.registered.wait()
        while True:
            await asyncio.sleep(self.settings.badge_refresh_s)
            await self.refresh_badges()

    # --- streaming ----------------------------------------------------------------------
    def _platform_room(self, message: Message) -> tuple[str | None, str | None]:
        if message.room_slug is not None:
            room = self.store.room(message.room_slug)
            return (room.platform_id if room else None), None
        direct = self.store.direct_room()
        return (direct.platform_id if direct else None), message.recipient_username

    async def _send(self, room_id: str, batch: list[ChatMessage]) -> Any:
        assert self.client is not None
        return await self.client.messages.send(room_id, batch)

    def offer(self, message: Message) -> None:
        if self.client is not None:
            self.streamer.offer(message)

    # --- reports ------------------------------------------------------------------------
    async def handoff(self, conversation: CapturedConversation, reporter: User,
                      reported: User | None) -> Handoff:
        if self.client is None:
            raise ChildsafeError("The chat is not connected to the platform.",
                                 code="not_connected")
        room = self.store.room(conversation.room_id)
        language = room.language if room and room.language in ("en", "fr") else "en"
        return await self.client.reports.handoff(
            conversation=capture(conversation, reporter, reported, self.settings.name),
            reporter=reporter_details(reporter), language=language,
            audience=audience_of(reporter), room_title=conversation.title)
