"""The postmortem as data: header, timeline rows, sections, action items and key figures.

Pure: the same log gives the same view, and so byte-identical Markdown from the template.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import events as ev
from bot.core.commands import SECTIONS
from bot.core.events import Event
from bot.core.state import IncidentState


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    who: str
    what: str  # a plain description; user text is kept as typed


@dataclass(frozen=True)
class ActionRow:
    n: int
    text: str
    owner: str | None
    due: str | None
    status: str  # open | done | overdue


@dataclass(frozen=True)
class Figures:
    time_to_acknowledge: timedelta | None
    time_to_mitigate: timedelta | None
    time_to_resolve: timedelta | None


def timeline_rows(state: IncidentState) -> list[TimelineRow]:
    rows = [TimelineRow(e.at, e.actor, describe(e)) for e in state.timeline if e.type in ev.LIFECYCLE_TYPES]
    for pin in state.pins.values():
        at = datetime.fromisoformat(pin.data["message_at"])
        rows.append(TimelineRow(at, pin.data["author"], f"📌 {pin.data['text']}"))
    return sorted(rows, key=lambda r: r.at)


def describe(event: Event) -> str:
    d = event.data
    t = event.type
    if t == ev.INCIDENT_DECLARED:
        return f"Declared {d['severity'].upper()}: {d['title']}"
    if t == ev.INCIDENT_ACKNOWLEDGED:
        return "Acknowledged"
    if t == ev.STATUS_UPDATED:
        return f"Update ({d.get('status')}): {d.get('message', '')}"
    if t == ev.SEVERITY_CHANGED:
        reason = f": {d['reason']}" if d.get("reason") else ""
        return f"Severity {d['from'].upper()} → {d['to'].upper()}{reason}"
    if t == ev.ROLE_ASSIGNED:
        return f"<@{d['user']}> is {d['role']}"
    if t == ev.ALERTS_FIRING:
        return f"More alerts fired: {'; '.join(d.get('summaries', []))}"
    if t == ev.ALERTS_RESOLVED:
        return "Alertmanager: all alerts of the group resolved"
    if t == ev.SERVICE_SET:
        return f"Service: {d['service']}"
    if t == ev.NOTE_ADDED:
        return f"Note: {d['text']}"
    if t == ev.INCIDENT_MITIGATED:
        return f"Mitigated: {d.get('note', '')}"
    if t == ev.INCIDENT_RESOLVED:
        return f"Resolved: {d.get('summary', '')}"
    if t == ev.INCIDENT_REOPENED:
        return f"Reopened: {d.get('reason', '')}"
    return t


def action_rows(state: IncidentState, today: str | None) -> list[ActionRow]:
    rows = []
    for n, item in sorted(state.action_items.items()):
        if item["done_at"] is not None:
            status = "done"
        elif today is not None and item.get("due") and item["due"] < today:
            status = "overdue"
        else:
            status = "open"
        rows.append(ActionRow(n, item["text"], item.get("owner"), item.get("due"), status))
    return rows


def figures(state: IncidentState) -> Figures:
    start = state.declared_at

    def since(at: datetime | None) -> timedelta | None:
        return at - start if at is not None else None

    return Figures(since(state.acknowledged_at), since(state.mitigated_at), since(state.resolved_at))


def sections(state: IncidentState) -> dict[str, str | None]:
    """Every section in the order teams use, None where nobody has written it yet."""
    return {name: state.sections.get(name) for name in SECTIONS}
