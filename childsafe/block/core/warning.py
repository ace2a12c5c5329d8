"""The warning page's logic: who has been here today (privately) and what to say.

Clients are counted by a keyed hash of their address with a salt that is random, lives only
in memory and is replaced every UTC day, so yesterday's counts cannot be linked to anyone,
even by us. Only aggregate numbers (views, repeat visitors per day) are kept past the day.
The page never depends on the requested URL, so it cannot reveal which entry matched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

KEEP_AGGREGATE_DAYS = 31


@dataclass
class DayStats:
    views: int = 0
    repeat_clients: int = 0


class AttemptCounter:
    """Counts attempts per client per day without keeping addresses."""

    def __init__(self, clock: Callable[[], float], salt_source: Callable[[int], bytes]) -> None:
        self._clock = clock
        self._salt_source = salt_source
        self._day: dt.date | None = None
        self._salt = b""
        self._counts: dict[bytes, int] = {}
        self.aggregates: dict[dt.date, DayStats] = {}

    def _today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self._clock(), dt.UTC).date()

    def _rotate(self, day: dt.date) -> None:
        self._day = day
        self._salt = self._salt_source(32)
        self._counts = {}
        for old in sorted(self.aggregates)[:-KEEP_AGGREGATE_DAYS]:
            del self.aggregates[old]

    def record(self, client: str) -> int:
        """Count one attempt by `client`; returns its number of attempts today (1 = first)."""
        day = self._today()
        if day != self._day:
            self._rotate(day)
        token = hmac.new(self._salt, client.encode("utf-8", "replace"), hashlib.sha256).digest()
        n = self._counts.get(token[:16], 0) + 1
        self._counts[token[:16]] = n
        stats = self.aggregates.setdefault(day, DayStats())
        stats.views += 1
        if n == 2:
            stats.repeat_clients += 1
        return n

    @property
    def clients_today(self) -> int:
        return len(self._counts)


def escalation_level(attempts_today: int) -> int:
    """1 on the first attempt today, 2 on the second and third, 3 from the fourth."""
    if attempts_today <= 1:
        return 1
    return 2 if attempts_today <= 3 else 3


MESSAGES = {
    1: (
        "This page is blocked",
        "The address you tried to open is on a list of web pages that show the sexual "
        "abuse of children. Your internet provider blocks these pages by law and agreement. "
        "Nothing has been downloaded to your device.",
    ),
    2: (
        "This page is blocked - again",
        "You have reached a blocked page more than once today. If you are worried about "
        "what you are looking for online, or about your own thoughts, you can talk to "
        "someone in confidence. You do not have to give your name.",
    ),
    3: (
        "Please stop and get help now",
        "You have tried to reach blocked pages several times today. Looking at images of "
        "children being abused is a crime, and every image is a real child who was harmed. "
        "Confidential help to stop is available today - people do stop, with support.",
    ),
}
