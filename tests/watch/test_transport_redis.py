"""Redis Streams path against the real server: two workers, one killed mid-batch.

A first worker (a subprocess) reads a batch of wake-ups, commits the scoring of one
conversation without acknowledging it, and is `kill -9`ed in the middle of the next scoring
transaction. Two healthy workers (threads) reclaim its entries with XAUTOCLAIM while more
messages arrive. Every message must end up scored exactly once: scores filled, each cursor at
the last message, the detector state having seen each message once, one alert per groomer.

Run as a script, this file is the doomed worker.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

STALL = 3600  # the doomed worker never wakes from this: it is killed


def _doomed_worker(url: str, keys: str, stream: str, group: str) -> None:
    import redis

    import childsafe.watch.transport as transport_module
    from childsafe.core.crypto import Keyring
    from childsafe.store.db import Database
    from childsafe.watch import settings
    from childsafe.watch.redis_transport import RedisTransport
    from childsafe.watch.transport import Consumer

    class NeverAcks(RedisTransport):
        def ack(self, wakeups):  # scored and committed, but the XACK never happens
            print("committed-not-acked", flush=True)

    real = settings.detector_named(settings.default_detector_settings()[0])
    calls: list[list[int]] = []

    class StallsInSecondBatch:
        name = real.name

        def update(self, state, message):
            if len(calls) > 1 and state.messages == 3:
                print("mid-transaction", flush=True)
                time.sleep(STALL)
            return real.update(state, message)

    original = transport_module.score_conversations

    def tracking(session, keyring, ids, now=None, **kw):
        calls.append(list(ids))
        return original(session, keyring, ids, now, **kw | {"detector": StallsInSecondBatch()})

    transport_module.score_conversations = tracking  # type: ignore[assignment]
    db = Database(url)
    transport = NeverAcks(redis.Redis(), stream, group, claim_idle_ms=60_000)
    consumer = Consumer(db, lambda: Keyring.from_json(keys), transport, name="doomed", count=3,
                        block_ms=5000)
    consumer.step()  # three conversations scored in one transaction, committed, not acked
    consumer.step()  # killed in the middle of this one


if __name__ == "__main__":
    _doomed_worker(*sys.argv[1:5])
    sys.exit(0)


import redis  # noqa: E402
from sqlalchemy import select  # noqa: E402

from childsafe.store.watch_models import AlertRow, ConversationRow, WatchMessageRow  # noqa: E402
from childsafe.watch.core.ingestion import parse_batch  # noqa: E402
from childsafe.watch.core.state import ConversationState  # noqa: E402
from childsafe.watch.ingest import ingest  # noqa: E402
from childsafe.watch.redis_transport import RedisTransport  # noqa: E402
from childsafe.watch.transport import Consumer  # noqa: E402
from tests.watch import stream_factory as sf  # noqa: E402

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
GROOMERS, BENIGN_PAIRS = 8, 8


@pytest.fixture
def redis_client():
    client = redis.Redis(socket_connect_timeout=1)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    yield client
    client.close()


@pytest.fixture
def stream(redis_client):
    name = f"childsafe:test:{secrets.token_hex(6)}"
    yield name
    redis_client.delete(name)


def conversations():
    """(lines, a, b) per direct conversation: groomers and ordinary chats."""
    out = []
    for k in range(GROOMERS):
        out.append(([(f"{a}-{k}", age, t) for a, age, t in sf.GROOMING], f"u-adult-{k}", f"u-kid-{k}"))
    for k in range(BENIGN_PAIRS):
        out.append(([(f"{a}-{k}", age, t) for a, age, t in sf.BENIGN * 3], f"u-a-{k}", f"u-b-{k}"))
    return out


def batches(half):
    """All conversations' messages of one half, as a chat app would stream them."""
    docs = []
    for n, (lines, a, b) in enumerate(conversations()):
        cut = len(lines) // 2
        part = lines[:cut] if half == 0 else lines[cut:]
        docs += sf.direct(part, a, b, prefix=f"c{n}", start=0 if half == 0 else cut)
    docs.sort(key=lambda d: d["sent_at"])
    return [docs[i:i + 10] for i in range(0, len(docs), 10)]


def ingest_and_publish(db, keyring, provider_id, room_id, transport, docs):
    with db.transaction() as s:
        receipt = ingest(s, keyring, provider_id=provider_id, room_id=room_id,
                         messages=parse_batch({"messages": docs}, now=sf.MONDAY_9),
                         now=sf.MONDAY_9)
    transport.publish(receipt.to_wake)  # after commit


def all_scored(db):
    with db.transaction() as s:
        convs = list(s.scalars(select(ConversationRow)))
    return bool(convs) and all(c.scored_seq == c.ingested_seq for c in convs)


