"""View-models of runbooks: one checklist message (a part of an attached runbook), and the list
`/incident runbook` shows."""

from __future__ import annotations

from typing import Any

from bot.core.runbook import (
    AttachedRunbook,
    RunbookLibrary,
    attached_runbooks,
    checklist_parts,
    command_chunks,
    find_attached,
    format_seconds,
)
from bot.core.state import IncidentState


def checklist_view(state: IncidentState, name: str, part: int) -> dict[str, Any]:
    """What message `part` of runbook `name`'s checklist shows: the runbook's head (first message
    only), then its steps, each with its text, links, commands (in pieces that fit a block, split
    between whole lines) and either its controls or who settled it and when."""
    attached = find_attached(state, name)
    if attached is None:
        raise KeyError(name)
    runbook = attached.runbook
    parts = checklist_parts(runbook.steps)
    steps = []
    for i in parts[part]:
        s = attached.steps[i]
        steps.append(
            {
                "number": s.number,
                "title": s.step.title,
                "section": s.step.section,
                "text": s.step.text,
                "links": list(s.step.links),
                "chunks": [chunk for command in s.step.commands for chunk in command_chunks(command)],
                "outcome": s.outcome,
                "by": s.by,
                "at": s.at,
                "value": f"{state.number}:{s.number}:{runbook.name}",
            }
        )
    return {
        "incident": {"key": state.key, "number": state.number, "is_resolved": state.is_resolved},
        "name": runbook.name,
        "title": runbook.title,
        "part": part,
        "parts": len(parts),
        "symptoms": runbook.symptoms,
        "impact": runbook.impact,
        "communication": runbook.communication,
        "escalation": _escalation(attached),
        "steps": steps,
        "done": sum(1 for s in attached.steps if s.outcome is not None),
        "total": len(attached.steps),
    }


def _escalation(attached: AttachedRunbook) -> dict[str, Any] | None:
    runbook = attached.runbook
    rule = runbook.escalation
    if rule is None:
        return None
    fired = attached.escalated
    return {
        "sentence": rule.sentence or f"escalate to {rule.target} after {format_seconds(rule.after_seconds)}",
        "target": rule.target,
        "after": format_seconds(rule.after_seconds),
        "deadline": runbook.escalate_at,
        "fired_at": fired.at if fired is not None else None,
    }


def runbook_list_view(library: RunbookLibrary, state: IncidentState | None) -> dict[str, Any]:
    attached = {}
    if state is not None:
        for a in attached_runbooks(state):
            attached[a.name.casefold()] = sum(1 for s in a.steps if s.outcome is not None)
    return {
        "incident": state.key if state is not None else None,
        "runbooks": [
            {
                "name": r.name,
                "title": r.title,
                "steps": len(r.steps),
                "escalation": (
                    f"escalates to {r.escalation.target} after {format_seconds(r.escalation.after_seconds)}"
                    if r.escalation
                    else None
                ),
                "attached": r.key in attached,
                "settled": attached.get(r.key, 0),
            }
            for r in library.runbooks
        ],
        "others": [
            {"name": a.name, "title": a.runbook.title}
            for a in (attached_runbooks(state) if state is not None else [])
            if library.find(a.name) is None
        ],
    }
