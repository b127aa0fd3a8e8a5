"""The summary's buttons: the same rules as the slash commands, and which modal a button opens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.commands import Command
from bot.core.decide import TransitionRefused, check_may_close
from bot.core.errors import UserError
from bot.core.policy import Policy
from bot.core.publish import check_may_publish
from bot.core.replies import reply
from bot.core.state import IncidentState

Modal = Literal["update", "mitigate", "resolve", "publish"]
ACTIONS = ("ack", "update", "severity", "mitigate", "resolve", "publish")


@dataclass(frozen=True)
class Press:
    """A pressed button either runs a command (as if typed) or opens a modal."""

    command: Command | None = None
    modal: Modal | None = None


def decide_press(state: IncidentState, action: str, actor: str, policy: Policy, value: str | None) -> Press:
    if action == "ack":
        return Press(Command("ack", incident=state.number))
    if action == "severity":
        severity = (value or "").lower()
        if severity not in policy.severity_names:
            raise UserError(reply("button_not_a_severity", severity=severity))
        return Press(Command("severity", incident=state.number, severity=severity))
    if action == "publish":
        # As `/incident statuspage`: also after resolve, to correct what customers read.
        check_may_publish(state, actor, policy)
        return Press(modal="publish")
    if state.is_resolved:
        raise TransitionRefused(reply("button_already_resolved", key=state.key, action=action))
    if action == "update":
        return Press(modal="update")
    if action == "mitigate":
        if state.facts.status == "mitigated":
            raise TransitionRefused(reply("button_already_mitigated", key=state.key))
        return Press(modal="mitigate")
    if action == "resolve":
        check_may_close(state, actor, "resolve", policy)
        return Press(modal="resolve")
    raise ValueError(f"unknown action {action!r}")
