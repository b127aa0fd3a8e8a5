"""Slack sync: do every Slack step the log says is owed, recording each as it succeeds."""

from __future__ import annotations

import logging

from bot.core.errors import ChannelBusy, ConcurrencyConflict, StoreUnavailable
from bot.core.events import NewEvent
from bot.core.owed import StepKind, owed_slack_work
from bot.core.state import IncidentState
from bot.service.base import SYNC_LEASE, SlackPort, backoff
from bot.service.names import Names

log = logging.getLogger(__name__)

MAX_SLACK_STEPS = 200
# A Slack step's result is retried this many times (backing off to 200 ms): about 3 s.
RECORD_ATTEMPTS = 20


class SlackSync(Names):
    def sync_slack(self, number: int, slack: SlackPort | None = None) -> IncidentState:
        """Stops at the first failure and leaves the rest owed (the heartbeat tries again). One
        process at a time syncs an incident (a lease in the database); within a process the
        SyncQueue keeps it to one thread. The log is read once; each step's result is folded into
        the state as it is appended."""
        slack = slack or self.slack
        if slack is None:
            raise RuntimeError("no Slack transport to sync with")
        lease = f"incident:{number}"
        leased_at = self.clock()
        if self.stopping.is_set():
            return self.state_of(number)  # shutting down: the work stays owed for another replica
        if not self.store.try_lease(lease, self.instance_id, leased_at, SYNC_LEASE):
            return self.state_of(number)  # another process is on it; the heartbeat re-checks later
        try:
            state = self.state_of(number)
            deferred: set[str | None] = set()  # channels at Slack's posting limit right now
            for _ in range(MAX_SLACK_STEPS):
                steps = owed_slack_work(state, self.policy)
                if not steps:
                    self.store.mark_slack_done(number, state.last_seq)
                    # Last, so a new incident's channel never waits for it; cached for a day.
                    self.refresh_names(state)
                    return state
                if self.stopping.is_set():
                    log.info("INC-%s: shutting down; %s Slack steps left owed", number, len(steps))
                    return state
                ready = [step for step in steps if step.destination.channel not in deferred]
                if not ready:
                    return state  # still owed; the heartbeat comes back for it
                now = self.clock()
                if now - leased_at > SYNC_LEASE / 3:  # renew well before it could lapse
                    if not self.store.try_lease(lease, self.instance_id, now, SYNC_LEASE):
                        return state
                    leased_at = now
                if ready[0].kind is StepKind.PUBLISH_POSTMORTEM:
                    self.refresh_names(state)  # the file names people; best effort
                try:
                    done = slack.perform(ready[0], state, now)
                except ChannelBusy:
                    log.info("INC-%s: %s deferred, the channel is at Slack's limit", number, ready[0].kind)
                    deferred.add(ready[0].destination.channel)
                    continue
                state = self._record_result(state, NewEvent("bot", now, done))
            # A long backlog (hundreds of posts): give the worker back; the rest stays owed and
            # the next request or heartbeat goes on from here.
            log.info("INC-%s: %s Slack steps done, more still owed", number, MAX_SLACK_STEPS)
            return state
        finally:
            self.store.release_lease(lease, self.instance_id)

    def _record_result(self, state: IncidentState, new: NewEvent) -> IncidentState:
        """What Slack did is a fact: it is recorded even if someone appended meanwhile (then after
        their events, on a fresh read), and through a dropped database connection: the write is
        tried again, never the Slack call."""
        number = state.number
        fresh: IncidentState | None = state
        with self.writing(number):
            for attempt in range(RECORD_ATTEMPTS):
                try:
                    if fresh is None:
                        fresh = self.state_of(number)
                    return self._append_to(fresh, [new])
                except (ConcurrencyConflict, StoreUnavailable) as exc:
                    log.warning("INC-%s: recording a Slack step again after %s", number, exc)
                    fresh = None  # folded into before the write failed: read it again
                    backoff(attempt)
        raise StoreUnavailable(f"INC-{number}: could not record a Slack step")

    def incidents_owing_slack(self) -> list[int]:
        return self.store.with_slack_owed()
