"""Use cases: load -> decide -> append -> notify. The only place the adapters meet."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.core.commands import Command, parse_command
from bot.core.decide import decide, decide_declare
from bot.core.events import SCHEDULE_TYPES, Event, NewEvent
from bot.core.naming import channel_name_for
from bot.core.owed import Owed, owed_slack_work
from bot.core.policy import Policy
from bot.core.schedule import decide_notices, next_due_at
from bot.core.state import IncidentState, replay
from bot.errors import ChannelBusy, ConcurrencyConflict, UserError
from bot.render.views import HeadView, Messages
from bot.store.event_store import EventStore

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MAX_CONFLICT_RETRIES = 10
MAX_SLACK_STEPS = 200
# Renewed before every Slack step; a process that dies holding it blocks that incident this long.
SYNC_LEASE = timedelta(seconds=30)
SCHEDULER_LEASE = "scheduler"


def utc_now() -> datetime:
    return datetime.now(UTC)


class SlackSteps(Protocol):
    """The Slack adapter: performs one owed step and says what happened (ids, timestamps)."""

    def perform(self, step: Owed, state: IncidentState, now: datetime) -> tuple[str, dict[str, Any]]: ...


@dataclass(frozen=True)
class Outcome:
    """What to answer the person, and which incident (if any) now owes Slack work."""

    reply: str
    incident: int | None = None
    declared: bool = False


class IncidentService:
    def __init__(
        self,
        store: EventStore,
        policy: Policy,
        messages: Messages,
        clock: Clock = utc_now,
        instance_id: str | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.messages = messages
        self.clock = clock
        # Names this process in leases, so two `serve` processes never do the same work.
        self.instance_id = instance_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    # Commands -----------------------------------------------------------------------------

    def handle_command(self, text: str, actor: str, channel_id: str | None) -> Outcome:
        """Run one `/incident` command; raises UserError for anything the person should fix."""
        command = parse_command(text, self.policy.severity_names)
        now = self.clock()
        if command.verb == "help":
            return Outcome(self.messages.help())
        if command.verb == "list":
            return Outcome(self.messages.incident_list(self.open_incidents(), now))
        if command.verb == "declare":
            return self._declare(command, actor, now, channel_id)
        number = self._incident_for(command, channel_id)
        if command.verb == "status":
            return Outcome(self.messages.status(self.state_of(number), now), number)
        return self._change(number, command, actor, now)

    def _declare(self, command: Command, actor: str, now: datetime, channel_id: str | None) -> Outcome:
        (declared,) = decide_declare(command, actor, now, self.policy, channel_id)
        first = Event(0, 1, declared.type, declared.actor, declared.at, declared.data)
        event = self.store.declare(declared, next_due_at(replay([first]), self.policy))
        state = replay([event])
        name = channel_name_for(state.number, state.title, self.policy.channel_prefix)
        return Outcome(self.messages.declared_reply(state, name), state.number, declared=True)

    def _incident_for(self, command: Command, channel_id: str | None) -> int:
        if command.incident is not None:
            return command.incident
        number = self.store.incident_for_channel(channel_id) if channel_id else None
        if number is None:
            raise UserError(
                f"This isn't an incident channel, so name the incident: `/incident {command.verb} INC-3 …`. "
                "`/incident list` shows the open ones."
            )
        return number

    def _change(self, number: int, command: Command, actor: str, now: datetime) -> Outcome:
        for _ in range(MAX_CONFLICT_RETRIES):
            events = self._events_of(number)
            state = replay(events)
            decision = decide(state, command, actor, now, self.policy)
            if not decision.events:
                return Outcome(decision.reply, number)
            try:
                self._append(events, state, decision.events)
            except ConcurrencyConflict:
                continue
            return Outcome(decision.reply, number)
        raise ConcurrencyConflict(f"INC-{number} is changing too fast; try again")

    # Reading ------------------------------------------------------------------------------

    def _events_of(self, number: int) -> list[Event]:
        events = self.store.load(number)
        if not events:
            raise UserError(f"There is no INC-{number}. `/incident list` shows the open incidents.")
        return events

    def state_of(self, number: int) -> IncidentState:
        return replay(self._events_of(number))

    def open_incidents(self) -> list[HeadView]:
        return [
            HeadView(
                f"INC-{h.number}", h.title, h.severity, h.status, h.commander, h.channel_id, h.declared_at
            )
            for h in self.store.heads(open_only=True)
        ]

    # Appending ----------------------------------------------------------------------------

    def _append(self, events: list[Event], state: IncidentState, new: list[NewEvent]) -> list[Event]:
        numbered = [
            Event(state.number, state.last_seq + i, e.type, e.actor, e.at, dict(e.data))
            for i, e in enumerate(new, 1)
        ]
        after = replay([*events, *numbered])
        owed = bool(owed_slack_work(after))
        return self.store.append(
            state.number, state.last_seq, new, after, owed, next_due_at(after, self.policy)
        )

    # Slack side effects -------------------------------------------------------------------

    def sync_slack(self, number: int, slack: SlackSteps) -> IncidentState:
        """Do every Slack step the log says is owed, recording each as it succeeds.

        Stops at the first failure and leaves the rest owed (the heartbeat tries again). One
        process at a time syncs an incident (a lease in the database); within a process the
        SyncQueue keeps it to one thread.
        """
        lease = f"incident:{number}"
        leased_at = self.clock()
        if not self.store.try_lease(lease, self.instance_id, leased_at, SYNC_LEASE):
            return self.state_of(number)  # another process is on it; the heartbeat re-checks later
        try:
            events = self._events_of(number)
            deferred: set[str] = set()  # kinds of step whose channel is at Slack's limit right now
            for _ in range(MAX_SLACK_STEPS):
                state = replay(events)
                steps = owed_slack_work(state)
                if not steps:
                    self.store.mark_slack_done(number, state.last_seq)
                    return state
                ready = [step for step in steps if step.kind not in deferred]
                if not ready:
                    return state  # still owed; the heartbeat comes back for it
                now = self.clock()
                if now - leased_at > SYNC_LEASE / 3:  # renew well before it could lapse
                    if not self.store.try_lease(lease, self.instance_id, now, SYNC_LEASE):
                        return state
                    leased_at = now
                try:
                    event_type, data = slack.perform(ready[0], state, now)
                except ChannelBusy:
                    log.info("INC-%s: %s deferred, the channel is at Slack's limit", number, ready[0].kind)
                    deferred.add(ready[0].kind)
                    continue
                events = self._record(number, NewEvent(event_type, "bot", now, data))
            raise RuntimeError(f"INC-{number}: Slack steps did not converge")
        finally:
            self.store.release_lease(lease, self.instance_id)

    # Scheduled notices ---------------------------------------------------------------------

    def hold_scheduler_lease(self, ttl: timedelta) -> bool:
        """True while this process is the one that does scheduled work (renewed each heartbeat)."""
        return self.store.try_lease(SCHEDULER_LEASE, self.instance_id, self.clock(), ttl)

    def find_due_work(self, now: datetime) -> list[int]:
        """Incidents with a notice due at `now`: the indexed query, then the due-work rules over
        just the events they read (what people did and notices already decided)."""
        logs = self.store.load_many(self.store.due_for_schedule(now), types=SCHEDULE_TYPES)
        return [
            n for n, events in logs.items() if events and decide_notices(replay(events), self.policy, now)
        ]

    def run_schedule(self) -> list[int]:
        """Record every notice due now; return the incidents that now owe Slack a post."""
        now = self.clock()
        due = set(self.find_due_work(now))
        for number in self.store.due_for_schedule(now):
            if number not in due:
                # The cached due time was early (e.g. the cadence changed): refresh it.
                state = self.state_of(number)
                self.store.set_next_due(number, state.last_seq, next_due_at(state, self.policy))
        touched = []
        for number in sorted(due):
            for _ in range(MAX_CONFLICT_RETRIES):
                events = self._events_of(number)
                state = replay(events)
                notices = decide_notices(state, self.policy, now)
                if not notices:
                    break
                try:
                    self._append(events, state, notices)
                except ConcurrencyConflict:
                    continue
                touched.append(number)
                break
        return touched

    def refresh_schedule(self) -> None:
        """Recompute every incident's next due time, e.g. after the cadence config changed."""
        for number in self.store.numbers():
            state = self.state_of(number)
            self.store.set_next_due(number, state.last_seq, next_due_at(state, self.policy))

    def _record(self, number: int, new: NewEvent) -> list[Event]:
        for _ in range(MAX_CONFLICT_RETRIES):
            events = self._events_of(number)
            state = replay(events)
            try:
                return [*events, *self._append(events, state, [new])]
            except ConcurrencyConflict:
                continue
        raise ConcurrencyConflict(f"could not record {new.type} on INC-{number}")

    def channel_ready_text(self, state: IncidentState | None) -> str:
        if state is None or state.channel_id is None:
            return (
                "Slack is slow to create the incident channel; I'll keep trying and announce it when it's up."
            )
        return self.messages.channel_ready(state)

    def incidents_owing_slack(self) -> list[int]:
        return self.store.with_slack_owed()
