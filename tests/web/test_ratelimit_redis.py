"""The shared (Redis) rate limiter counts the same from threads and from coroutines."""

import asyncio
import secrets

import pytest

from childsafe.ratelimit import MemoryRateLimiter, RedisRateLimiter, first_refused


@pytest.fixture
def limiter():
    import redis

    try:
        redis.Redis(socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    limiter = RedisRateLimiter("redis://127.0.0.1:6379/0")
    yield limiter
    limiter.client.delete(*limiter.client.keys("childsafe:rl:test-*") or ["none"])


def _checks(limiter, *keys):
    async def run():
        try:
            return [await first_refused(limiter, [(k, 2, 60) for k in keys]) for _ in range(3)]
        finally:
            if isinstance(limiter, RedisRateLimiter):
                await limiter.aclose()
    return asyncio.run(run())


@pytest.mark.integration
def test_coroutines_and_threads_share_one_count(limiter):
    ip, contact = (f"test-{secrets.token_hex(8)}" for _ in range(2))
    assert limiter.hit(ip, limit=2, window_seconds=60)
    # In order, as successive hits: the ip is refused at its 3rd event and the contact,
    # behind it, is not counted then.
    assert _checks(limiter, ip, contact) == [None, 0, 0]
    assert limiter.hit(contact, limit=2, window_seconds=60)
    assert not limiter.hit(contact, limit=2, window_seconds=60)


def test_the_memory_limiter_counts_the_same_in_place():
    memory = MemoryRateLimiter()
    assert memory.hit("ip", limit=2, window_seconds=60)
    assert _checks(memory, "ip", "contact") == [None, 0, 0]
    assert memory.hit("contact", limit=2, window_seconds=60)
    assert not memory.hit("contact", limit=2, window_seconds=60)
