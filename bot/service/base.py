"""What every use case shares: the incident log (load -> decide -> append) and the ports it talks to."""

from __future__ import annotations

import gc
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot import logs
from bot.core import events as ev
from bot.core.audience import may_see
from bot.core.decide import Decision, NotAllowed
from bot.core.errors import ConcurrencyConflict, UserError
from bot.core.events import Event, NewEvent
from bot.core.owed import Owed, owed_slack_work
from bot.core.policy import Policy
from bot.core.replies import reply
from bot.core.schedule import next_due_at
from bot.core.state import IncidentState, replay
from bot.render.views import Messages
from bot.store.event_store import EventStore

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MAX_CONFLICT_RETRIES = 10
# Renewed before every Slack step; a process that dies holding it blocks that incident this long.
SYNC_LEASE = timedelta(seconds=30)
SCHEDULER_LEASE = "scheduler"


def utc_now() -> datetime:
    return datetime.now(UTC)


_WRITER_LOCKS = tuple(threading.RLock() for _ in range(256))


def backoff(attempt: int) -> None:
    """After losing a race to another process: 5 ms, 10 ms, 20 ms ... (at most 200 ms), jittered."""
    time.sleep(min(0.005 * 2**attempt, 0.2) * random.uniform(0.5, 1.0))


@contextmanager
def bulk_read() -> Iterator[None]:
    """Reading and replaying thousands of logs makes millions of small objects that are all kept:
    Python's cyclic collector would walk the growing heap again and again (it took over 70% of a
    10,000-incident metrics run). None of it is garbage, so collection waits until the end."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class SlackPort(Protocol):
    """The Slack transport: performs one owed step and says what happened (ids, timestamps), and
    reads the message a 📌 reaction is on."""

    def perform(self, step: Owed, state: IncidentState, now: datetime) -> ev.Payload: ...

    def fetch_message(self, channel: str, ts: str) -> ev.MessagePinned | None: ...


AfterSync = Callable[[IncidentState | None], str]
Viewer = tuple[str, str | None]  # who acts, and the channel they act from


@dataclass(frozen=True)
class Outcome:
    """What to answer the person, and which incident (if any) now owes Slack work."""

    reply: str
    incident: int | None = None
    open_view: dict[str, Any] | None = None  # a modal to open with the request's trigger_id
    # Something to tell the person once the incident's Slack work is done (the channel link).
    after_sync: AfterSync | None = None

    @property
    def declared(self) -> bool:
        return self.after_sync is not None


class ServiceBase:
    def __init__(
        self,
        store: EventStore,
        policy: Policy,
        messages: Messages,
        clock: Clock = utc_now,
        instance_id: str | None = None,
        slack: SlackPort | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.messages = messages
        self.clock = clock
        self.slack = slack
        # Names this process in leases, so two `serve` processes never do the same work.
        self.instance_id = instance_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Set when the process is shutting down: a Slack sync finishes the step in progress, then
        # leaves the rest owed for another replica (or the next start).
        self.stopping = threading.Event()

    def _events_of(self, number: int) -> list[Event]:
        events = self.store.load(number)
        if not events:
            raise UserError(reply("no_such_incident", key=f"INC-{number}"))
        return events

    def state_of(self, number: int) -> IncidentState:
        return replay(self._events_of(number))

    def _append_decided(
        self, number: int, decide_events: Callable[[IncidentState], list[NewEvent]]
    ) -> IncidentState | None:
        """Load, decide on the current state, append. Writers to one incident in this process take
        turns (so they never race); if another process appended first, wait a little, reload and
        decide again. Returns the state after appending, or None when nothing was decided."""
        logs.bind(incident=number)  # the rest of this request or job is about it
        with self.writing(number):
            for attempt in range(MAX_CONFLICT_RETRIES):
                state = self.state_of(number)
                new = decide_events(state)
                if not new:
                    return None
                try:
                    return self._append_to(state, new)
                except ConcurrencyConflict:
                    backoff(attempt)
        raise ConcurrencyConflict(f"INC-{number} is changing too fast; try again")

    def writing(self, number: int) -> threading.RLock:
        """The lock this process's writers to incident `number` take turns on (striped: a fixed
        number of locks, so memory does not grow with the number of incidents)."""
        return _WRITER_LOCKS[number % len(_WRITER_LOCKS)]

    def _append_to(self, state: IncidentState, new: list[NewEvent]) -> IncidentState:
        """Append `new` after the events `state` was folded from, and fold them into it (no second
        replay). On ConcurrencyConflict `state` is spoilt: the caller reloads."""
        expected = state.last_seq
        for i, event in enumerate(new, 1):
            state.apply(Event.stored(event, state.number, expected + i))
        owed = bool(owed_slack_work(state, self.policy))
        self.store.append(state.number, expected, new, state, owed, next_due_at(state, self.policy))
        return state

    def refuse_unless_visible(self, state: IncidentState, actor: str, channel_id: str | None) -> None:
        """Refuse, saying it is private, someone outside a private incident who names it (checked on
        the state the use case loaded anyway: no read of its own)."""
        if not may_see(state, actor, channel_id):
            raise NotAllowed(reply("private_refusal", key=state.key))

    def _decided(
        self, number: int, decide_on: Callable[[IncidentState], Decision], viewer: Viewer | None = None
    ) -> Decision:
        """Decide on the incident as it stands and append; returns the decision that was finally
        appended, after any retry. With `viewer` (who, from which channel), someone outside a
        private incident is refused first. A submitted modal has none: only a press that was
        allowed opens one."""
        decision = Decision()

        def decide_now(state: IncidentState) -> list[NewEvent]:
            nonlocal decision
            if viewer is not None:
                self.refuse_unless_visible(state, *viewer)
            decision = decide_on(state)
            return decision.events

        self._append_decided(number, decide_now)
        return decision

    def _record_decided(
        self, number: int, decide_events: Callable[[IncidentState, datetime], list[NewEvent]]
    ) -> int | None:
        appended = self._append_decided(number, lambda state: decide_events(state, self.clock()))
        return number if appended is not None else None
