"""Which use case a parsed `/incident` command is, and which incident it is about."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.core.commands import NO_INCIDENT_VERBS, Command
from bot.core.errors import UserError
from bot.core.replies import reply


class Route(StrEnum):
    HELP = "help"
    LIST = "list"
    DECLARE = "declare"
    METRICS = "metrics"
    ONCALL = "oncall"  # who is on call, overrides: about schedules, no incident
    SLO = "slo"  # live error budgets: about SLOs, no incident
    MY_ACTIONS = "my_actions"  # `action list mine` outside an incident channel: across incidents
    STATUS = "status"
    ACTION_LIST = "action_list"  # one incident's items (`mine` inside its channel: yours only)
    CHANGE = "change"  # everything that appends to an incident's log
    PAGE = "page"  # page someone by hand (needs who is on call)
    STATUSPAGE = "statuspage"  # open the publish modal (a person chooses what goes public)
    RUNBOOKS = "runbooks"  # list the runbooks (and those attached, inside an incident's channel)
    RUNBOOK = "runbook"  # attach a runbook to the incident


@dataclass(frozen=True)
class Routed:
    route: Route
    incident: int | None = None


_NO_INCIDENT = {verb: Route(verb) for verb in NO_INCIDENT_VERBS}  # each is its own use case


def route(command: Command, channel_incident: Callable[[], int | None]) -> Routed:
    """`channel_incident()` says which incident's channel the command was typed in, if any; it is
    asked only for commands about one incident (a lookup a declaration does not need)."""
    if command.verb in _NO_INCIDENT:
        return Routed(_NO_INCIDENT[command.verb])
    in_channel = channel_incident() if command.incident is None else None
    if command.verb == "runbook" and not command.text:
        return Routed(Route.RUNBOOKS, command.incident if command.incident is not None else in_channel)
    if command.verb == "action" and command.sub == "mine" and command.incident is None and in_channel is None:
        return Routed(Route.MY_ACTIONS)
    number = command.incident if command.incident is not None else in_channel
    if number is None:
        raise UserError(reply("incident_not_named", verb=command.verb))
    if command.verb == "status":
        return Routed(Route.STATUS, number)
    if command.verb == "page":
        return Routed(Route.PAGE, number)
    if command.verb == "statuspage":
        return Routed(Route.STATUSPAGE, number)
    if command.verb == "runbook":
        return Routed(Route.RUNBOOK, number)
    if command.verb == "action" and command.sub in ("list", "mine"):
        return Routed(Route.ACTION_LIST, number)
    return Routed(Route.CHANGE, number)
