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
from typing import Any, Protocol, cast


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
        self._async: tuple[asyncio.AbstractEventLoop, Any, Any] | None = None  # loop, client, script

    def _key(self, key: str, window_seconds: int) -> str:
        return f"childsafe:rl:{key}:{int(self.clock() // window_seconds)}"

    def hit(self, key: str, *, limit: int, window_seconds: int) -> bool:
        redis_key = self._key(key, window_seconds)
        pipe = self.client.pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, window_seconds + 5)
        count, _ = pipe.execute()
        return int(count) <= limit

    async def ahit_many(self, checks: list[Check]) -> int | None:
        """`first_refused` in one round trip: a server-side script counts the checks in
        order and stops at the first one over its limit."""
        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(self.url, socket_timeout=2)
            self._async = (loop, client, client.register_script(_HIT_MANY))
        script = self._async[2]
        keys = [self._key(key, window) for key, _, window in checks]
        args = [v for _, limit, window in checks for v in (limit, window + 5)]
        refused = int(await script(keys=keys, args=args))
        return refused - 1 if refused else None

    async def aclose(self) -> None:
        """Close the asyncio client of the running loop (if `ahit_many` made one)."""
        if self._async is not None and self._async[0] is asyncio.get_running_loop():
            client, self._async = self._async[1], None
            await client.aclose()


# KEYS: the counters; ARGV: limit, ttl for each. INCR and EXPIRE each in turn, as `hit` does,
# until one is over its limit: its 1-based index, else 0. Later counters are not touched.
_HIT_MANY = """
for i = 1, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i])
  if n > tonumber(ARGV[2 * i - 1]) then return i end
end
return 0
"""

Check = tuple[str, int, int]  # key, limit, window in seconds


async def first_refused(limiter: RateLimiter, checks: list[Check]) -> int | None:
    """Count `checks` in order as successive `hit`s would, stopping at the first one over its
    limit (later ones are not counted): its index, or None when all are within their limits.
    For a coroutine: the event loop is never blocked (the in-process limiter is a dict, Redis
    has an asyncio client and one round trip, anything else gets a thread)."""
    many = getattr(limiter, "ahit_many", None)
    if many is not None:
        return cast(int | None, await many(checks))
    for index, (key, limit, window) in enumerate(checks):
        if limiter.name == "memory":
            within = limiter.hit(key, limit=limit, window_seconds=window)
        else:
            within = await asyncio.to_thread(limiter.hit, key, limit=limit,
                                             window_seconds=window)
        if not within:
            return index
    return None


def make_rate_limiter(kind: str, redis_url: str) -> RateLimiter:
    if kind == "redis":
        return RedisRateLimiter(redis_url)
    if kind == "memory":
        return MemoryRateLimiter()
    raise ValueError(f"unknown rate limiter {kind!r} (memory or redis)")
