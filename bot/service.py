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

from bot.core import audience
from bot.core import events as ev
from bot.core.alerts import ALERT_ACTOR, AlertGroup, decide_alerts, incident_fields
from bot.core.audience import Destination, may_see
from bot.core.commands import Command, check_title, parse_command
from bot.core.decide import (
    Decision,
    NotAllowed,
    TransitionRefused,
    check_may_close,
    decide,
    decide_declare,
    decide_pin,
    decide_unpin,
)
from bot.core.events import MEMBERSHIP_TYPES, METRICS_TYPES, SCHEDULE_TYPES, Event, NewEvent
from bot.core.metrics import Metrics, compute_metrics
from bot.core.naming import channel_name_for
from bot.core.owed import Owed, owed_slack_work
from bot.core.policy import Policy
from bot.core.postmortem import action_rows
from bot.core.schedule import decide_notices, next_due_at
from bot.core.state import IncidentState, replay
from bot.errors import ChannelBusy, ConcurrencyConflict, DuplicateDelivery, FormErrors, UserError
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
class AlertOutcome:
    action: str  # declare | triage | record
    incident: int | None = None
    post_to: Destination | None = None  # where a triage-grade group is shown


@dataclass(frozen=True)
class Outcome:
    """What to answer the person, and which incident (if any) now owes Slack work."""

    reply: str
    incident: int | None = None
    declared: bool = False
    open_view: dict[str, Any] | None = None  # a modal to open with the request's trigger_id


