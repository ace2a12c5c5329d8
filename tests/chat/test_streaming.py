"""The streamer that sends posted messages to Watch: batched, in order, bounded, retried.
(Against the real platform: test_platform_live.py.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from childsafe.chat.config import DEFAULT_ROOMS
from childsafe.chat.platform import Streamer, chat_message
from childsafe.chat.store import ChatStore, Message
from childsafe.sdk import ChatMessage, ChildsafeError


class FakePlatform:
    def __init__(self, fail: list[ChildsafeError] | None = None) -> None:
        self.calls: list[tuple[str, list[ChatMessage]]] = []
        self.fail = list(fail or [])
        self.gate = asyncio.Event()
        self.gate.set()

    async def send(self, room_id: str, batch: list[ChatMessage]) -> None:
        await self.gate.wait()
        if self.fail:
            raise self.fail.pop(0)
        self.calls.append((room_id, batch))

    @property
    def ids(self) -> list[str]:
        return [m.message_id for _, batch in self.calls for m in batch]


def _store(tmp_path: Path) -> ChatStore:
    store = ChatStore(tmp_path / "chat.db")
    store.sync_rooms(DEFAULT_ROOMS)
    for spec in DEFAULT_ROOMS:
        store.set_platform_id(spec.slug, "rm_" + spec.slug.replace("-", ""))
    store.create_user("kim", "Kim", "h", 2013, "GB")
    store.create_user("dan", "Dan", "h", 1995, "GB")
    return store


def _platform_room(store: ChatStore):
    def room_of(message: Message) -> tuple[str | None, str | None]:
        if message.room_slug:
            room = store.room(message.room_slug)
            return (room.platform_id if room else None), None
        direct = store.direct_room()
        return (direct.platform_id if direct else None), message.recipient_username
    return room_of


def _run(store: ChatStore, platform: FakePlatform, body, *, queue_size: int = 100,
         batch: int = 50) -> Streamer:
    async def main() -> Streamer:
        streamer = Streamer(store, platform.send, _platform_room(store), batch=batch,
                            queue_size=queue_size)
        task = asyncio.create_task(streamer.run())
        await body(streamer)
        await asyncio.wait_for(_drained(streamer, store), 30)
        task.cancel()
        return streamer

    return asyncio.run(main())


async def _drained(streamer: Streamer, store: ChatStore) -> None:
    while store.unstreamed_count() or not streamer.idle.is_set():
        await asyncio.sleep(0.01)


def test_posted_messages_are_sent_in_order_and_marked(tmp_path):
    store = _store(tmp_path)
    platform = FakePlatform()
    posted: list[str] = []

    async def body(streamer: Streamer) -> None:
        for i in range(30):
            message = store.add_message(text=f"m{i}", sender_id=1 + i % 2,
                                        room_slug="teen-lounge-3")
            posted.append(message.id)
            streamer.offer(message)
            if i % 7 == 0:
                await asyncio.sleep(0)

    streamer = _run(store, platform, body)
    assert platform.ids == posted and streamer.sent == 30
    assert {room for room, _ in platform.calls} == {"rm_teenlounge3"}
    first = platform.calls[0][1][0]
    assert first.author_id == "kim" and first.author_age is not None and first.recipient_id is None
    assert store.unstreamed_count() == 0


def test_direct_messages_go_to_the_direct_room_with_their_recipient(tmp_path):
    store = _store(tmp_path)
    platform = FakePlatform()

    async def body(streamer: Streamer) -> None:
        streamer.offer(store.add_message(text="hi", sender_id=2, recipient_id=1))

    _run(store, platform, body)
    [(room_id, [sent])] = platform.calls
    assert room_id == "rm_directmessages" and sent.author_id == "dan"
    assert sent.recipient_id == "kim"


def test_a_full_queue_never_blocks_and_loses_nothing(tmp_path):
    store = _store(tmp_path)
    platform = FakePlatform()
    posted: list[str] = []

    async def body(streamer: Streamer) -> None:
        await asyncio.sleep(0.05)  # caught up: the streamer now takes the in-memory queue
        platform.gate.clear()  # the platform is slow: the queue fills
        for i in range(40):
            message = store.add_message(text=f"m{i}", sender_id=1, room_slug="music-fans")
            posted.append(message.id)
            streamer.offer(message)  # returns at once, full queue or not
        assert streamer.overflows > 0 and streamer.backlog
        platform.gate.set()

    streamer = _run(store, platform, body, queue_size=5, batch=8)
    assert platform.ids == posted  # each once, in order (the database caught up)
    assert streamer.queue.qsize() == 0


def test_platform_failures_are_retried_in_order(tmp_path):
    store = _store(tmp_path)
    down = ChildsafeError("down", status=503, code="unavailable")
    network = ChildsafeError("refused", code="network_error")
    platform = FakePlatform(fail=[down, network])
    posted: list[str] = []

    async def body(streamer: Streamer) -> None:
        for i in range(5):
            message = store.add_message(text=f"m{i}", sender_id=1, room_slug="music-fans")
            posted.append(message.id)
            streamer.offer(message)

    streamer = _run(store, platform, body)
    assert platform.ids == posted and streamer.failures == 2


def test_refused_batches_are_recorded_not_retried_forever(tmp_path):
    store = _store(tmp_path)
    platform = FakePlatform(fail=[ChildsafeError("bad", status=422, code="out_of_order")])

    async def body(streamer: Streamer) -> None:
        streamer.offer(store.add_message(text="m", sender_id=1, room_slug="music-fans"))

    _run(store, platform, body)
    assert platform.calls == [] and store.unstreamed_count() == 0
    note = store._conn.execute("SELECT stream_note FROM messages").fetchone()[0]
    assert note == "refused: out_of_order"


def test_messages_wait_for_their_room_to_be_registered(tmp_path):
    store = _store(tmp_path)
    store._conn.execute("UPDATE rooms SET platform_id = NULL WHERE slug = 'homework-help'")
    platform = FakePlatform()

    async def body(streamer: Streamer) -> None:
        streamer.offer(store.add_message(text="m", sender_id=1, room_slug="homework-help"))
        await asyncio.sleep(0.1)
        assert platform.calls == [] and store.unstreamed_count() == 1
        store.set_platform_id("homework-help", "rm_hw")
        streamer.backlog = True
        streamer.offer(store.add_message(text="n", sender_id=1, room_slug="homework-help"))

    _run(store, platform, body)
    assert [m.text for _, batch in platform.calls for m in batch] == ["m", "n"]


def test_chat_message_carries_the_declared_age_at_the_time(tmp_path):
    store = _store(tmp_path)
    message = store.add_message(text="hello", sender_id=1, room_slug="music-fans")
    sent = chat_message(message, None)
    assert sent.author_age == int(message.sent_at[:4]) - 2013
    assert sent.sent_at == message.sent_at and sent.message_id == message.id
