"""Decisions: given an incident's state, a command and `now`, which events happen and what to say."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.core import events as ev
from bot.core.commands import Command, usage_for
from bot.core.events import NewEvent
from bot.core.policy import Policy
from bot.core.state import IncidentState
from bot.errors import UserError


class TransitionRefused(UserError):
    """The command is well-formed but makes no sense for the incident as it stands."""


class NotAllowed(UserError):
    """The person may not do this to this incident."""


@dataclass(frozen=True)
class Decision:
    events: list[NewEvent] = field(default_factory=list)
    reply: str = ""


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
    extra: dict[str, object] | None = None,
) -> list[NewEvent]:
    severity = command.severity or policy.default_severity
    level = policy.severity(severity)
    data: dict[str, object] = {
        "title": command.text,
        "severity": severity,
        "commander": actor if commander is None else commander,
        "responders": sorted(set(level.responders)),
        "origin_channel": origin_channel,
    }
    if impact:
        data["impact"] = impact
    if private:
        data["private"] = True
    if source:
        data["source"] = source
    data.update(extra or {})
    return [NewEvent(ev.INCIDENT_DECLARED, actor, now, data)]


def decide(
    state: IncidentState,
    command: Command,
    actor: str,
    now: datetime,
    policy: Policy,
    extra: dict[str, object] | None = None,
) -> Decision:
    """Decide a command that changes an existing incident.

    `extra` carries fields a modal adds (impact, root cause, ...) and `source`, the id of the Slack
    delivery (a view or an event) that asked: the same source is never applied twice.
    """
    handler = _HANDLERS.get(command.verb)
    if handler is None:
        raise ValueError(f"{command.verb!r} is not a command that changes an incident")
    extra = {k: v for k, v in (extra or {}).items() if v not in (None, "")}
    if extra.get("source") in state.sources:
        return Decision(reply=f"That was already applied to {state.key}.")
    decision = handler(state, command, actor, now, policy)
    if not extra:
        return decision
    events = [NewEvent(e.type, e.actor, e.at, {**e.data, **extra}) for e in decision.events]
    return Decision(events, decision.reply)


def decide_pin(
    state: IncidentState,
    message: dict[str, str],
    actor: str,
    now: datetime,
    source: str,
) -> list[NewEvent]:
    """📌 on a channel message puts it on the timeline, with its own time, author and text."""
    if source in state.sources or message["message_ts"] in state.pins:
        return []
    return [NewEvent(ev.MESSAGE_PINNED, actor, now, {**message, "source": source})]


def decide_unpin(
    state: IncidentState, message_ts: str, actor: str, now: datetime, source: str
) -> list[NewEvent]:
    if source in state.sources or message_ts not in state.pins:
        return []
    return [NewEvent(ev.MESSAGE_UNPINNED, actor, now, {"message_ts": message_ts, "source": source})]


def check_may_close(state: IncidentState, actor: str, verb: str, policy: Policy) -> None:
    if policy.resolve_by == "commander" and state.commander and actor != state.commander:
        raise NotAllowed(
            f"Only the commander of {state.key}, <@{state.commander}>, can {verb} it. "
            f"Ask them, or take the role with `/incident role {state.key} commander @you`."
        )


def _refuse_if_resolved(state: IncidentState, verb: str) -> None:
    if state.is_resolved:
        raise TransitionRefused(
            f"{state.key} is resolved, so it can't take `{verb}`. "
            f"Use `/incident reopen {state.key} <reason>` if it came back.",
            usage=usage_for(verb),
        )


def _ack(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    if state.acknowledged_by is not None:
        at = state.acknowledged_at.strftime("%Y-%m-%d %H:%M UTC") if state.acknowledged_at else "?"
        return Decision(reply=f"{state.key} was already acknowledged by <@{state.acknowledged_by}> at {at}.")
    _refuse_if_resolved(state, command.verb)
    return Decision(
        [NewEvent(ev.INCIDENT_ACKNOWLEDGED, actor, now)],
        f"You acknowledged {state.key}.",
    )


def _update(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    _refuse_if_resolved(state, command.verb)
    data = {"message": command.text, "status": command.status or state.status, "from": state.status}
    shown = command.status or state.status
    return Decision(
        [NewEvent(ev.STATUS_UPDATED, actor, now, data)], f"Update posted to {state.key} ({shown})."
    )


def _severity(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    _refuse_if_resolved(state, command.verb)
    to = command.severity or ""
    if to == state.severity:
        raise TransitionRefused(f"{state.key} is already {to.upper()}.", usage=usage_for(command.verb))
    level = policy.severity(to)
    data = {"from": state.severity, "to": to, "reason": command.text, "responders": sorted(level.responders)}
    return Decision(
        [NewEvent(ev.SEVERITY_CHANGED, actor, now, data)],
        f"{state.key} is now {to.upper()} (was {state.severity.upper()}).",
    )


def _role(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    _refuse_if_resolved(state, command.verb)
    role, user = command.role or "", command.user or ""
    if state.roles.get(role) == user:
        raise TransitionRefused(f"<@{user}> is already {role} of {state.key}.", usage=usage_for(command.verb))
    data = {"role": role, "user": user, "previous": state.roles.get(role)}
    return Decision(
        [NewEvent(ev.ROLE_ASSIGNED, actor, now, data)], f"<@{user}> is now {role} of {state.key}."
    )


def _note(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    # Notes stay open after resolve: the postmortem keeps collecting facts.
    return Decision([NewEvent(ev.NOTE_ADDED, actor, now, {"text": command.text})], f"Noted on {state.key}.")


def _mitigate(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    _refuse_if_resolved(state, command.verb)
    if state.status == "mitigated":
        raise TransitionRefused(
            f"{state.key} is already mitigated. Post progress with `/incident update`, "
            "or resolve it when it's fixed.",
            usage=usage_for(command.verb),
        )
    return Decision(
        [NewEvent(ev.INCIDENT_MITIGATED, actor, now, {"note": command.text})],
        f"{state.key} is mitigated.",
    )


def _resolve(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    check_may_close(state, actor, "resolve", policy)
    if state.is_resolved:
        at = state.resolved_at.strftime("%Y-%m-%d %H:%M UTC") if state.resolved_at else "?"
        raise TransitionRefused(f"{state.key} was already resolved at {at}.", usage=usage_for("reopen"))
    return Decision(
        [NewEvent(ev.INCIDENT_RESOLVED, actor, now, {"summary": command.text})],
        f"{state.key} is resolved.",
    )


def _reopen(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    check_may_close(state, actor, "reopen", policy)
    if not state.is_resolved:
        raise TransitionRefused(f"{state.key} is still open ({state.status}).", usage=usage_for(command.verb))
    return Decision(
        [NewEvent(ev.INCIDENT_REOPENED, actor, now, {"reason": command.text})],
        f"{state.key} is reopened.",
    )


def _service(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    if state.service == command.text:
        raise TransitionRefused(f"{state.key} is already on {command.text}.", usage=usage_for(command.verb))
    data = {"service": command.text, "previous": state.service}
    return Decision([NewEvent(ev.SERVICE_SET, actor, now, data)], f"{state.key} affects {command.text}.")


def _postmortem(
    state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy
) -> Decision:
    if command.section:
        data = {"section": command.section, "text": command.text}
        return Decision(
            [NewEvent(ev.POSTMORTEM_SECTION_WRITTEN, actor, now, data)],
            f"Saved the {command.section} section of the {state.key} postmortem.",
        )
    version = len(state.postmortem_requests) + 1
    reply = f"Publishing the {state.key} postmortem (version {version}) in the incident channel."
    if version > 1:
        reply += f" It supersedes version {version - 1}; the earlier file stays in the channel."
    return Decision([NewEvent(ev.POSTMORTEM_REQUESTED, actor, now, {"version": version})], reply)


def _action(state: IncidentState, command: Command, actor: str, now: datetime, policy: Policy) -> Decision:
    if command.sub == "add":
        n = max(state.action_items, default=0) + 1
        data = {"n": n, "text": command.text, "owner": command.user, "due": command.due}
        owner = f" for <@{command.user}>" if command.user else ""
        due = f", due {command.due}" if command.due else ""
        return Decision(
            [NewEvent(ev.ACTION_ITEM_ADDED, actor, now, data)], f"Action item {n} added{owner}{due}."
        )
    if command.sub == "done":
        item = state.action_items.get(command.item or 0)
        if item is None:
            raise TransitionRefused(
                f"{state.key} has no action item {command.item}.", usage=usage_for("action")
            )
        if item["done_at"] is not None:
            raise TransitionRefused(f"Action item {command.item} is already done.", usage=usage_for("action"))
        return Decision(
            [NewEvent(ev.ACTION_ITEM_DONE, actor, now, {"n": command.item})],
            f"Action item {command.item} is done.",
        )
    raise ValueError(f"action {command.sub!r} changes nothing")


_HANDLERS = {
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