def _item_rows(state: IncidentState, now: datetime, only_owner: str | None = None) -> list[dict[str, Any]]:
    rows = [vars(row) | {"incident": state.key} for row in action_rows(state, now.date().isoformat())]
    return [r for r in rows if only_owner is None or r["owner"] == only_owner]


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
            return Outcome(self.messages.incident_list(self.open_incidents(actor, channel_id), now))
        if command.verb == "declare":
            return self._declare(command, actor, now, channel_id)
        if command.verb == "metrics":
            return Outcome(self.messages.metrics(self.metrics(now - timedelta(days=command.days or 30), now)))
        in_channel = self.store.incident_for_channel(channel_id) if channel_id else None
        if (
            command.verb == "action"
            and command.sub == "mine"
            and command.incident is None
            and in_channel is None
        ):
            items, hidden = self.open_items_of(actor, now)
            return Outcome(self.messages.action_list(items, "", mine=True, hidden=hidden))
        number = self._incident_for(command, in_channel)
        self._check_may_see(number, actor, channel_id)
        if command.verb == "status":
            return Outcome(self.messages.status(self.state_of(number), now), number)
        if command.verb == "action" and command.sub in ("list", "mine"):
            state = self.state_of(number)
            items = _item_rows(state, now, only_owner=actor if command.sub == "mine" else None)
            return Outcome(self.messages.action_list(items, state.key, mine=command.sub == "mine"), number)
        return self._change(number, command, actor, now)

    # Postmortems and metrics -------------------------------------------------------------

    def postmortem_markdown(self, number: int) -> str:
        return self.messages.postmortem(self.state_of(number))

    def metrics(self, since: datetime, now: datetime) -> Metrics:
        # Slack bookkeeping and notices change no figure, so they are not read.
        logs = self.store.load_many(self.store.declared_since(since), types=METRICS_TYPES)
        states = [replay(events) for events in logs.values() if events]
        return compute_metrics(states, since, now, dict(self.policy.services))

    def open_items_of(self, owner: str, now: datetime) -> tuple[list[dict[str, Any]], int]:
        """Open action items owned by `owner`, across every incident; and how many more are on
        private incidents `owner` is not a member of (counted, not shown)."""
        types = MEMBERSHIP_TYPES | {ev.ACTION_ITEM_ADDED, ev.ACTION_ITEM_DONE}
        logs = self.store.load_many(self.store.numbers(), types=types)
        rows, hidden = [], 0
        for events in logs.values():
            state = replay(events)
            mine = [r for r in _item_rows(state, now, only_owner=owner) if r["status"] != "done"]
            if may_see(state, owner):
                rows += mine
            else:
                hidden += len(mine)
        return rows, hidden

    def _check_may_see(self, number: int, actor: str, channel_id: str | None) -> None:
        state = replay(self.store.load(number, types=MEMBERSHIP_TYPES) or self._events_of(number))
        if not may_see(state, actor, channel_id):
            raise NotAllowed(self.messages.private_refusal(state))

    def _declare(
        self, command: Command, actor: str, now: datetime, channel_id: str | None, **details: Any
    ) -> Outcome:
        if not command.text:
            return Outcome("", open_view=self.messages.declare_modal(actor, channel_id))
        (declared,) = decide_declare(command, actor, now, self.policy, channel_id, **details)
        first = Event(0, 1, declared.type, declared.actor, declared.at, declared.data)
        try:
            event = self.store.declare(
                declared, next_due_at(replay([first]), self.policy), details.get("source")
            )
        except DuplicateDelivery as dup:
            return Outcome(f"That was already declared as INC-{dup.incident}.", dup.incident)
        state = replay([event])
        name = channel_name_for(state.number, state.title, self.policy.channel_prefix)
        return Outcome(self.messages.declared_reply(state, name), state.number, declared=True)

    def _incident_for(self, command: Command, in_channel: int | None) -> int:
        """The INC-N named in the command, else the incident whose channel it was typed in."""
        if command.incident is not None:
            return command.incident
        number = in_channel
        if number is None:
            raise UserError(
                f"This isn't an incident channel, so name the incident: `/incident {command.verb} INC-3 …`. "
                "`/incident list` shows the open ones."
            )
        return number

    def _change(
        self, number: int, command: Command, actor: str, now: datetime, extra: dict[str, Any] | None = None
    ) -> Outcome:
        decision = Decision()

        def decide_now(state: IncidentState) -> list[NewEvent]:
            nonlocal decision  # the reply of the decision that was finally appended
            decision = decide(state, command, actor, now, self.policy, extra)
            return decision.events

        self._append_decided(number, decide_now)
        return Outcome(decision.reply, number)

    # Buttons and modals -------------------------------------------------------------------

    def press(self, action: str, number: int, actor: str, value: str | None = None) -> Outcome:
        """A button or select on the summary: the same decisions as the slash commands."""
        if action == "ack":
            return self._change(number, Command("ack", incident=number), actor, self.clock())
        if action == "severity":
            severity = (value or "").lower()
            if severity not in self.policy.severity_names:
                raise UserError(f"`{severity}` is not a severity here.")
            command = Command("severity", incident=number, severity=severity)
            return self._change(number, command, actor, self.clock())
        state = self.state_of(number)
        if state.is_resolved:
            raise TransitionRefused(f"{state.key} is already resolved; there is nothing to {action}.")
        if action == "update":
            return Outcome("", number, open_view=self.messages.update_modal(state))
        if action == "mitigate":
            if state.status == "mitigated":
                raise TransitionRefused(f"{state.key} is already mitigated.")
            return Outcome("", number, open_view=self.messages.mitigate_modal(state))
        if action == "resolve":
            check_may_close(state, actor, "resolve", self.policy)
            return Outcome("", number, open_view=self.messages.resolve_modal(state))
        raise ValueError(f"unknown action {action!r}")

    def submit_declare(self, form: dict[str, Any], actor: str, origin: str | None, source: str) -> Outcome:
        title = " ".join(str(form.get("title") or "").split())
        errors = {}
        try:
            check_title(title)
        except UserError as exc:
            errors["title"] = exc.message
        severity = form.get("severity") or self.policy.default_severity
        if severity not in self.policy.severity_names:
            errors["severity"] = "Choose one of the severities."
        if errors:
            raise FormErrors(errors)
        command = Command("declare", severity=severity, text=title)
        details = {
            "commander": form.get("commander") or actor,
            "impact": form.get("impact") or None,
            "private": "private" in (form.get("private") or []),
            "source": source,
        }
        return self._declare(command, actor, self.clock(), origin, **details)

    def submit_update(self, number: int, form: dict[str, Any], actor: str, source: str) -> Outcome:
        message = str(form.get("message") or "").strip()
        if not message:
            raise FormErrors({"message": "Say what changed and what happens next."})
        command = Command("update", incident=number, status=form.get("status"), text=message)
        extra = {"impact": form.get("impact") or None, "source": source}
        return self._change(number, command, actor, self.clock(), extra)

    def submit_mitigate(self, number: int, form: dict[str, Any], actor: str, source: str) -> Outcome:
        note = str(form.get("note") or "").strip()
        if not note:
            raise FormErrors({"note": "Say what stopped the impact."})
        command = Command("mitigate", incident=number, text=note)
        return self._change(number, command, actor, self.clock(), {"source": source})

    def submit_resolve(self, number: int, form: dict[str, Any], actor: str, source: str) -> Outcome:
        summary = str(form.get("summary") or "").strip()
        errors = {} if summary else {"summary": "Give a one-line summary of what fixed it."}
        ended_at = None
        date, time_of_day = form.get("ended_date"), form.get("ended_time")
        if bool(date) != bool(time_of_day):
            errors["ended_time" if date else "ended_date"] = "Give both the day and the time, or neither."
        elif date:
            ended_at = datetime.fromisoformat(f"{date}T{time_of_day}:00+00:00")
            if ended_at > self.clock():
                errors["ended_date"] = "The impact cannot have ended in the future."
        if errors:
            raise FormErrors(errors)
        extra = {
            "root_cause": form.get("root_cause") or None,
            "impact_ended_at": ended_at.isoformat() if ended_at else None,
            "source": source,
        }
        command = Command("resolve", incident=number, text=summary)
        return self._change(number, command, actor, self.clock(), extra)

    # Alert intake -------------------------------------------------------------------------

    def receive_alerts(self, group: AlertGroup) -> AlertOutcome:
        """One Alertmanager notification: page -> an incident (one per group while it is open),
        ticket -> the triage channel, anything else -> only recorded. Every one is logged."""
        now = self.clock()
        action = self.policy.alerts.classify(group.severity_label)
        incident = self._incident_from_alerts(group, now) if action == "declare" else None
        self.store.log_alert(
            {
                "received_at": now,
                "alert_group": group.identity,
                "status": group.status,
                "severity": group.severity_label[:32],
                "action": action,
                "incident": incident,
            }
        )
        if action == "triage":
            return AlertOutcome(action, incident, audience.triage_channel(self.policy.alerts.triage_channel))
        return AlertOutcome(action, incident)

    def _incident_from_alerts(self, group: AlertGroup, now: datetime) -> int | None:
        latest = self.store.latest_for_alert_group(group.identity)
        if latest is not None and not self.state_of(latest).is_resolved:
            self._record_decided(latest, lambda state, at: decide_alerts(state, group, at))
            return latest
        if group.status == "resolved":
            return latest  # nothing open for it: a late resolution of a closed incident
        severity = self.policy.alerts.declare[group.severity_label]
        fields = incident_fields(group, severity)
        command = Command("declare", severity=severity, text=fields.pop("title"))
        responders = self.policy.severity(severity).responders
        (declared,) = decide_declare(
            command,
            ALERT_ACTOR,
            now,
            self.policy,
            None,
            commander=responders[0] if responders else "",
            source=f"alertgroup:{group.identity}|{group.episode}",
            extra=fields,
        )
        first = Event(0, 1, declared.type, declared.actor, declared.at, declared.data)
        try:
            event = self.store.declare(
                declared, next_due_at(replay([first]), self.policy), declared.data["source"], group.identity
            )
        except DuplicateDelivery as dup:
            return dup.incident  # a re-send raced the first delivery
        return event.incident

    # The timeline from the channel ----------------------------------------------------------

    def pin_message(self, channel_id: str, message: dict[str, str], actor: str, source: str) -> int | None:
        """📌 on a message in an incident channel: put it on that incident's timeline (once)."""
        number = self.store.incident_for_channel(channel_id)
        if number is None:
            return None
        return self._record_decided(number, lambda state, now: decide_pin(state, message, actor, now, source))

    def unpin_message(self, channel_id: str, message_ts: str, actor: str, source: str) -> int | None:
        number = self.store.incident_for_channel(channel_id)
        if number is None:
            return None
        return self._record_decided(
            number, lambda state, now: decide_unpin(state, message_ts, actor, now, source)
        )

    def _record_decided(
        self, number: int, decide_events: Callable[[IncidentState, datetime], list[NewEvent]]
    ) -> int | None:
        appended = self._append_decided(number, lambda state: decide_events(state, self.clock()))
        return number if appended is not None else None

    def incident_for_channel(self, channel_id: str) -> int | None:
        return self.store.incident_for_channel(channel_id)

    def channel_of(self, number: int) -> str | None:
        return self.state_of(number).channel_id

    # Reading ------------------------------------------------------------------------------

    def _events_of(self, number: int) -> list[Event]:
        events = self.store.load(number)
        if not events:
            raise UserError(f"There is no INC-{number}. `/incident list` shows the open incidents.")
        return events

    def state_of(self, number: int) -> IncidentState:
        return replay(self._events_of(number))

    def open_incidents(self, viewer: str, from_channel: str | None = None) -> list[HeadView]:
        """Open incidents as `viewer` may see them: a private one they are not in is listed as
        hidden, without its title or people."""
        heads = self.store.heads(open_only=True)
        logs = self.store.load_many([h.number for h in heads], types=MEMBERSHIP_TYPES)
        out = []
        for h in heads:
            events = logs.get(h.number)
            hidden = bool(events) and not may_see(replay(events), viewer, from_channel)
            out.append(
                HeadView(
                    f"INC-{h.number}",
                    "" if hidden else h.title,
                    h.severity,
                    h.status,
                    None if hidden else h.commander,
                    None if hidden else h.channel_id,
                    h.declared_at,
                    hidden=hidden,
                )
            )
        return out

    # Appending ----------------------------------------------------------------------------

    def _append_decided(
        self, number: int, decide_events: Callable[[IncidentState], list[NewEvent]]
    ) -> list[Event] | None:
        """Load, decide on the current state, append. If another writer appended first, reload and
        decide again. Returns the whole log after appending, or None when nothing was decided."""
        for _ in range(MAX_CONFLICT_RETRIES):
            events = self._events_of(number)
            state = replay(events)
            new = decide_events(state)
            if not new:
                return None
            try:
                return [*events, *self._append(events, state, new)]
            except ConcurrencyConflict:
                continue
        raise ConcurrencyConflict(f"INC-{number} is changing too fast; try again")

    def _append(self, events: list[Event], state: IncidentState, new: list[NewEvent]) -> list[Event]:
        numbered = [
            Event(state.number, state.last_seq + i, e.type, e.actor, e.at, dict(e.data))
            for i, e in enumerate(new, 1)
        ]
        after = replay([*events, *numbered])
        owed = bool(owed_slack_work(after, self.policy))
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
            deferred: set[str | None] = set()  # channels at Slack's posting limit right now
            for _ in range(MAX_SLACK_STEPS):
                state = replay(events)
                steps = owed_slack_work(state, self.policy)
                if not steps:
                    self.store.mark_slack_done(number, state.last_seq)
                    return state
                ready = [step for step in steps if step.destination.channel not in deferred]
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
                    deferred.add(ready[0].destination.channel)
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
        """Incidents with a notice due at `now`."""
        return self._with_notices_due(self.store.due_for_schedule(now), now)

    def _with_notices_due(self, candidates: list[int], now: datetime) -> list[int]:
        """Of the incidents the index says are due, those the due-work rules agree about, judged
        on just the events the rules read (what people did and notices already decided)."""
        logs = self.store.load_many(candidates, types=SCHEDULE_TYPES)
        return [
            n for n, events in logs.items() if events and decide_notices(replay(events), self.policy, now)
        ]

    def run_schedule(self) -> list[int]:
        """Record every notice due now; return the incidents that now owe Slack a post."""
        now = self.clock()
        candidates = self.store.due_for_schedule(now)
        due = set(self._with_notices_due(candidates, now))
        for number in candidates:
            if number not in due:
                # The cached due time was early (e.g. the cadence changed): refresh it.
                state = self.state_of(number)
                self.store.set_next_due(number, state.last_seq, next_due_at(state, self.policy))
        touched = []
        for number in sorted(due):
            # Decided again on the full log: what is written is decided on the whole truth.
            if self._append_decided(number, lambda state: decide_notices(state, self.policy, now)):
                touched.append(number)
        return touched

    def refresh_schedule(self) -> None:
        """Recompute every incident's next due time, e.g. after the cadence config changed."""
        for number in self.store.numbers():
            state = self.state_of(number)
            self.store.set_next_due(number, state.last_seq, next_due_at(state, self.policy))

    def _record(self, number: int, new: NewEvent) -> list[Event]:
        return self._append_decided(number, lambda state: [new]) or []

    def channel_ready_text(self, state: IncidentState | None) -> str:
        if state is None or state.channel_id is None:
            return (
                "Slack is slow to create the incident channel; I'll keep trying and announce it when it's up."
            )
        return self.messages.channel_ready(state)

    def incidents_owing_slack(self) -> list[int]:
        return self.store.with_slack_owed()
