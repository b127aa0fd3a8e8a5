"""What the runbooks' use says after the fact: the postmortem's Runbook section, and a runbook's
communication template filled from the incident as its scheduled status update.

Pure: both are functions of the log (and, for the status update, of the values the template
computes), so the postmortem stays byte-identical. The words are in templates/ (postmortem.md.j2,
notice.mrkdwn.j2); this module only says which runbook, which step, when and how long.

Rules of the communication template (`fill_communication`):
* a `Name: value` line whose name the bot knows (`FIELDS`, compared case-insensitively, after an
  emoji or punctuation prefix that is kept) takes the incident's value;
* the indented or bulleted lines under such a line (up to a line that is itself a known field)
  are its example value, replaced with it;
* a field the values leave out (or give as None) keeps the runbook's text, example lines too;
* every other line is kept as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.events import RunbookEscalated
from bot.core.runbook import DONE, AttachedRunbook, Suggestion, attached_runbooks, suggestions
from bot.core.state import IncidentState

# What the escalation did: fired; did not, as the incident was resolved before the deadline; did
# not although it was resolved after it (the bot was not running); not yet (still open).
FIRED, RESOLVED_BEFORE, MISSED, PENDING = "fired", "resolved_before", "missed", "pending"


@dataclass(frozen=True)
class StepRow:
    number: int  # from 1
    title: str
    section: str
    outcome: str | None  # done | skipped | None: never reached
    by: str | None
    at: datetime | None
    after: timedelta | None  # since the runbook was attached


@dataclass(frozen=True)
class EscalationRow:
    target: str
    sentence: str  # as the runbook wrote it ("" when it was not kept)
    after_seconds: int
    deadline: datetime | None
    outcome: str  # FIRED | RESOLVED_BEFORE | MISSED | PENDING
    fired_at: datetime | None = None
    fired_after: timedelta | None = None  # since the runbook was attached
    users: tuple[str, ...] = ()  # the people it paged
    margin: timedelta | None = None  # RESOLVED_BEFORE / MISSED: between resolution and deadline


@dataclass(frozen=True)
class RunbookRow:
    name: str
    title: str
    matched_by: str  # annotation | alertname | service | hand
    attached_at: datetime
    attached_by: str
    steps: tuple[StepRow, ...]
    escalation: EscalationRow | None


@dataclass(frozen=True)
class RunbookSection:
    """The postmortem's Runbook section. Shown when a runbook was attached or there is something
    to suggest (a step skipped, an alert no runbook matched); otherwise the postmortem says nothing."""

    runbooks: tuple[RunbookRow, ...]
    suggestions: tuple[Suggestion, ...]  # in words: Messages.suggestion
    from_alert: bool
    alertname: str | None

    @property
    def shown(self) -> bool:
        return bool(self.runbooks or self.suggestions)


def runbook_section(state: IncidentState) -> RunbookSection:
    link = state.alert.link
    return RunbookSection(
        runbooks=tuple(_row(state, attached) for attached in attached_runbooks(state)),
        suggestions=tuple(suggestions(state)),
        from_alert=link is not None,
        alertname=link.alertname if link is not None else None,
    )


def _row(state: IncidentState, attached: AttachedRunbook) -> RunbookRow:
    event = attached.event
    payload = attached.runbook
    steps = tuple(
        StepRow(
            s.number,
            s.step.title,
            s.step.section,
            s.outcome,
            s.by,
            s.at,
            s.at - event.at if s.at is not None else None,
        )
        for s in attached.steps
    )
    return RunbookRow(
        payload.name,
        payload.title,
        payload.matched_by,
        event.at,
        event.actor,
        steps,
        _escalation(state, attached),
    )


def _escalation(state: IncidentState, attached: AttachedRunbook) -> EscalationRow | None:
    rule = attached.runbook.escalation
    if rule is None:
        return None
    deadline = attached.runbook.escalate_at
    row = EscalationRow(rule.target, rule.sentence, rule.after_seconds, deadline, PENDING)
    fired = attached.escalated
    if fired is not None:
        assert isinstance(fired.payload, RunbookEscalated)
        return replace(
            row,
            outcome=FIRED,
            fired_at=fired.at,
            fired_after=fired.at - attached.event.at,
            users=fired.payload.users,
        )
    resolved_at = state.facts.resolved_at
    if not state.is_resolved or resolved_at is None or deadline is None:
        return row
    if resolved_at <= deadline:
        return replace(row, outcome=RESOLVED_BEFORE, margin=deadline - resolved_at)
    return replace(row, outcome=MISSED, margin=resolved_at - deadline)


# The communication template as the status update ------------------------------------------------


@dataclass(frozen=True)
class Communication:
    """The communication template a status update fills: the latest attached runbook's that has
    one, and the titles of its steps done by then (in the runbook's order)."""

    name: str
    template: str
    done: tuple[str, ...]


def communication_for(state: IncidentState, before_seq: int | None = None) -> Communication | None:
    """The template for a status update recorded as event `before_seq` (None: now): runbooks
    attached and steps ticked before it only, so a late re-render says what the update said."""

    def earlier(seq: int) -> bool:
        return before_seq is None or seq < before_seq

    chosen = None
    for attached in attached_runbooks(state):
        if attached.runbook.communication is not None and earlier(attached.event.seq):
            chosen = attached
    if chosen is None or chosen.runbook.communication is None:
        return None
    done = []
    for step in chosen.steps:
        check = state.runbooks.checks.get((chosen.name.casefold(), step.number))
        if step.outcome == DONE and check is not None and earlier(check.seq):
            done.append(step.step.title)
    return Communication(chosen.name, chosen.runbook.communication, tuple(done))


FIELDS = ("incident", "status", "severity", "impact", "started", "last update", "actions", "next update")

# `🚨 Incident: text`, `**Last Update:** text`, `*Status*: text`: a prefix without letters, the
# name (words of letters), closing emphasis, the colon, emphasis after it, then the value.
_FIELD = re.compile(
    r"^(?P<head>[^\w\n]*?(?P<name>[^\W\d_]+(?:[ \t]+[^\W\d_]+)*)[*_]*[ \t]*:[*_]*)[ \t]*(?P<value>.*)$"
)
# A field's example value: lines under it that are indented or list items.
_EXAMPLE = re.compile(r"^(?:[ \t]+\S|[ \t]*(?:[-*•+]|\d+[.)])[ \t])")
_BULLET = re.compile(r"^[ \t]*[-*•+][ \t]+")


def field_key(name: str) -> str:
    """`Last  Update` -> `last update`: how field names compare."""
    return " ".join(name.split()).casefold()


def fill_communication(template: str, values: Mapping[str, str | Sequence[str] | None]) -> str:
    """The template with each known field's line (and its example lines) filled from `values`
    (by field name, any case; a list is written as list items under the field's line)."""
    known = {field_key(k): v for k, v in values.items() if v is not None}
    lines = template.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _FIELD.match(lines[i])
        key = field_key(match["name"]) if match else ""
        if match is None or key not in FIELDS:
            out.append(lines[i])
            i += 1
            continue
        end = i + 1
        while end < len(lines) and _EXAMPLE.match(lines[end]) and not _is_field(lines[end]):
            end += 1
        value = known.get(key)
        if value is None:
            out.extend(lines[i:end])
        else:
            out.extend(_filled(match["head"], value, lines[i + 1 : end]))
        i = end
    return "\n".join(out)


def _is_field(line: str) -> bool:
    match = _FIELD.match(line)
    return match is not None and field_key(match["name"]) in FIELDS


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _filled(head: str, value: str | Sequence[str], examples: Sequence[str]) -> list[str]:
    if isinstance(value, str):
        return [f"{head} {_one_line(value)}".rstrip()]
    bullet = next((m.group(0) for line in examples if (m := _BULLET.match(line))), "- ")
    return [head, *(bullet + _one_line(item) for item in value)]
