"""Decisions: given an incident's state, a command and `now`, which events happen and what to say."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.core import events as ev
from bot.core.commands import Command, usage_for
from bot.core.errors import UserError
from bot.core.events import NewEvent
from bot.core.policy import Policy
from bot.core.replies import Reply, reply
from bot.core.state import IncidentState


class TransitionRefused(UserError):
    """The command is well-formed but makes no sense for the incident as it stands."""


class NotAllowed(UserError):
    """The person may not do this to this incident."""


@dataclass(frozen=True)
class Decision:
    events: list[NewEvent] = field(default_factory=list)
    reply: Reply | None = None


def decide_declare(
    command: Command,
    actor: str,
    now: datetime,
    policy: Policy,
    origin_channel: str | None,
    *,
    commander: str | None = None,
    impact: str | None = None,
    private: bool = False,
    source: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> list[NewEvent]:
    """`extra` holds more IncidentDeclared fields (alert intake: service, impact start, alert)."""
    severity = command.severity or policy.default_severity
    level = policy.severity(severity)
    declared = ev.IncidentDeclared(
        title=command.text,
        severity=severity,
        commander=actor if commander is None else commander,
        responders=tuple(sorted(set(level.responders))),
        origin_channel=origin_channel,
        impact=impact or None,
        private=private,
        source=source,
    )
    return [NewEvent(actor, now, replace(declared, **(extra or {})))]


def decide(
    state: IncidentState,
    command: Command,
    actor: str,
    now: datetime,
    policy: Policy,
    extra: Mapping[str, Any] | None = None,
) -> Decision:
    """Decide a command that changes an existing incident.

    `extra` carries fields a modal adds (impact, root cause, ...) and `source`, the id of the Slack
    delivery (a view or an event) that asked: the same source is never applied twice.
    """
    handler = HANDLERS.get(command.verb)
    if handler is None:
        raise ValueError(f"{command.verb!r} is not a command that changes an incident")
    extra = {k: v for k, v in (extra or {}).items() if v not in (None, "")}
    if extra.get("source") in state.sources:
        return Decision(reply=reply("already_applied", key=state.key))
    decision = handler(state, command, actor, now, policy)
    if not extra:
        return decision
    events = [NewEvent(e.actor, e.at, replace(e.payload, **extra)) for e in decision.events]
    return Decision(events, decision.reply)


def decide_pin(
    state: IncidentState,
    message: ev.MessagePinned,
    actor: str,
    now: datetime,
) -> list[NewEvent]:
    """📌 on a channel message puts it on the timeline, with its own time, author and text."""
    if message.source in state.sources or message.message_ts in state.pins:
        return []
    return [NewEvent(actor, now, message)]


def decide_unpin(
    state: IncidentState, message_ts: str, actor: str, now: datetime, source: str
) -> list[NewEvent]:
    if source in state.sources or message_ts not in state.pins:
        return []
    return [NewEvent(actor, now, ev.MessageUnpinned(message_ts=message_ts, source=source))]


def check_may_close(state: IncidentState, actor: str, verb: str, policy: Policy) -> None:
    if policy.resolve_by == "commander" and state.commander and actor != state.commander:
        raise NotAllowed(reply("only_the_commander", key=state.key, commander=state.commander, verb=verb))


Handler = Callable[[IncidentState, Command, str, datetime, Policy], Decision]


def _refuse_if_resolved(state: IncidentState, verb: str) -> None:
    if state.is_resolved:
        raise TransitionRefused(
            reply("resolved_takes_nothing", key=state.key, verb=verb), usage=usage_for(verb)
        )


def _ack(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    if state.facts.acknowledged_by is not None:
        first = reply(
            "already_acknowledged",
            key=state.key,
            user=state.facts.acknowledged_by,
            at=state.facts.acknowledged_at,
        )
        return Decision(reply=first)
    _refuse_if_resolved(state, command.verb)
    return Decision([NewEvent(actor, now, ev.IncidentAcknowledged())], reply("acknowledged", key=state.key))


def _update(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    _refuse_if_resolved(state, command.verb)
    shown = command.status or state.facts.status
    update = ev.StatusUpdated(message=command.text, status=shown, previous_status=state.facts.status)
    return Decision([NewEvent(actor, now, update)], reply("update_posted", key=state.key, status=shown))


def _severity(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    _refuse_if_resolved(state, command.verb)
    to = command.severity or ""
    if to == state.facts.severity:
        raise TransitionRefused(
            reply("severity_unchanged", key=state.key, severity=to), usage=usage_for(command.verb)
        )
    level = policy.severity(to)
    change = ev.SeverityChanged(
        previous_severity=state.facts.severity,
        to=to,
        reason=command.text,
        responders=tuple(sorted(level.responders)),
    )
    return Decision(
        [NewEvent(actor, now, change)],
        reply("severity_changed", key=state.key, severity=to, previous=state.facts.severity),
    )


def _role(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    _refuse_if_resolved(state, command.verb)
    role, user = command.role or "", command.user or ""
    if state.facts.roles.get(role) == user:
        raise TransitionRefused(
            reply("role_unchanged", key=state.key, user=user, role=role), usage=usage_for(command.verb)
        )
    assigned = ev.RoleAssigned(role=role, user=user, previous=state.facts.roles.get(role))
    return Decision(
        [NewEvent(actor, now, assigned)], reply("role_assigned", key=state.key, user=user, role=role)
    )


def _note(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    # Notes stay open after resolve: the postmortem keeps collecting facts.
    return Decision([NewEvent(actor, now, ev.NoteAdded(text=command.text))], reply("noted", key=state.key))


def _mitigate(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    _refuse_if_resolved(state, command.verb)
    if state.facts.status == "mitigated":
        raise TransitionRefused(reply("already_mitigated", key=state.key), usage=usage_for(command.verb))
    return Decision(
        [NewEvent(actor, now, ev.IncidentMitigated(note=command.text))],
        reply("mitigated", key=state.key),
    )


def _resolve(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    check_may_close(state, actor, "resolve", policy)
    if state.is_resolved:
        raise TransitionRefused(
            reply("already_resolved", key=state.key, at=state.facts.resolved_at), usage=usage_for("reopen")
        )
    return Decision(
        [NewEvent(actor, now, ev.IncidentResolved(summary=command.text))],
        reply("resolved", key=state.key),
    )


def _reopen(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    check_may_close(state, actor, "reopen", policy)
    if not state.is_resolved:
        raise TransitionRefused(
            reply("still_open", key=state.key, status=state.facts.status), usage=usage_for(command.verb)
        )
    return Decision(
        [NewEvent(actor, now, ev.IncidentReopened(reason=command.text))],
        reply("reopened", key=state.key),
    )


def _service(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    if state.facts.service == command.text:
        raise TransitionRefused(
            reply("service_unchanged", key=state.key, service=command.text), usage=usage_for(command.verb)
        )
    service_set = ev.ServiceSet(service=command.text, previous=state.facts.service)
    return Decision(
        [NewEvent(actor, now, service_set)], reply("service_set", key=state.key, service=command.text)
    )


def _postmortem(
    state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy
) -> Decision:
    if command.section:
        written = ev.PostmortemSectionWritten(section=command.section, text=command.text)
        return Decision(
            [NewEvent(actor, now, written)],
            reply("postmortem_section_saved", key=state.key, section=command.section),
        )
    version = len(state.postmortem.requests) + 1
    return Decision(
        [NewEvent(actor, now, ev.PostmortemRequested(version=version))],
        reply("postmortem_publishing", key=state.key, version=version),
    )


def _action(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    if command.sub == "add":
        n = max(state.postmortem.action_items, default=0) + 1
        added = ev.ActionItemAdded(n=n, text=command.text, owner=command.user, due=command.due)
        return Decision(
            [NewEvent(actor, now, added)], reply("action_added", n=n, owner=command.user, due=command.due)
        )
    if command.sub == "done":
        item = state.postmortem.action_items.get(command.item or 0)
        if item is None:
            raise TransitionRefused(
                reply("action_item_missing", key=state.key, item=command.item), usage=usage_for("action")
            )
        if item.done_at is not None:
            raise TransitionRefused(
                reply("action_item_already_done", item=command.item), usage=usage_for("action")
            )
        return Decision(
            [NewEvent(actor, now, ev.ActionItemDone(n=item.n))],
            reply("action_item_done", item=command.item),
        )
    raise ValueError(f"action {command.sub!r} changes nothing")


HANDLERS: dict[str, Handler] = {
    "service": _service,
    "postmortem": _postmortem,
    "action": _action,
    "ack": _ack,
    "update": _update,
    "severity": _severity,
    "role": _role,
    "note": _note,
    "mitigate": _mitigate,
    "resolve": _resolve,
    "reopen": _reopen,
}


def decide_join(state: IncidentState, actor: str, now: datetime) -> Decision:
    """Join channel on the announcement: the bot owes the person an invite (once)."""
    if actor in state.slack.in_channel or actor in state.facts.joined:
        return Decision()  # already in: nothing owed; the service tells them where the channel is
    return Decision([NewEvent(actor, now, ev.ResponderJoined(user=actor))])
