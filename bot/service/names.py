"""Names for readers outside Slack: refresh the cache from Slack (best effort), read it back."""

from __future__ import annotations

import functools
import logging
import threading
from datetime import datetime, timedelta
from typing import Protocol

from bot.core.errors import NamesUnavailable
from bot.core.names import due_for_refresh, shown_outside_slack
from bot.core.state import IncidentState
from bot.service.base import ServiceBase
from bot.store.names import CHANNEL, USER, NameStore

log = logging.getLogger(__name__)


class NameDirectory(Protocol):
    """Where names come from (Slack's users.info and conversations.info). Each returns None when
    Slack has no name for the id, and raises NamesUnavailable when it cannot answer now."""

    def user_name(self, user_id: str) -> str | None: ...

    def channel_name(self, channel_id: str) -> str | None: ...


class Names(ServiceBase):
    directory: NameDirectory | None = None  # none in the CLI: it reads the cache only
    _names_paused_until: datetime | None = None
    _names_lock = threading.Lock()

    @functools.cached_property
    def name_store(self) -> NameStore:
        return NameStore(self.store.engine)

    def names_for(self, state: IncidentState) -> dict[str, str]:
        """The cached names of everyone and every channel the incident shows outside Slack."""
        return self.name_store.known(shown_outside_slack(state).ids)

    def refresh_names(self, state: IncidentState) -> None:
        """Fetch the names the incident shows outside Slack that were never fetched or are over a
        day old. Best effort: a failure is logged and left for the next sync; it never stops the
        incident's Slack work. After a 429, nothing is asked until its Retry-After has passed."""
        if self.directory is None:
            return
        wanted = shown_outside_slack(state)
        now = self.clock()
        try:
            cached = self.name_store.cached(wanted.ids)
            due = due_for_refresh(wanted.ids, {i: c.fetched_at for i, c in cached.items()}, now)
            for id_ in due:
                if self._names_paused(now):
                    return
                self._fetch(id_, CHANNEL if id_ in wanted.channels else USER, now)
        except NamesUnavailable as exc:
            log.warning("%s: names not refreshed now (%s)", state.key, exc)
            if exc.retry_after:
                with self._names_lock:
                    self._names_paused_until = now + timedelta(seconds=exc.retry_after)
        except Exception:
            log.exception("%s: names not refreshed now", state.key)

    def _fetch(self, id_: str, kind: str, now: datetime) -> None:
        assert self.directory is not None
        name = self.directory.user_name(id_) if kind == USER else self.directory.channel_name(id_)
        self.name_store.record(id_, kind, name, now)

    def _names_paused(self, now: datetime) -> bool:
        with self._names_lock:
            return self._names_paused_until is not None and now < self._names_paused_until
