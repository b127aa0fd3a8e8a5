"""Handoffs and user groups, at the heartbeat: decided from the on-call stream, the schedules and
`now`, recorded first (one HandoffNoticed per schedule and shift start), then told in Slack, each
message recorded as sent, so a restart or a second replica neither skips nor repeats one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.core.oncall_events import (
    HandoffMessage,
    HandoffSent,
    OnCallLog,
    OnCallPayload,
    UsergroupChange,
    UsergroupSynced,
    decide_handoffs,
    handoff_destination,
    inherited,
    owed_handoff_messages,
    owed_usergroup_changes,
)
from bot.core.state import IncidentState
from bot.service.oncall_commands import OnCallCommands

log = logging.getLogger(__name__)

BOT_ACTOR = "incident-bot"
MAX_OPEN_INCIDENTS = 500  # listed in a handoff message at most


class OnCallSlackPort(Protocol):
    """Slack for on-call: a message to a person's DM or a channel, and a user group's members.
    False: Slack refused for good (logged by the adapter, not retried); an exception: try again later."""

    def tell(self, to: str, text: str) -> bool: ...

    def set_usergroup(self, usergroup: str, users: tuple[str, ...], enable: bool) -> bool: ...


def _utc_text(at: datetime | None) -> str | None:
    return None if at is None else f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


class OnCallHandoffs(OnCallCommands):
    oncall_slack: OnCallSlackPort | None = None

    def run_oncall(self) -> int:
        """Record the handoffs due now, tell them, and keep the user groups in step; returns the
        number of Slack messages and group changes made."""
        config = self.policy.oncall
        if not config.schedules:
            return 0
        now = self.clock()
        reads = self.oncall_reads()
        schedules = reads.schedules()
        self.append_oncall(
            lambda log_: list(decide_handoffs(schedules, log_, now, reads.unreachable)), BOT_ACTOR, now
        )
        if self.oncall_slack is None:
            return 0
        done = 0
        state = self.oncall_log()
        owed = owed_handoff_messages(state, config.handoff_channel)
        if owed:
            open_incidents = self._open_incidents()
            for message in owed:
                done += self._tell(message, open_incidents, now)
        for change in owed_usergroup_changes(
            schedules, config.usergroups, self.oncall_log(), now, reads.unreachable
        ):
            done += self._sync_usergroup(change, now)
        return done

    def _open_incidents(self) -> list[IncidentState]:
        heads = self.store.heads(open_only=True, limit=MAX_OPEN_INCIDENTS)
        return [self.state_of(head.number) for head in sorted(heads, key=lambda h: h.number)]

    def _tell(self, message: HandoffMessage, open_incidents: list[IncidentState], now: datetime) -> int:
        assert self.oncall_slack is not None
        named, private = inherited(open_incidents, handoff_destination(message))
        handoff = message.handoff
        view: dict[str, Any] = {
            "schedule": handoff.schedule,
            "users": list(handoff.users),
            "since": _utc_text(handoff.shift_start),
            "until": _utc_text(handoff.shift_end),
            "direct": message.direct,
            "incidents": [
                {
                    "key": s.key,
                    "title": s.facts.title,
                    "severity": s.facts.severity,
                    "channel_id": s.slack.channel_id,
                }
                for s in named
            ],
            "private": private,
        }
        try:
            self.oncall_slack.tell(message.to, self.messages.oncall_handoff(view))
        except Exception as exc:  # Slack down, slow or limiting: still owed, tried next heartbeat
            log.warning("on-call: could not tell %s about %s (%s); retried", message.to, handoff.key, exc)
            return 0
        key, to = handoff.key, message.to

        def sent(log_: OnCallLog) -> list[OnCallPayload]:
            return [] if (key, to) in log_.sent else [HandoffSent(key, to)]

        self.append_oncall(sent, BOT_ACTOR, now)
        return 1

    def _sync_usergroup(self, change: UsergroupChange, now: datetime) -> int:
        assert self.oncall_slack is not None
        try:
            self.oncall_slack.set_usergroup(change.usergroup, change.users, change.enable)
        except Exception as exc:  # Slack down, slow or limiting: still owed, tried next heartbeat
            log.warning("on-call: could not update user group %s (%s); retried", change.usergroup, exc)
            return 0

        def synced(log_: OnCallLog) -> list[OnCallPayload]:
            return [UsergroupSynced(change.schedule, change.usergroup, change.users)]

        self.append_oncall(synced, BOT_ACTOR, now)
        return 1
