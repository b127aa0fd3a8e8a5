"""Runbooks: which one an alert names, the checklist's messages within Slack's limits, and the
escalation deadline a runbook sets.

Pure. The Markdown files are read by `bot.runbook_files` into `Runbook`s; attaching one copies it
into the incident's log (`RunbookAttached`), so everything after that is decided from the log.

Rules:
* Matching, in order: an alert's `runbook`/`runbook_url` annotation naming a runbook (or a URL whose
  last path part names one, with or without `.md`); else the alert's name, as written or in
  kebab-case; else its `service` label. Names compare case-insensitively.
* A checklist message holds at most `MAX_BLOCKS` blocks; a long runbook is split between steps
  into several messages, and a long command block between whole lines, never inside one.
* The escalation deadline counts from when the runbook was attached. It fires once, while the
  incident is unresolved; resolving cancels it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core import events as ev
from bot.core.events import Event, NewEvent, RunbookAttached, RunbookEscalation, RunbookStep
from bot.core.state import IncidentState

MAX_BLOCKS = 50  # Slack's limit of blocks in one message
MAX_SECTION_TEXT = 3000  # Slack's limit of a section's text
CODE_FENCE = 8  # "```\n" + "\n```" around a command chunk
MAX_CHUNK = MAX_SECTION_TEXT - CODE_FENCE
HEAD_BLOCKS = 4  # header, context (symptoms, impact), communication template, escalation rule
DONE, SKIPPED = "done", "skipped"
OUTCOMES = (DONE, SKIPPED)
ANNOTATION, ALERTNAME, SERVICE, HAND = "annotation", "alertname", "service", "hand"


@dataclass(frozen=True)
class Runbook:
    """One runbook file, read: `name` is its file name without `.md` (compared case-insensitively)."""

    name: str
    title: str
    steps: tuple[RunbookStep, ...] = ()
    symptoms: str = ""
    impact: str = ""
    communication: str | None = None
    escalation: RunbookEscalation | None = None
    path: str = ""

    @property
    def key(self) -> str:
        return self.name.casefold()

    def attached(self, matched_by: str, now: datetime) -> RunbookAttached:
        escalate_at = None
        if self.escalation is not None:
            escalate_at = now + timedelta(seconds=self.escalation.after_seconds)
        return RunbookAttached(
            name=self.name,
            title=self.title,
            steps=self.steps,
            symptoms=self.symptoms,
            impact=self.impact,
            communication=self.communication,
            escalation=self.escalation,
            escalate_at=escalate_at,
            matched_by=matched_by,
        )


@dataclass(frozen=True)
class RunbookLibrary:
    """The runbooks folder, read and checked (`runbooks:` in the config); empty when there is none."""

    runbooks: tuple[Runbook, ...] = ()
    folder: str | None = None

    def find(self, name: str) -> Runbook | None:
        wanted = name.strip().casefold()
        if wanted.endswith(".md"):
            wanted = wanted[:-3]
        return next((r for r in self.runbooks if r.key == wanted), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.runbooks)


_KEBAB_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def kebab_case(name: str) -> str:
    """`HighErrorRate` -> `high-error-rate`; `high_error_rate` -> `high-error-rate`."""
    spaced = _KEBAB_BOUNDARY.sub("-", name.strip())
    return re.sub(r"[\s_]+", "-", spaced).casefold()


def _named_by(reference: str, library: RunbookLibrary) -> Runbook | None:
    """A runbook an annotation names: by its name, or the last part of a URL's path."""
    found = library.find(reference)
    if found is not None:
        return found
    path = re.sub(r"[?#].*$", "", reference.strip()).rstrip("/")
    last = path.rsplit("/", 1)[-1] if "/" in path else ""
    return library.find(last) if last else None


