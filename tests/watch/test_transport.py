"""The transport interface: registry, the in-process queue, the serving process's runtime."""

import threading
import time

import pytest

from childsafe.config import Settings
from childsafe.watch.redis_transport import RedisTransport
from childsafe.watch.transport import (
    TRANSPORTS,
    MemoryTransport,
    Wakeup,
    WatchRuntime,
    make_transport,
)


def test_registry_by_name():
    assert TRANSPORTS.names() == ["memory", "redis"]
    assert isinstance(make_transport(Settings(keys="{}")), MemoryTransport)
    redis_one = make_transport(Settings(keys="{}", watch_transport="redis", watch_stream="s",
                                        watch_group="g", watch_claim_idle_ms=500))
    assert isinstance(redis_one, RedisTransport)
    assert (redis_one.stream, redis_one.group, redis_one.claim_idle_ms) == ("s", "g", 500)
    redis_one.close()
    with pytest.raises(ValueError):
        Settings(keys="{}", watch_transport="kafka")


def test_memory_queue_coalesces_and_bounds_each_receive():
    t = MemoryTransport()
    t.publish([3, 1, 3])
    t.publish([1, 2])
    assert t.receive("c", count=2, block_ms=0) == [Wakeup(3), Wakeup(1)]
    t.publish([3])  # taken out: a new publish queues it again
    assert t.receive("c", count=10, block_ms=0) == [Wakeup(2), Wakeup(3)]
    assert t.receive("c", count=10, block_ms=1) == []
    t.ack([Wakeup(2)])  # nothing to do in memory


def test_close_wakes_a_waiting_receiver():
    t = MemoryTransport()
    got = []
    thread = threading.Thread(target=lambda: got.append(t.receive("c", count=1, block_ms=30_000)))
    thread.start()
    time.sleep(0.05)
    t.close()
    thread.join(5)
    assert not thread.is_alive() and got == [[]]


class Broken:
    name = "broken"

    def publish(self, ids):
        raise ConnectionError("redis is down")

    def close(self):
        pass


def test_publish_failure_is_logged_not_raised(caplog):
    runtime = WatchRuntime(Settings(keys="{}"), db=None, clock=lambda: None)  # type: ignore[arg-type]
    runtime._transport = Broken()  # type: ignore[assignment]
    runtime.publish([1, 2])
    assert "could not publish 2 wake-up(s)" in caplog.text
    runtime.publish([])  # nothing to say: not even a call
    runtime.stop()


def test_who_scores_in_the_serving_process():
    assert WatchRuntime(Settings(keys="{}"), None, lambda: None).scores_here  # type: ignore[arg-type]
    redis_only = Settings(keys="{}", watch_transport="redis", watch_serve_consumer=False)
    assert not WatchRuntime(redis_only, None, lambda: None).scores_here  # type: ignore[arg-type]
