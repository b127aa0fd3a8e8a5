"""Decisions about runbooks: attaching one by hand, ticking or skipping a step, and adding an action
item the runbooks' use suggests. Each has one effect, however often it is asked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.core import events as ev
from bot.core.decide import Decision, TransitionRefused
from bot.core.errors import UserError
from bot.core.events import NewEvent
from bot.core.replies import reply
from bot.core.runbook import HAND, OUTCOMES, RunbookLibrary, Suggestion, find_attached, suggestions
from bot.core.state import IncidentState


def decide_attach(
    state: IncidentState, library: RunbookLibrary, name: str, actor: str, now: datetime
) -> Decision:
    """`/incident runbook <name>`: the runbook copied into the log (once per incident)."""
    if state.is_resolved:
        raise TransitionRefused(reply("resolved_takes_nothing", key=state.key, verb="runbook"))
    runbook = library.find(name)
    if runbook is None:
        if not library.runbooks:
            raise UserError(reply("runbooks_none"))
        raise UserError(reply("runbook_unknown", name=name, choices=library.names))
    if runbook.key in state.runbooks.attached:
        return Decision(reply=reply("runbook_already_attached", key=state.key, name=runbook.name))
    attached = runbook.attached(HAND, now)
    answer = reply("runbook_attached", key=state.key, name=runbook.name, steps=len(runbook.steps))
    return Decision([NewEvent(actor, now, attached)], answer)


def decide_check(
    state: IncidentState,
    name: str,
    step: int,
    outcome: str,
    actor: str,
    now: datetime,
    source: str | None = None,
) -> Decision:
    """Done or Skip on a checklist step: the first press counts; any later one (the same person
    again, or someone else at the same moment) is told who settled it and when."""
    if outcome not in OUTCOMES:
        raise ValueError(f"{outcome!r} is not a step outcome")
    attached = find_attached(state, name)
    if attached is None:
        raise UserError(reply("runbook_not_attached", key=state.key, name=name))
    if not 1 <= step <= len(attached.steps):
        raise UserError(reply("runbook_step_missing", name=attached.name, step=step))
    settled = attached.steps[step - 1]
    if settled.outcome is not None:
        return Decision(
            reply=reply(
                "runbook_step_already",
                name=attached.name,
                step=step,
                outcome=settled.outcome,
                user=settled.by,
                at=settled.at,
            )
        )
    if state.is_resolved:
        raise TransitionRefused(reply("resolved_takes_nothing", key=state.key, verb="runbook"))
    checked = ev.RunbookStepChecked(
        name=attached.name, step=step, outcome=outcome, title=settled.step.title, source=source
    )
    answer = reply("runbook_step_checked", key=state.key, name=attached.name, step=step, outcome=outcome)
    return Decision([NewEvent(actor, now, checked)], answer)


def decide_add_suggestion(
    state: IncidentState, index: int, words: Callable[[Suggestion], str], actor: str, now: datetime
) -> Decision:
    """The summary's "Add action item" on a suggestion (by its place in the list, `words` giving
    its text as the templates say it): added once."""
    offered = suggestions(state)
    if not 0 <= index < len(offered):
        raise UserError(reply("suggestion_gone", key=state.key))
    text = words(offered[index])
    if any(item.text == text for item in state.postmortem.action_items.values()):
        return Decision(reply=reply("suggestion_already_added", key=state.key))
    n = max(state.postmortem.action_items, default=0) + 1
    added = ev.ActionItemAdded(n=n, text=text)
    return Decision([NewEvent(actor, now, added)], reply("action_added", n=n, owner=None, due=None))
