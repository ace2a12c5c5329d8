"""The shared (Redis) rate limiter counts the same from threads and from coroutines."""

import asyncio
import secrets

import pytest

from childsafe.ratelimit import MemoryRateLimiter, RedisRateLimiter, hit_async


@pytest.fixture
def limiter():
    import redis

    try:
        redis.Redis(socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    return RedisRateLimiter("redis://127.0.0.1:6379/0")


@pytest.mark.integration
def test_coroutines_and_threads_share_one_count(limiter):
    key = f"test:{secrets.token_hex(8)}"
    assert limiter.hit(key, limit=3, window_seconds=60)

    async def two_more_then_refused():
        try:
            got = [await hit_async(limiter, key, limit=3, window_seconds=60) for _ in range(3)]
        finally:
            await limiter.aclose()
        return got

    assert asyncio.run(two_more_then_refused()) == [True, True, False]
    assert not limiter.hit(key, limit=3, window_seconds=60)
    limiter.client.delete(*limiter.client.keys(f"childsafe:rl:{key}:*"))


def test_the_memory_limiter_is_called_in_place():
    memory = MemoryRateLimiter()

    async def hits():
        return [await hit_async(memory, "k", limit=1, window_seconds=60) for _ in range(2)]

    assert asyncio.run(hits()) == [True, False]
