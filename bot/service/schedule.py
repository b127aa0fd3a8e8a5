"""Scheduled notices: what is due is decided from the log, recorded, then posted like any step."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot import logs
from bot.core.events import SCHEDULE_TYPES, NewEvent, PageTarget
from bot.core.paging import OnCallNow, decide_paging, paging_due_at
from bot.core.policy import Policy
from bot.core.runbook import EscalationTargets, decide_runbook_escalations, escalations_due_at
from bot.core.schedule import decide_notices, next_due_at
from bot.core.state import IncidentState, replay
from bot.service.base import SCHEDULER_LEASE
from bot.service.paging import Paging


class Schedule(Paging):
    def hold_scheduler_lease(self, ttl: timedelta) -> bool:
        """True while this process is the one that does scheduled work (renewed each heartbeat)."""
        return self.store.try_lease(SCHEDULER_LEASE, self.instance_id, self.clock(), ttl)

    def release_scheduler_lease(self) -> None:
        """Give up scheduled work at shutdown, so another replica's next heartbeat takes it over
        instead of waiting for the lease to lapse."""
        self.store.release_lease(SCHEDULER_LEASE, self.instance_id)

    def find_due_work(self, now: datetime) -> list[int]:
        """Incidents with a notice due at `now`."""
        return self._with_notices_due(self.store.due_for_schedule(now), now)

    def _with_notices_due(self, candidates: list[int], now: datetime) -> list[int]:
        """Of the incidents the index says are due, those the due-work rules agree about, judged
        on just the events the rules read (what people did, notices decided, pages sent)."""
        logs = self.store.load_many(candidates, types=SCHEDULE_TYPES)
        return [n for n, events in logs.items() if events and self._is_due(replay(events), now)]

    def _is_due(self, state: IncidentState, now: datetime) -> bool:
        paging = paging_due_at(state, self.policy)
        escalation = escalations_due_at(state)
        return (
            (paging is not None and paging <= now)
            or (escalation is not None and escalation <= now)
            or bool(decide_notices(state, self.policy, now))
        )

    def _decide_due(self, state: IncidentState, now: datetime, who: OnCallNow) -> list[NewEvent]:
        """Notices, escalation levels, and runbooks' escalation deadlines: each once, by its key."""
        events = decide_notices(state, self.policy, now) + decide_paging(state, self.policy, who, now)
        escalation = escalations_due_at(state)
        if escalation is not None and escalation <= now:  # who holds each schedule: only when needed
            events += decide_runbook_escalations(state, now, escalation_targets(who, self.policy, now))
        return events

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
        who = self.on_call_now() if due else OnCallNow()
        for number in sorted(due):
            # Decided again on the full log: what is written is decided on the whole truth.
            with logs.bound(incident=number):
                if self._append_decided(number, lambda state: self._decide_due(state, now, who)):
                    touched.append(number)
        return touched

    def refresh_schedule(self) -> None:
        """Recompute every incident's next due time, e.g. after the cadence config changed."""
        for number in self.store.numbers():
            state = self.state_of(number)
            self.store.set_next_due(number, state.last_seq, next_due_at(state, self.policy))


def escalation_targets(who: OnCallNow, policy: Policy, now: datetime) -> EscalationTargets:
    """Whom a runbook's escalation can name: each schedule (by name or slug) with who holds it now,
    and the config's `people`."""
    schedules: dict[str, tuple[str, ...]] = {}
    for schedule in who.schedules:
        holders = who.holders(PageTarget("schedule", schedule.name), now)
        schedules[schedule.slug] = schedules[schedule.name.casefold()] = holders
    people = {name: who.emails.get(user, user) for name, user in policy.oncall.people.items()}
    return EscalationTargets(schedules=schedules, people=people)
