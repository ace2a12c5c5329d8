"""Rate limits (abuse of the Report button): in-process by default, Redis when scaled out.

Fixed windows keyed by purpose and subject (a hashed IP or contact); `hit` counts one event
and says whether it is still within the limit. Chosen by `CHILDSAFE_RATE_LIMITER`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


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

        self.client = redis.Redis.from_url(url, socket_timeout=2)
        self.clock = clock

    def hit(self, key: str, *, limit: int, window_seconds: int) -> bool:
        bucket = int(self.clock() // window_seconds)
        redis_key = f"childsafe:rl:{key}:{bucket}"
        pipe = self.client.pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, window_seconds + 5)
        count, _ = pipe.execute()
        return int(count) <= limit


def make_rate_limiter(kind: str, redis_url: str) -> RateLimiter:
    if kind == "redis":
        return RedisRateLimiter(redis_url)
    if kind == "memory":
        return MemoryRateLimiter()
    raise ValueError(f"unknown rate limiter {kind!r} (memory or redis)")
