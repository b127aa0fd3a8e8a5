"""Paging: who is on call now (config, the email cache, overrides), and the pages decided from it."""

from __future__ import annotations

import logging
from datetime import datetime

from bot import logs
from bot.core.commands import Command
from bot.core.decide import Decision
from bot.core.paging import OnCallNow, decide_manual_page, decide_paging
from bot.core.state import IncidentState
from bot.service.base import ServiceBase
from bot.service.oncall import OnCallReads
from bot.store.oncall_emails import OnCallEmailStore
from bot.store.oncall_events import OnCallEventStore

log = logging.getLogger(__name__)


class Paging(ServiceBase):
    # The email -> user id cache `serve` filled at start (None: emails stay emails, so unpageable).
    oncall_emails: OnCallEmailStore | None = None

    def on_call_now(self) -> OnCallNow:
        # Overrides come from the on-call stream: whoever took a shift is the one paged.
        reads = OnCallReads.from_store(
            self.policy.oncall, self.oncall_emails, OnCallEventStore(self.store.engine)
        )
        return OnCallNow(
            schedules=reads.schedules(),
            overrides=tuple(reads.overrides),
            unreachable=frozenset(reads.unreachable),
            emails={email: user for email, user in reads.lookups.found.items() if user},
        )

    def page_if_due(self, number: int) -> IncidentState | None:
        """Record what paging owes now (the declaration asks at once; the heartbeat is the safety
        net). Returns the state when something was recorded."""
        if not self.policy.oncall.policies:
            return None
        who = self.on_call_now()
        with logs.bound(incident=number):
            return self._append_decided(
                number, lambda state: decide_paging(state, self.policy, who, self.clock())
            )

    def page_by_hand(self, state: IncidentState, command: Command, actor: str, now: datetime) -> Decision:
        return decide_manual_page(
            state, command.user, command.target, command.text, actor, now, self.on_call_now()
        )