def test_two_workers_and_one_killed_mid_batch_score_every_message_once(
        db, keyring, settings, redis_client, stream):
    sf.shift(db, "UK-NCA-CEOP", 0, 0)
    provider_id, _ = sf.provider(db)
    room_id = sf.room(db, provider_id)
    group = "watch-test"
    publisher = RedisTransport(redis_client, stream, group)
    publisher.ensure_group()
    for docs in batches(0):
        ingest_and_publish(db, keyring, provider_id, room_id, publisher, docs)

    doomed = subprocess.Popen(
        [sys.executable, __file__, settings.effective_database_url, keyring.to_json(), stream,
         group], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)})
    try:
        seen = [doomed.stdout.readline().strip() for _ in range(2)]
        assert seen == ["committed-not-acked", "mid-transaction"], doomed.stderr.read()
    finally:
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        doomed.stdout.close()
        doomed.stderr.close()
    pending = redis_client.xpending(stream, group)
    assert pending["pending"] >= 2 and {c["name"] for c in pending["consumers"]} == {b"doomed"}

    stop = threading.Event()
    workers = [Consumer(db, lambda: keyring, RedisTransport(redis.Redis(), stream, group,
                                                          claim_idle_ms=300),
                        name=f"healthy-{i}", count=4, block_ms=100, clock=lambda: sf.MONDAY_9,
                        sweep_seconds=None)  # the stream alone must bring every message
               for i in range(2)]
    threads = [threading.Thread(target=w.run, args=(stop.is_set,)) for w in workers]
    for t in threads:
        t.start()
    try:
        for docs in batches(1):  # more messages while the workers run
            ingest_and_publish(db, keyring, provider_id, room_id, publisher, docs)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if all_scored(db) and redis_client.xlen(stream) == 0:  # read, handled, acked
                break
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(20)
        for w in workers:
            w.transport.close()
    assert sum(w.transport.reclaimed for w in workers) >= 2  # type: ignore[attr-defined]
    assert all(w.scored for w in workers)  # both took part
    assert redis_client.xpending(stream, group)["pending"] == 0
    assert redis_client.xlen(stream) == 0  # acknowledged entries are deleted

    with db.transaction() as s:
        convs = list(s.scalars(select(ConversationRow).order_by(ConversationRow.id)))
        unscored = s.scalars(select(WatchMessageRow.id).where(WatchMessageRow.score.is_(None))).all()
        alerts = list(s.scalars(select(AlertRow)))
        total = len(s.scalars(select(WatchMessageRow.id)).all())
    assert total == sum(len(lines) for lines, _, _ in conversations())
    assert unscored == [] and len(convs) == GROOMERS + BENIGN_PAIRS
    by_key = {f"direct:{min(a, b)} {max(a, b)}": lines for lines, a, b in conversations()}
    for conv in convs:
        lines = by_key[conv.key]
        state = ConversationState.from_dict(conv.state)
        assert conv.scored_seq == conv.ingested_seq == len(lines) == state.messages
        expected = sf.reference(lines)
        assert conv.top_score == pytest.approx(expected.max_score)
        assert [(a.author_id, a.message_seq) for a in alerts if a.conversation_id == conv.id] == [
            (e.author_id, e.message_index + 1) for e in expected.alerts]
    assert len(alerts) == GROOMERS
    assert sorted(a.author_id for a in alerts) == sorted(f"u-adult-{k}" for k in range(GROOMERS))


def test_publish_receive_ack_and_recovery(redis_client, stream):
    t = RedisTransport(redis_client, stream, "g", claim_idle_ms=100)
    t.publish([5, 6])
    got = t.receive("c1", count=10, block_ms=100)
    assert [w.conversation_id for w in got] == [5, 6] and all(w.token for w in got)
    t.ack(got[:1])
    assert redis_client.xlen(stream) == 1 and t.pending_count() == 1
    time.sleep(0.15)
    other = RedisTransport(redis_client, stream, "g", claim_idle_ms=100)
    assert [w.conversation_id for w in other.receive("c2", count=10, block_ms=10)] == [6]
    assert other.reclaimed == 1
    redis_client.xadd(stream, {"junk": "1"})  # not ours: dropped, not reclaimed forever
    assert other.receive("c2", count=10, block_ms=10) == []
    assert redis_client.xlen(stream) == 1  # only the claimed, unacknowledged entry
    redis_client.delete(stream)  # e.g. Redis restarted empty: the group comes back
    t.publish([7])
    assert [w.conversation_id for w in t.receive("c1", count=10, block_ms=10)] == [7]


def test_idle_consumers_with_nothing_pending_are_forgotten(redis_client, stream, monkeypatch):
    t = RedisTransport(redis_client, stream, "g")
    t.publish([1])
    t.ack(t.receive("old", count=1, block_ms=10))
    t.publish([2])
    t.ack(t.receive("new", count=1, block_ms=10))
    import childsafe.watch.redis_transport as module

    monkeypatch.setattr(module, "FORGET_CONSUMER_AFTER_MS", 0)
    time.sleep(0.01)
    assert t.forget_dead_consumers("new") == 1
    assert [c["name"] for c in redis_client.xinfo_consumers(stream, "g")] == [b"new"]
