"""Keeps the bot within Slack's per-channel posting limit (about one message a second, short bursts)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ChannelPacer:
    """A per-channel rate limit (the generic cell rate algorithm): `burst` posts may go at once,
    then one every 1/rate seconds. `wait(channel)` reserves the next slot and sleeps until it."""

    def __init__(
        self,
        per_second: float,
        burst: int = 3,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("rate and burst must be positive")
        self.interval = 1.0 / per_second
        self.tolerance = (burst - 1) * self.interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait(self, channel: str, max_wait: float | None = None) -> float | None:
        """Block until `channel` may take another post and return the seconds waited; or, if that
        would be longer than `max_wait`, reserve nothing and return None at once."""
        with self._lock:
            now = self._clock()
            theoretical = max(self._next.get(channel, now), now)
            delay = max(0.0, theoretical - self.tolerance - now)
            if max_wait is not None and delay > max_wait:
                return None
            self._next[channel] = theoretical + self.interval
        if delay:
            self._sleep(delay)
        return delay
