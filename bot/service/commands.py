"""What people do: `/incident` commands, the summary's buttons, submitted modals, Join and 📌."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot import logs
from bot.core import forms, publish
from bot.core.buttons import decide_press
from bot.core.commands import Command, parse_command
from bot.core.decide import Decision, decide, decide_declare, decide_join, decide_pin, decide_unpin
from bot.core.errors import DuplicateDelivery
from bot.core.events import Event
from bot.core.replies import reply
from bot.core.routing import Route, route
from bot.core.schedule import next_due_at
from bot.core.state import IncidentState, replay
from bot.service.base import Outcome, Viewer
from bot.service.paging import Paging
from bot.service.reads import Reads, item_rows
from bot.service.runbooks import Runbooks
from bot.service.slo_budgets import SLOBudgets
from bot.slack.naming import channel_name_for

log = logging.getLogger(__name__)


class Commands(Reads, SLOBudgets, Paging, Runbooks):
    # Slash commands -----------------------------------------------------------------------

    def handle_command(self, text: str, actor: str, channel_id: str | None) -> Outcome:
        """Run one `/incident` command; raises UserError for anything the person should fix."""
        command = parse_command(text, self.policy.severity_names)
        now = self.clock()
        routed = route(command, lambda: self.store.incident_for_channel(channel_id) if channel_id else None)
        match routed.route:
            case Route.HELP:
                return Outcome(self.messages.help())
            case Route.LIST:
                return Outcome(self.messages.incident_list(self.open_incidents(actor, channel_id), now))
            case Route.DECLARE:
                return self._declare(command, actor, now, channel_id)
            case Route.METRICS:
                since = now - timedelta(days=command.days or 30)
                return Outcome(self.messages.metrics(self.metrics(since, now)))
            case Route.ONCALL:
                return self.oncall_command(command, actor, now)
            case Route.SLO:
                return self.slo_command(command.text, now)
            case Route.MY_ACTIONS:
                items, hidden = self.open_items_of(actor, now)
                return Outcome(self.messages.action_list(items, "", mine=True, hidden=hidden))
        if routed.route is Route.RUNBOOKS:
            return self.runbook_list(routed.incident, actor, channel_id)
        number = routed.incident
        assert number is not None
        logs.bind(incident=number)
        if routed.route is Route.RUNBOOK:
            return self.attach_runbook(number, command.text, actor, channel_id)
        if routed.route is Route.CHANGE:
            changed = self._change(number, command, actor, now, viewer=(actor, channel_id))
            if command.verb == "severity":
                self._page_soon(number)  # raised to a severity that pages: level 1 now
            return changed
        if routed.route is Route.STATUSPAGE:
            return self._open_publish_modal(number, actor, channel_id)
        if routed.route is Route.PAGE:
            decision = self._decided(
                number, lambda state: self.page_by_hand(state, command, actor, now), (actor, channel_id)
            )
            return Outcome(self.messages.reply(decision.reply) if decision.reply else "", number)
        state = self.state_of(number)
        self.refuse_unless_visible(state, actor, channel_id)
        if routed.route is Route.STATUS:
            return Outcome(self.messages.status(state, now), number)
        if routed.route is Route.ACTION_LIST:
            mine = command.sub == "mine"
            items = item_rows(state, now, only_owner=actor if mine else None)
            return Outcome(self.messages.action_list(items, state.key, mine=mine), number)
        raise ValueError(f"unrouted {routed.route}")

    def _declare(
        self, command: Command, actor: str, now: datetime, channel_id: str | None, **details: Any
    ) -> Outcome:
        if not command.text:
            return Outcome("", open_view=self.messages.declare_modal(actor, channel_id))
        (declared,) = decide_declare(command, actor, now, self.policy, channel_id, **details)
        state = replay([Event.stored(declared, 0, 1)])
        try:
            event = self.store.declare(declared, next_due_at(state, self.policy), declared.payload.source)
        except DuplicateDelivery as dup:
            already = reply("already_declared", key=f"INC-{dup.incident}")
            return Outcome(self.messages.reply(already), dup.incident)
        state.number = event.incident  # the store gave it its number
        logs.bind(incident=state.number)
        self._page_soon(state.number)
        answer = reply(
            "declared",
            key=state.key,
            severity=state.facts.severity,
            title=state.facts.title,
            channel_name=channel_name_for(state.number, state.facts.title, self.policy.channel_prefix),
        )
        return Outcome(self.messages.reply(answer), state.number, after_sync=self.channel_ready_text)

    def _page_soon(self, number: int) -> None:
        """Level 1 within seconds of the declaration; if this fails, the heartbeat pages it."""
        try:
            self.page_if_due(number)
        except Exception:
            log.exception("INC-%s: could not decide paging now; the heartbeat will", number)

    def channel_ready_text(self, state: IncidentState | None) -> str:
        if state is None or state.slack.channel_id is None:
            return self.messages.reply(reply("channel_slow"))
        return self.messages.reply(reply("channel_ready", key=state.key, channel_id=state.slack.channel_id))

    def _change(
        self,
        number: int,
        command: Command,
        actor: str,
        now: datetime,
        extra: Mapping[str, Any] | None = None,
        viewer: Viewer | None = None,
        closing: str | None = None,
    ) -> Outcome:
        """`closing`: the Resolve modal's public closing message (else, for a published incident,
        the team's template `status_page_resolved.txt.j2`)."""

        def decide_on(state: IncidentState) -> Decision:
            decision = decide(state, command, actor, now, self.policy, extra)
            if command.verb == "resolve" and publish.owes_public_closing(state):
                title = publish.current_title(state)
                message = closing or self.messages.public_resolution(title)
                source = (extra or {}).get("source")
                decision = publish.with_public_closing(state, decision, message, actor, now, source)
            return decision

        decision = self._decided(number, decide_on, viewer)
        return Outcome(self.messages.reply(decision.reply) if decision.reply else "", number)

    # Buttons and modals -------------------------------------------------------------------

    def press(
        self, action: str, number: int, actor: str, value: str | None = None, channel_id: str | None = None
    ) -> Outcome:
        """A button or select on the summary (in `channel_id`): the same decisions as the slash
        commands, and the same rule for private incidents."""
        logs.bind(incident=number)
        state = self.state_of(number)
        self.refuse_unless_visible(state, actor, channel_id)
        pressed = decide_press(state, action, actor, self.policy, value)
        if pressed.command is not None:
            return self._change(number, pressed.command, actor, self.clock(), viewer=(actor, channel_id))
        match pressed.modal:
            case "publish":
                view = self.messages.publish_modal(state)
            case "mitigate":
                view = self.messages.mitigate_modal(state)
            case "resolve":
                view = self.messages.resolve_modal(state, closing=publish.owes_public_closing(state))
            case _:
                offer = publish.offers_publication(state, actor, self.policy)
                view = self.messages.update_modal(state, publish=offer)
        return Outcome("", number, open_view=view)

    def _open_publish_modal(self, number: int, actor: str, channel_id: str | None) -> Outcome:
        """`/incident statuspage`: the same modal as the summary's button, for the same people."""
        state = self.state_of(number)
        self.refuse_unless_visible(state, actor, channel_id)
        publish.check_may_publish(state, actor, self.policy)
        return Outcome("", number, open_view=self.messages.publish_modal(state))

    def submit_declare(self, form: dict[str, Any], actor: str, origin: str | None, source: str) -> Outcome:
        submitted = forms.declare_form(form, actor, self.policy)
        return self._declare(submitted.command, actor, self.clock(), origin, source=source, **submitted.extra)

    def submit_update(self, number: int, form: dict[str, Any], actor: str, source: str) -> Outcome:
        submitted = forms.update_form(number, form)
        choice = forms.update_publication(form)
        if choice is None:
            return self._submit(number, submitted, actor, source)
        now = self.clock()
        extra = {**submitted.extra, "source": source}

        def decide_on(state: IncidentState) -> Decision:
            decision = decide(state, submitted.command, actor, now, self.policy, extra)
            return publish.with_update_publication(state, decision, choice, actor, now, self.policy, source)

        self._decided(number, decide_on)
        return Outcome("", number)

    def submit_publish(self, number: int, form: dict[str, Any], actor: str, source: str) -> Outcome:
        """The publish modal: exactly the public text, status and components it was given."""
        choice = forms.publish_form(form)
        now = self.clock()
        self._decided(
            number, lambda state: publish.decide_publish(state, choice, actor, now, self.policy, source)
        )
        return Outcome("", number)

    def submit_mitigate(self, number: int, form: dict[str, Any], actor: str, source: str) -> Outcome:
        return self._submit(number, forms.mitigate_form(number, form), actor, source)

    def submit_resolve(self, number: int, form: dict[str, Any], actor: str, source: str) -> Outcome:
        submitted = forms.resolve_form(number, form, self.clock())
        closing = forms.closing_message(form, default="") or None
        extra = {**submitted.extra, "source": source}
        return self._change(number, submitted.command, actor, self.clock(), extra, closing=closing)

    def _submit(self, number: int, submitted: forms.FormCommand, actor: str, source: str) -> Outcome:
        extra = {**submitted.extra, "source": source}
        return self._change(number, submitted.command, actor, self.clock(), extra)

    # Join channel, and the timeline from the channel ----------------------------------------

    def join(self, number: int, actor: str) -> Outcome:
        """Join channel on the announcement: recorded, then the invite is owed like any other."""
        decision = self._decided(number, lambda state: decide_join(state, actor, self.clock()), (actor, None))
        if not decision.events:
            channel = self.state_of(number).slack.channel_id
            return Outcome(self.messages.reply(reply("already_joined", channel_id=channel)), number)
        return Outcome("", number, after_sync=lambda state: self._joined_text(state, actor))

    def _joined_text(self, state: IncidentState | None, actor: str) -> str:
        if state is None or actor not in state.slack.in_channel:
            return self.messages.reply(reply("join_slow"))
        return self.messages.reply(reply("joined", channel_id=state.slack.channel_id))

    def pin_reaction(self, channel_id: str, message_ts: str, actor: str, source: str) -> int | None:
        """📌 on a message in an incident channel: put it on that incident's timeline (once)."""
        number = self.store.incident_for_channel(channel_id)
        if number is None or self.slack is None:
            return None
        message = self.slack.fetch_message(channel_id, message_ts)
        if message is None:
            log.info(
                "pinned message %s in %s not found (a thread reply?); not on the timeline",
                message_ts,
                channel_id,
            )
            return None
        pinned = replace(message, source=source)
        return self._record_decided(number, lambda state, now: decide_pin(state, pinned, actor, now))

    def unpin_message(self, channel_id: str, message_ts: str, actor: str, source: str) -> int | None:
        number = self.store.incident_for_channel(channel_id)
        if number is None:
            return None
        return self._record_decided(
            number, lambda state, now: decide_unpin(state, message_ts, actor, now, source)
        )