def match_runbook(
    library: RunbookLibrary,
    annotations: Sequence[str] = (),
    alertname: str | None = None,
    service: str | None = None,
) -> tuple[Runbook, str] | None:
    """The runbook an alert asks for, and how it was matched (annotation, alertname, service)."""
    for reference in annotations:
        found = _named_by(reference, library)
        if found is not None:
            return found, ANNOTATION
    if alertname:
        found = library.find(alertname) or library.find(kebab_case(alertname))
        if found is not None:
            return found, ALERTNAME
    if service:
        found = library.find(service)
        if found is not None:
            return found, SERVICE
    return None


# The checklist as Slack messages ------------------------------------------------------------------


def shown_length(line: str) -> int:
    """A line's length as Slack counts it: `&`, `<` and `>` are sent escaped (`&amp;` ...)."""
    return len(line) + 4 * line.count("&") + 3 * (line.count("<") + line.count(">"))


def command_chunks(command: str) -> list[str]:
    """A command block as pieces that each fit a section: split between whole lines only. A single
    line longer than a section is its own piece (the runbook check refuses such a file)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in command.split("\n"):
        extra = shown_length(line) + (1 if current else 0)
        if current and size + extra > MAX_CHUNK:
            chunks.append("\n".join(current))
            current, size = [], 0
            extra = shown_length(line)
        current.append(line)
        size += extra
    if current:
        chunks.append("\n".join(current))
    return chunks


def step_blocks(step: RunbookStep) -> int:
    """A step's blocks: its text and links, one per command chunk, and its controls (or who ticked it)."""
    return 2 + sum(len(command_chunks(c)) for c in step.commands)


def checklist_parts(steps: Sequence[RunbookStep]) -> list[tuple[int, ...]]:
    """Which steps (indexes from 0) go in each message: whole steps, in order, each message within
    MAX_BLOCKS (the first also carries the runbook's head; later ones a one-block heading)."""
    parts: list[tuple[int, ...]] = []
    current: list[int] = []
    used = HEAD_BLOCKS
    for i, step in enumerate(steps):
        need = step_blocks(step)
        if current and used + need > MAX_BLOCKS:
            parts.append(tuple(current))
            current, used = [], 1
        current.append(i)
        used += need
    if current or not parts:
        parts.append(tuple(current))
    return parts


# Ticks -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepState:
    number: int  # from 1
    step: RunbookStep
    outcome: str | None = None  # done | skipped | None (not reached)
    by: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class AttachedRunbook:
    """A runbook as the incident has it: the copy in the log, and each step's tick."""

    event: Event
    steps: tuple[StepState, ...]
    escalated: Event | None = None

    @property
    def runbook(self) -> RunbookAttached:
        assert isinstance(self.event.payload, RunbookAttached)
        return self.event.payload

    @property
    def name(self) -> str:
        return self.runbook.name


def attached_runbooks(state: IncidentState) -> list[AttachedRunbook]:
    """Every runbook attached to the incident, in order, with its steps' ticks."""
    out = []
    for key, event in state.runbooks.attached.items():
        payload = event.payload
        assert isinstance(payload, RunbookAttached)
        steps = []
        for n, step in enumerate(payload.steps, 1):
            checked = state.runbooks.checks.get((key, n))
            if checked is None:
                steps.append(StepState(n, step))
            else:
                outcome = checked.payload
                assert isinstance(outcome, ev.RunbookStepChecked)
                steps.append(StepState(n, step, outcome.outcome, checked.actor, checked.at))
        out.append(AttachedRunbook(event, tuple(steps), state.runbooks.escalated.get(key)))
    return out


def find_attached(state: IncidentState, name: str) -> AttachedRunbook | None:
    wanted = name.casefold()
    return next((r for r in attached_runbooks(state) if r.name.casefold() == wanted), None)


# Escalation --------------------------------------------------------------------------------------


def escalation_key(name: str) -> str:
    return f"runbook@{name.casefold()}"


