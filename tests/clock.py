"""A clock the test drives: the bot's `now` moves only when the test moves it."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta


class DrivenClock:
    """Pass to `build_bot(settings, clock=...)` (or `start_harness(..., clock=...)`); scheduled
    work then happens when the test sets the time and calls the heartbeat, not on the wall clock."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, at: datetime) -> datetime:
        with self._lock:
            self._now = at
            return at

    def after(self, delta: timedelta) -> datetime:
        """Set the time to `delta` after the start."""
        return self.set(self.start + delta)
