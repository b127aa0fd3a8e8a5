"""The postmortem as data: header, timeline rows, sections, action items and key figures.

Pure: the same log gives the same view, and so byte-identical Markdown from the template.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import events as ev
from bot.core.commands import SECTIONS
from bot.core.events import Event
from bot.core.runbook import format_seconds
from bot.core.state import IncidentState


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    who: str
    what: str  # a plain description; user text is kept as typed


@dataclass(frozen=True)
class PublicationRow:
    """One thing customers were told: when, by whom, exactly what."""

    at: datetime
    who: str
    status: str
    title: str
    message: str
    components: tuple[ev.ComponentStatus, ...]


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
    rows = [
        TimelineRow(e.at, e.actor, describe(e))
        for e in state.timeline
        if type(e.payload) in ev.LIFECYCLE_TYPES
        or isinstance(e.payload, ev.Paged | ev.StatusPagePublished)
        or _runbook_step_that_counted(state, e)
    ]
    for pin in state.pins.values():
        assert isinstance(pin.payload, ev.MessagePinned)
        rows.append(TimelineRow(pin.payload.message_at, pin.payload.author, f"📌 {pin.payload.text}"))
    return sorted(rows, key=lambda r: r.at)


def _runbook_step_that_counted(state: IncidentState, event: Event) -> bool:
    """A runbook event the incident's state kept: its attachment, each step's first tick and its
    escalation (a repeated tick, or a second attachment of one name, had no effect)."""
    match event.payload:
        case ev.RunbookAttached(name=name):
            kept = state.runbooks.attached.get(name.casefold())
        case ev.RunbookStepChecked(name=name, step=step):
            kept = state.runbooks.checks.get((name.casefold(), step))
        case ev.RunbookEscalated(name=name):
            kept = state.runbooks.escalated.get(name.casefold())
        case _:
            return False
    return kept is not None and kept.seq == event.seq


def describe(event: Event) -> str:  # noqa: C901 - one case per event type
    match event.payload:
        case ev.IncidentDeclared(severity=severity, title=title):
            return f"Declared {severity.upper()}: {title}"
        case ev.IncidentAcknowledged():
            return "Acknowledged"
        case ev.StatusUpdated(status=status, message=message):
            return f"Update ({status}): {message}"
        case ev.SeverityChanged(previous_severity=before, to=to, reason=reason):
            because = f": {reason}" if reason else ""
            return f"Severity {before.upper()} → {to.upper()}{because}"
        case ev.RoleAssigned(user=user, role=role):
            return f"<@{user}> is {role}"
        case ev.AlertsFiring(summaries=summaries):
            return f"More alerts fired: {'; '.join(summaries)}"
        case ev.AlertsResolved():
            return "Alertmanager: all alerts of the group resolved"
        case ev.ServiceSet(service=service):
            return f"Service: {service}"
        case ev.NoteAdded(text=text):
            return f"Note: {text}"
        case ev.IncidentMitigated(note=note):
            return f"Mitigated: {note}"
        case ev.IncidentResolved(summary=summary):
            return f"Resolved: {summary}"
        case ev.IncidentReopened(reason=reason):
            return f"Reopened: {reason}"
        case ev.Paged(level=level, round=again, users=users, targets=targets, unfilled=unfilled) as page:
            people = ", ".join(f"<@{u}>" for u in users) or "nobody"
            which = (f"Level {level}" + (f" (repeat {again})" if again else "")) if level else "By hand"
            named = f" ({', '.join(targets)})" if targets else ""
            gaps = f"; nobody on call for {', '.join(unfilled)}" if unfilled else ""
            message = f": {page.message}" if page.message else ""
            return f"{which}: paged {people}{named}{gaps}{message}"
        case ev.StatusPagePublished(status=status, public_title=title):
            return f"Published to the status page ({status}): {title}"
        case ev.RunbookAttached(name=name, title=title, matched_by=matched_by):
            how = {
                "annotation": "matched by the alert's runbook annotation",
                "alertname": "matched by the alert's name",
                "service": "matched by the alert's service label",
            }.get(matched_by, "attached by hand")
            return f"Runbook attached: {title} ({name}), {how}"
        case ev.RunbookStepChecked(name=name, step=step, outcome=outcome, title=title):
            what = f": {title}" if title else ""
            return f"Runbook {name} step {step} {outcome}{what}"
        case ev.RunbookEscalated(name=name, target=target, after_seconds=after, users=users):
            told = (
                f"; paged {', '.join(f'<@{u}>' for u in users)}" if users else " (mentioned; nobody to page)"
            )
            return f"Runbook {name}: not resolved within {format_seconds(after)}; escalated to {target}{told}"
    return event.type


def publication_rows(state: IncidentState) -> list[PublicationRow]:
    """What customers were told, when: every publication to the status page, in order."""
    rows = []
    for event in state.public.publications:
        p = event.payload
        assert isinstance(p, ev.StatusPagePublished)
        rows.append(PublicationRow(event.at, event.actor, p.status, p.public_title, p.message, p.components))
    return rows


def action_rows(state: IncidentState, today: str | None) -> list[ActionRow]:
    rows = []
    for n, item in sorted(state.postmortem.action_items.items()):
        if item.done_at is not None:
            status = "done"
        elif today is not None and item.due and item.due < today:
            status = "overdue"
        else:
            status = "open"
        rows.append(ActionRow(n, item.text, item.owner, item.due, status))
    return rows


def figures(state: IncidentState) -> Figures:
    start = state.facts.declared_at

    def since(at: datetime | None) -> timedelta | None:
        return at - start if at is not None else None

    return Figures(
        since(state.facts.acknowledged_at), since(state.facts.mitigated_at), since(state.facts.resolved_at)
    )


def sections(state: IncidentState) -> dict[str, str | None]:
    """Every section in the order teams use, None where nobody has written it yet."""
    return {name: state.postmortem.sections.get(name) for name in SECTIONS}