def escalations_due_at(state: IncidentState) -> datetime | None:
    """The earliest deadline of a runbook's escalation that has not fired (None once resolved)."""
    if state.is_resolved:
        return None
    times = [
        payload.escalate_at
        for key, event in state.runbooks.attached.items()
        if isinstance(payload := event.payload, RunbookAttached)
        and payload.escalate_at is not None
        and key not in state.runbooks.escalated
    ]
    return min(times) if times else None


@dataclass(frozen=True)
class EscalationTargets:
    """How the core reads an escalation's target: schedules' holders now (`schedules`, by name or
    slug, case-insensitively), config `people` names, and user ids as mentions."""

    schedules: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    people: Mapping[str, str] = field(default_factory=dict)

    def users_for(self, target: str) -> tuple[tuple[str, ...], bool]:
        """(users it reaches, whether it names something pageable)."""
        mention = re.fullmatch(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", target.strip())
        if mention:
            return (mention.group(1),), True
        bare = target.strip().lstrip("@").strip()
        for key in (bare, bare.casefold(), kebab_case(bare), re.sub(r"[^a-z0-9]+", "-", bare.casefold())):
            if key in self.schedules:
                return self.schedules[key], True
        for name, user in self.people.items():
            if name.casefold() == bare.casefold() and re.fullmatch(r"[UW][A-Z0-9]+", user):
                return (user,), True
        return (), False


def decide_runbook_escalations(
    state: IncidentState, now: datetime, targets: EscalationTargets
) -> list[NewEvent]:
    """For each runbook whose deadline passed with the incident unresolved: its escalation, once
    (its key), and a page to the people its target names when it names anyone pageable."""
    if state.is_resolved:
        return []
    events: list[NewEvent] = []
    for key, event in state.runbooks.attached.items():
        payload = event.payload
        assert isinstance(payload, RunbookAttached)
        rule = payload.escalation
        if rule is None or payload.escalate_at is None or payload.escalate_at > now:
            continue
        if key in state.runbooks.escalated:
            continue
        users, pageable = targets.users_for(rule.target)
        escalated = ev.RunbookEscalated(
            name=payload.name,
            key=escalation_key(payload.name),
            target=rule.target,
            after_seconds=rule.after_seconds,
            users=users,
            paged=bool(users),
        )
        events.append(NewEvent("bot", now, escalated))
        if users and pageable:
            # The page says what the runbook's own sentence says.
            page = ev.Paged(
                key=escalation_key(payload.name), users=users, targets=(rule.target,), message=rule.sentence
            )
            events.append(NewEvent("bot", now, page))
    return events


def format_seconds(seconds: int) -> str:
    """20 minutes, 1 hour, 90 minutes, 45 seconds: a delay as people write it."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{seconds} second{'' if seconds == 1 else 's'}"


# The postmortem's Runbook section and its suggested action items --------------------------------


UPDATE_RUNBOOK, WRITE_RUNBOOK = "update_runbook", "write_runbook"


@dataclass(frozen=True)
class Suggestion:
    """An action item the runbooks' use suggests: update a runbook whose steps were skipped, or
    write one for an alert that no runbook matched. The words are the templates' business."""

    kind: str  # update_runbook | write_runbook
    incident: str
    runbook: str = ""
    steps: tuple[int, ...] = ()
    alertname: str = ""


def suggestions(state: IncidentState) -> list[Suggestion]:
    """Action items the runbooks' use suggests: a step skipped, or an alert no runbook matched."""
    out = []
    for attached in attached_runbooks(state):
        skipped = tuple(s.number for s in attached.steps if s.outcome == SKIPPED)
        if skipped:
            out.append(Suggestion(UPDATE_RUNBOOK, state.key, attached.name, skipped))
    link = state.alert.link
    if link is not None and not state.runbooks.attached:
        out.append(Suggestion(WRITE_RUNBOOK, state.key, alertname=link.alertname or ""))
    return out
