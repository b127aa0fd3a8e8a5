"""A clock the test drives: the bot's `now` moves only when the test moves it."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.demo import DemoClock


class DrivenClock(DemoClock):
    """Pass to `build_bot(settings, clock=...)` (or `start_harness(..., clock=...)`); scheduled
    work then happens when the test sets the time and calls the heartbeat, not on the wall clock."""

    def set(self, at: datetime) -> datetime:
        with self._lock:
            self._now = at
            return at

    def after(self, delta: timedelta) -> datetime:
        """Set the time to `delta` after the start."""
        return self.set(self.start + delta)
