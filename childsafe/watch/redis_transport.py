"""Watch wake-ups over a Redis Stream with one consumer group, for scorers on many machines.

Each entry is `{conversation_id}`, added after the ingest transaction commits. Consumers
(`childsafe worker --watch`, and threads of `childsafe serve` unless switched off) read with
XREADGROUP and XACK + XDEL an entry once its conversation's scoring transaction committed, so
the stream holds only work in flight. An entry a dead consumer left pending is taken over by
another with XAUTOCLAIM once it has been idle `claim_idle_ms`. Two consumers may hold entries
of one conversation at once: the conversation's row lock and `scored_seq` cursor keep its
messages scored in order and once (see `childsafe.watch.scoring`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import redis

from childsafe.config import Settings
from childsafe.watch.transport import Wakeup

log = logging.getLogger("childsafe.watch")
FIELD = b"conversation_id"
FORGET_CONSUMER_AFTER_MS = 3_600_000  # a consumer with nothing pending, idle this long: gone
_HOUSEKEEPING_EVERY_S = 600.0


class RedisTransport:
    name = "redis"

    def __init__(self, client: redis.Redis, stream: str, group: str, *,
                 claim_idle_ms: int = 30_000) -> None:
        self.client, self.stream, self.group = client, stream, group
        self.claim_idle_ms = claim_idle_ms
        self._claim_every = max(0.05, claim_idle_ms / 2000)
        self._last_claim = 0.0
        self._claim_cursor = "0-0"
        self._last_housekeeping = time.monotonic()
        self._group_ready = False
        self.reclaimed = 0  # entries taken over from dead consumers (for logs and tests)

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisTransport:
        # Reads block for at most a few seconds; the socket timeout stays above that.
        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5,
                                      socket_timeout=30, health_check_interval=30)
        return cls(client, settings.watch_stream, settings.watch_group,
                   claim_idle_ms=settings.watch_claim_idle_ms)

    def ensure_group(self) -> None:
        """Create the stream and group if missing; from id 0, so nothing published before
        the first consumer started is skipped."""
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def publish(self, conversation_ids: Sequence[int]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for cid in conversation_ids:
            pipe.xadd(self.stream, {FIELD: str(int(cid))})
        pipe.execute()

    def receive(self, consumer: str, *, count: int, block_ms: int) -> list[Wakeup]:
        try:
            return self._receive(consumer, count, block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._group_ready = False  # the stream was deleted (or Redis restarted empty)
            return self._receive(consumer, count, block_ms)

    def _receive(self, consumer: str, count: int, block_ms: int) -> list[Wakeup]:
        if not self._group_ready:
            self.ensure_group()
        now = time.monotonic()
        if now - self._last_claim >= self._claim_every:
            self._last_claim = now
            claimed = self.reclaim(consumer, count)
            if claimed:
                return claimed
        if now - self._last_housekeeping >= _HOUSEKEEPING_EVERY_S:
            self._last_housekeeping = now
            self.forget_dead_consumers(consumer)
        reply: Any = self.client.xreadgroup(self.group, consumer, {self.stream: ">"},
                                            count=count, block=block_ms)
        entries = [entry for _stream, items in (reply or []) for entry in items]
        return self._wakeups(entries)

    def reclaim(self, consumer: str, count: int) -> list[Wakeup]:
        """Take over entries pending longer than `claim_idle_ms` (their consumer died)."""
        reply: Any = self.client.xautoclaim(self.stream, self.group, consumer,
                                       min_idle_time=self.claim_idle_ms,
                                       start_id=self._claim_cursor, count=count)
        cursor, entries = reply[0], reply[1]
        self._claim_cursor = cursor.decode() if isinstance(cursor, bytes) else str(cursor)
        if entries:
            self.reclaimed += len(entries)
            log.info("watch: %s reclaimed %d idle wake-up(s)", consumer, len(entries))
        return self._wakeups(entries)

    def _wakeups(self, entries: list[Any]) -> list[Wakeup]:
        out: list[Wakeup] = []
        junk: list[Any] = []
        for entry_id, fields in entries:
            token = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            try:
                out.append(Wakeup(int((fields or {})[FIELD]), token))
            except (KeyError, ValueError):
                junk.append(token)
        if junk:  # not ours to handle and never will be: drop rather than reclaim forever
            log.warning("watch: dropping %d malformed stream entries", len(junk))
            self._ack_tokens(junk)
        return out

    def ack(self, wakeups: Sequence[Wakeup]) -> None:
        self._ack_tokens([w.token for w in wakeups if w.token is not None])

    def _ack_tokens(self, tokens: Sequence[str]) -> None:
        if not tokens:
            return
        pipe = self.client.pipeline(transaction=True)
        pipe.xack(self.stream, self.group, *tokens)
        pipe.xdel(self.stream, *tokens)
        pipe.execute()

    def forget_dead_consumers(self, current: str) -> int:
        """Remove group members with nothing pending that have been idle for an hour (every
        worker start has a new name, so the list would otherwise only grow)."""
        gone = 0
        for info in self.client.xinfo_consumers(self.stream, self.group):
            name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
            if name != current and not info["pending"] and info["idle"] > FORGET_CONSUMER_AFTER_MS:
                self.client.xgroup_delconsumer(self.stream, self.group, name)
                gone += 1
        return gone

    def pending_count(self) -> int:
        summary = self.client.xpending(self.stream, self.group)
        return int(summary["pending"])

    def close(self) -> None:
        self.client.close()
