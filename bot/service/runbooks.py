"""Runbooks in an incident: listing and attaching them, ticking checklist steps, and adding the
action items their use suggests. Every change is one decision appended to the log."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.decide import Decision
from bot.core.runbook_decide import decide_add_suggestion, decide_attach, decide_check
from bot.core.state import IncidentState
from bot.service.base import Outcome, ServiceBase, Viewer


class Runbooks(ServiceBase):
    def runbook_list(self, number: int | None, actor: str, channel_id: str | None) -> Outcome:
        """`/incident runbook`: every runbook, and (inside an incident's channel, or with INC-N) the
        ones attached to that incident with their progress."""
        state = None
        if number is not None:
            state = self.state_of(number)
            self.refuse_unless_visible(state, actor, channel_id)
        return Outcome(self.messages.runbook_list(self.policy.runbooks, state), number)

    def attach_runbook(self, number: int, name: str, actor: str, channel_id: str | None) -> Outcome:
        now = self.clock()
        return self._runbook_decision(
            number,
            lambda state: decide_attach(state, self.policy.runbooks, name, actor, now),
            (actor, channel_id),
        )

    def check_runbook_step(
        self,
        number: int,
        name: str,
        step: int,
        outcome: str,
        actor: str,
        channel_id: str | None,
        source: str | None = None,
    ) -> Outcome:
        """Done or Skip on a checklist: recorded once; the checklist is edited by the owed work."""
        now = self.clock()
        return self._runbook_decision(
            number,
            lambda state: decide_check(state, name, step, outcome, actor, now, source),
            (actor, channel_id),
        )

    def add_suggested_action(self, number: int, index: int, actor: str, channel_id: str | None) -> Outcome:
        now = self.clock()
        return self._runbook_decision(
            number,
            lambda state: decide_add_suggestion(state, index, self.messages.suggestion, actor, now),
            (actor, channel_id),
        )

    def _runbook_decision(
        self, number: int, decide_on: Callable[[IncidentState], Decision], viewer: Viewer
    ) -> Outcome:
        decision = self._decided(number, decide_on, viewer)
        return Outcome(self.messages.reply(decision.reply) if decision.reply else "", number)
