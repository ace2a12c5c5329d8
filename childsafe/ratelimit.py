"""Rate limits (abuse of the Report button): in-process by default, Redis when scaled out.

Fixed windows keyed by purpose and subject (a hashed IP or contact); `hit` counts one event
and says whether it is still within the limit. Chosen by `CHILDSAFE_RATE_LIMITER`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


class RateLimiter(Protocol):
    name: str

    def hit(self, key: str, *, limit: int, window_seconds: int) -> bool:
        """Count one event for `key`; False once more than `limit` fell in the window."""


@dataclass
class MemoryRateLimiter:
    name: str = "memory"
    clock: Callable[[], float] = time.monotonic
    _counts: dict[tuple[str, int], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, key: str, *, limit: int, window_seconds: int) -> bool:
        bucket = int(self.clock() // window_seconds)
        with self._lock:
            if len(self._counts) > 100_000:  # bounded: drop old windows
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= bucket - 1}
            n = self._counts.get((key, bucket), 0) + 1
            self._counts[(key, bucket)] = n
        return n <= limit


class RedisRateLimiter:
    """Shared across processes: INCR + EXPIRE on `childsafe:rl:<key>:<window>`."""

    name = "redis"

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        import redis

        self.url = url
        self.client = redis.Redis.from_url(url, socket_timeout=2)
        self.clock = clock
        self._async: tuple[asyncio.AbstractEventLoop, Any] | None = None

    def _key(self, key: str, window_seconds: int) -> str:
        return f"childsafe:rl:{key}:{int(self.clock() // window_seconds)}"

    def hit(self, key: str, *, limit: int, window_seconds: int) -> bool:
        redis_key = self._key(key, window_seconds)
        pipe = self.client.pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, window_seconds + 5)
        count, _ = pipe.execute()
        return int(count) <= limit

    async def ahit(self, key: str, *, limit: int, window_seconds: int) -> bool:
        """`hit` for a coroutine: the same commands on a client of the running event loop."""
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            import redis.asyncio

            self._async = (loop, redis.asyncio.Redis.from_url(self.url, socket_timeout=2))
        redis_key = self._key(key, window_seconds)
        async with self._async[1].pipeline() as pipe:
            pipe.incr(redis_key)
            pipe.expire(redis_key, window_seconds + 5)
            count, _ = await pipe.execute()
        return int(count) <= limit

    async def aclose(self) -> None:
        """Close the asyncio client of the running loop (if `ahit` made one)."""
        if self._async is not None and self._async[0] is asyncio.get_running_loop():
            client, self._async = self._async[1], None
            await client.aclose()


async def hit_async(limiter: RateLimiter, key: str, *, limit: int, window_seconds: int) -> bool:
    """`limiter.hit` from a coroutine without blocking its event loop: the in-process limiter
    is a dict (called directly), Redis has an asyncio client, anything else gets a thread."""
    ahit = getattr(limiter, "ahit", None)
    if ahit is not None:
        return bool(await ahit(key, limit=limit, window_seconds=window_seconds))
    if limiter.name == "memory":
        return limiter.hit(key, limit=limit, window_seconds=window_seconds)
    return await asyncio.to_thread(limiter.hit, key, limit=limit,
                                   window_seconds=window_seconds)


def make_rate_limiter(kind: str, redis_url: str) -> RateLimiter:
    if kind == "redis":
        return RedisRateLimiter(redis_url)
    if kind == "memory":
        return MemoryRateLimiter()
    raise ValueError(f"unknown rate limiter {kind!r} (memory or redis)")
