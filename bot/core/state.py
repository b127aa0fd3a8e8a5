"""Incident state is a left fold over its events; nothing else is stored as truth.

The state is made of parts, each folding the events it cares about with its own `apply`:
`facts` (what people said), `cadence` (when updates are owed and which notices were decided),
`slack` (what the bot already did in Slack), `postmortem` (sections, action items, publications)
and `alert` (the Alertmanager group behind it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, TypeVar

from bot.core import events as ev
from bot.core.events import AlertLink, Event


@dataclass
class Facts:
    title: str
    severity: str
    declared_by: str
    declared_at: datetime
    status: str = "investigating"
    private: bool = False
    origin_channel: str | None = None
    responders: set[str] = field(default_factory=set)
    joined: set[str] = field(default_factory=set)  # pressed Join on the announcement
    roles: dict[str, str] = field(default_factory=dict)
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    root_cause: str | None = None
    impact_ended_at: datetime | None = None
    last_update_at: datetime | None = None
    last_update_text: str | None = None
    impact: str | None = None
    impact_started_at: datetime | None = None
    service: str | None = None

    @classmethod
    def declared(cls, event: Event, d: ev.IncidentDeclared) -> Facts:
        commander = event.actor if d.commander is None else d.commander
        return cls(
            title=d.title,
            severity=d.severity,
            declared_by=event.actor,
            declared_at=event.at,
            private=d.private,
            origin_channel=d.origin_channel,
            responders=set(d.responders),
            roles={"commander": commander} if commander else {},
            impact=d.impact,
            impact_started_at=d.impact_started_at,
            service=d.service,
        )

    TYPES: ClassVar[frozenset[type[ev.Payload]]] = frozenset(
        {
            ev.IncidentAcknowledged,
            ev.StatusUpdated,
            ev.SeverityChanged,
            ev.RoleAssigned,
            ev.ResponderJoined,
            ev.IncidentMitigated,
            ev.IncidentResolved,
            ev.IncidentReopened,
            ev.ServiceSet,
        }
    )

    def apply(self, event: Event) -> None:
        match event.payload:
            case ev.IncidentAcknowledged():
                self.acknowledged_by, self.acknowledged_at = event.actor, event.at
            case ev.StatusUpdated(status=status, message=message, impact=impact):
                self.status = status or self.status
                self.last_update_at, self.last_update_text = event.at, message
                self.impact = impact or self.impact
            case ev.SeverityChanged(to=to, responders=responders):
                self.severity = to
                self.responders |= set(responders)
            case ev.RoleAssigned(role=role, user=user):
                self.roles[role] = user
            case ev.ResponderJoined(user=user):
                self.joined.add(user)
            case ev.IncidentMitigated(note=note):
                self.status = "mitigated"
                self.mitigated_at = self.last_update_at = event.at
                self.last_update_text = note
            case ev.IncidentResolved(summary=summary, root_cause=root_cause, impact_ended_at=ended):
                self.status = "resolved"
                self.resolved_at, self.resolution = event.at, summary
                self.root_cause = root_cause or self.root_cause
                self.impact_ended_at = ended
            case ev.IncidentReopened():
                self.status = "investigating"
                self.resolved_at = self.resolution = None
            case ev.ServiceSet(service=service):
                self.service = service


@dataclass
class Cadence:
    """When the update cadence last restarted, when people last said how things stand, and the
    notices already decided (each fills a named slot, so it is never due twice)."""

    anchor_at: datetime
    last_human_update_at: datetime
    notices: list[Event] = field(default_factory=list)
    notice_keys: set[str] = field(default_factory=set)

    TYPES: ClassVar[frozenset[type[ev.Payload]]] = frozenset(
        {ev.StatusUpdated, ev.IncidentMitigated, ev.IncidentReopened, ev.SeverityChanged, ev.NoticeDue}
    )

    def apply(self, event: Event) -> None:
        match event.payload:
            case ev.StatusUpdated() | ev.IncidentMitigated() | ev.IncidentReopened():
                self._restart(event.at, human=True)
            case ev.SeverityChanged():
                self._restart(event.at, human=False)
            case ev.NoticeDue(kind=kind, key=key):
                self.notices.append(event)
                self.notice_keys.add(key)
                if kind == "status_update":
                    self._restart(event.at, human=False)

    def _restart(self, at: datetime, *, human: bool) -> None:
        self.anchor_at = max(self.anchor_at, at)
        if human:
            self.last_human_update_at = max(self.last_human_update_at, at)


@dataclass
class SlackProgress:
    channel_id: str | None = None
    channel_name: str | None = None
    chosen_name: str | None = None  # about to be created (or being adopted after a crash)
    chosen_at: datetime | None = None
    names_taken: list[str] = field(default_factory=list)
    invited: set[str] = field(default_factory=set)  # every invite tried, whatever Slack answered
    in_channel: set[str] = field(default_factory=set)  # invites Slack carried out (or found done)
    topic_set_for: int = 0
    summary_channel: str | None = None
    summary_ts: str | None = None
    summary_pinned: bool = False
    summary_rendered_for: int = 0
    announcement_channel: str | None = None
    announcement_ts: str | None = None
    posted_in_channel: set[int] = field(default_factory=set)
    posted_in_thread: set[int] = field(default_factory=set)

    TYPES: ClassVar[frozenset[type[ev.Payload]]] = frozenset(
        ev.SLACK_TYPES - {ev.SlackPostmortemPublished, ev.SlackRunbookPosted, ev.SlackRunbookUpdated}
    )

    def apply(self, event: Event) -> None:
        match event.payload:
            case ev.SlackChannelNameChosen(name=name):
                self.chosen_name, self.chosen_at = name, event.at
            case ev.SlackChannelNameTaken(name=name):
                self.names_taken.append(name)
                self.chosen_name = self.chosen_at = None
            case ev.SlackChannelCreated(channel_id=channel_id, name=name):
                self.channel_id, self.channel_name = channel_id, name
            case ev.SlackMemberInvited(user=user, result=result):
                self.invited.add(user)
                if result in ("invited", "already_in_channel"):
                    self.in_channel.add(user)
            case ev.SlackTopicSet(for_seq=for_seq):
                self.topic_set_for = for_seq
            case ev.SlackSummaryPosted(channel_id=channel_id, ts=ts, for_seq=for_seq):
                self.summary_channel, self.summary_ts = channel_id, ts
                self.summary_rendered_for = for_seq
            case ev.SlackSummaryPinned():
                self.summary_pinned = True
            case ev.SlackSummaryUpdated(for_seq=for_seq):
                self.summary_rendered_for = max(self.summary_rendered_for, for_seq)
            case ev.SlackAnnouncementPosted(channel_id=channel_id, ts=ts):
                self.announcement_channel, self.announcement_ts = channel_id, ts
            case ev.SlackChannelMessagePosted(for_seq=for_seq):
                self.posted_in_channel.add(for_seq)
            case ev.SlackThreadReplyPosted(for_seq=for_seq):
                self.posted_in_thread.add(for_seq)


@dataclass(frozen=True)
class ActionItem:
    n: int
    text: str
    owner: str | None
    due: str | None
    added_at: datetime
    added_by: str
    done_at: datetime | None = None


@dataclass
class PostmortemState:
    sections: dict[str, str] = field(default_factory=dict)
    action_items: dict[int, ActionItem] = field(default_factory=dict)
    requests: list[Event] = field(default_factory=list)
    published: dict[int, ev.SlackPostmortemPublished] = field(default_factory=dict)

    TYPES: ClassVar[frozenset[type[ev.Payload]]] = frozenset(
        ev.POSTMORTEM_TYPES | {ev.SlackPostmortemPublished}
    )

    def apply(self, event: Event) -> None:
        match event.payload:
            case ev.PostmortemSectionWritten(section=section, text=text):
                self.sections[section] = text
            case ev.ActionItemAdded(n=n, text=text, owner=owner, due=due):
                self.action_items[n] = ActionItem(n, text, owner, due, event.at, event.actor)
            case ev.ActionItemDone(n=n):
                item = self.action_items[n]
                self.action_items[n] = ActionItem(
                    item.n, item.text, item.owner, item.due, item.added_at, item.added_by, event.at
                )
            case ev.PostmortemRequested():
                self.requests.append(event)
            case ev.SlackPostmortemPublished(for_seq=for_seq) as published:
                self.published[for_seq] = published


@dataclass
class AlertState:
    """The Alertmanager group that declared the incident, and which of its alerts are known."""

    link: AlertLink | None = None
    fingerprints: set[str] = field(default_factory=set)
    resolved: bool = False  # the group's resolution was noted; new alerts clear it
    # SLO burn-rate alerts among them, one per SLO and window pair (the first report of each)
    slo_burns: dict[tuple[str, str, str], ev.SLOBurn] = field(default_factory=dict)

    TYPES: ClassVar[frozenset[type[ev.Payload]]] = frozenset({ev.AlertsFiring, ev.AlertsResolved})

    def note_burns(self, burns: tuple[ev.SLOBurn, ...]) -> None:
        for burn in burns:
            self.slo_burns.setdefault((burn.slo, burn.long, burn.short), burn)

    def apply(self, event: Event) -> None:
        match event.payload:
            case ev.AlertsFiring(fingerprints=fingerprints, slo_burns=burns):
                self.fingerprints |= set(fingerprints)
                self.note_burns(burns)
                self.resolved = False
            case ev.AlertsResolved():
                self.resolved = True


@dataclass
class PagingProgress:
    """The escalation policy in force (a copy, from when paging started), who was paged at which
    level, and which of those pages reached their DM and PagerDuty."""

    started: Event | None = None
    pages: list[Event] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    paged: set[str] = field(default_factory=set)  # everyone paged: they become members
    dm_sent: set[tuple[int, str]] = field(default_factory=set)  # (page seq, user)
    pagerduty_done: set[tuple[int, str]] = field(default_factory=set)  # (seq, action), answered
    pagerduty_triggered: bool = False  # PagerDuty accepted a trigger: its alert is open
    pagerduty_retry: dict[tuple[int, str], ev.PagerDutyDeferred] = field(default_factory=dict)

    TYPES: ClassVar[frozenset[type[ev.Payload]]] = frozenset(ev.PAGING_TYPES | ev.PAGE_DELIVERY_TYPES)

    @property
    def policy(self) -> ev.PagingStarted | None:
        return None if self.started is None else _as(self.started.payload, ev.PagingStarted)

    @property
    def escalation(self) -> list[Event]:
        """The policy's pages (not those by hand), in order."""
        return [p for p in self.pages if _as(p.payload, ev.Paged).level > 0]

    def apply(self, event: Event) -> None:
        match event.payload:
            case ev.PagingStarted():
                self.started = event
            case ev.Paged(key=key, users=users):
                self.pages.append(event)
                self.keys.add(key)
                self.paged |= set(users)
            case ev.SlackPageSent(for_seq=for_seq, user=user):
                self.dm_sent.add((for_seq, user))
            case ev.PagerDutyNotified(for_seq=for_seq, action=action, result=result):
                self.pagerduty_done.add((for_seq, action))
                self.pagerduty_triggered |= action == "trigger" and result == "sent"
                self.pagerduty_retry.pop((for_seq, action), None)
            case ev.PagerDutyDeferred(for_seq=for_seq, action=action) as deferred:
                self.pagerduty_retry[(for_seq, action)] = deferred


_T = TypeVar("_T")


def _as(payload: ev.Payload, kind: type[_T]) -> _T:
    assert isinstance(payload, kind)
    return payload


@dataclass
class PublicState:
    """What was published to the status page, in order; nothing else about the incident is public."""

    publications: list[Event] = field(default_factory=list)

    TYPES: ClassVar[frozenset[type[ev.Payload]]] = ev.PUBLICATION_TYPES

    @property
    def published(self) -> bool:
        return bool(self.publications)

    @property
    def latest(self) -> ev.StatusPagePublished | None:
        return _as(self.publications[-1].payload, ev.StatusPagePublished) if self.publications else None

    def apply(self, event: Event) -> None:
        if isinstance(event.payload, ev.StatusPagePublished):
            self.publications.append(event)


@dataclass
class StatuspageProgress:
    """What Statuspage.io answered for each publication: the incident it created, which
    publications are done (taken or refused), the ones waiting to retry, and the marker of a create
    that may have reached Statuspage without its answer being recorded."""

    incident_id: str | None = None
    done: set[int] = field(default_factory=set)  # publication seqs Statuspage answered for good
    retry: dict[int, ev.StatuspageDeferred] = field(default_factory=dict)
    create_marker: str | None = None  # recorded before a create; cleared by its answer

    TYPES: ClassVar[frozenset[type[ev.Payload]]] = ev.STATUSPAGE_TYPES

    def apply(self, event: Event) -> None:
        match event.payload:
            case ev.StatuspageCreateAttempted(marker=marker):
                self.create_marker = marker
            case ev.StatuspageIncidentCreated(for_seq=for_seq, incident_id=incident_id):
                self.incident_id, self.create_marker = incident_id, None
                self._done(for_seq)
            case ev.StatuspageUpdated(for_seq=for_seq):
                self._done(for_seq)
            case ev.StatuspageRejected(for_seq=for_seq):
                if self.incident_id is None:
                    self.create_marker = None  # refused: nothing was created
                self._done(for_seq)
            case ev.StatuspageDeferred(for_seq=for_seq) as deferred:
                self.retry[for_seq] = deferred

    def _done(self, seq: int) -> None:
        self.done.add(seq)
        self.retry.pop(seq, None)


@dataclass
class RunbookProgress:
    """Runbooks attached (by name, case-folded, in order), each step's first tick, the escalations
    that fired, and which checklist messages were posted and show which events."""

    attached: dict[str, Event] = field(default_factory=dict)
    checks: dict[tuple[str, int], Event] = field(default_factory=dict)  # (name, step from 1)
    escalated: dict[str, Event] = field(default_factory=dict)
    posted: dict[tuple[str, int], ev.SlackRunbookPosted] = field(default_factory=dict)  # (name, part)
    rendered_for: dict[tuple[str, int], int] = field(default_factory=dict)

    TYPES: ClassVar[frozenset[type[ev.Payload]]] = ev.RUNBOOK_TYPES | {
        ev.SlackRunbookPosted,
        ev.SlackRunbookUpdated,
    }

    def apply(self, event: Event) -> None:
        match event.payload:
            case ev.RunbookAttached(name=name):
                self.attached.setdefault(name.casefold(), event)
            case ev.RunbookStepChecked(name=name, step=step):
                self.checks.setdefault((name.casefold(), step), event)
            case ev.RunbookEscalated(name=name):
                self.escalated.setdefault(name.casefold(), event)
            case ev.SlackRunbookPosted(name=name, part=part, for_seq=for_seq) as posted:
                self.posted[(name.casefold(), part)] = posted
                self.rendered_for[(name.casefold(), part)] = for_seq
            case ev.SlackRunbookUpdated(name=name, part=part, for_seq=for_seq):
                key = (name.casefold(), part)
                self.rendered_for[key] = max(self.rendered_for.get(key, 0), for_seq)


@dataclass
class IncidentState:
    number: int
    facts: Facts
    cadence: Cadence
    slack: SlackProgress = field(default_factory=SlackProgress)
    postmortem: PostmortemState = field(default_factory=PostmortemState)
    alert: AlertState = field(default_factory=AlertState)
    paging: PagingProgress = field(default_factory=PagingProgress)
    public: PublicState = field(default_factory=PublicState)
    statuspage: StatuspageProgress = field(default_factory=StatuspageProgress)
    runbooks: RunbookProgress = field(default_factory=RunbookProgress)
    last_seq: int = 0
    last_lifecycle_seq: int = 0
    topic_seq: int = 0  # the last event that changed what the channel topic shows
    timeline: list[Event] = field(default_factory=list)
    # Channel messages on the timeline (📌), by message ts; and Slack deliveries already applied.
    pins: dict[str, Event] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return f"INC-{self.number}"

    @property
    def is_resolved(self) -> bool:
        return self.facts.status == "resolved"

    @property
    def commander(self) -> str | None:
        return self.facts.roles.get("commander")

    @property
    def private(self) -> bool:
        return self.facts.private

    def event(self, seq: int) -> Event:
        """A posted event (a lifecycle step, a notice or a postmortem request) by its number."""
        for event in (*self.timeline, *self.cadence.notices, *self.postmortem.requests):
            if event.seq == seq:
                return event
        raise KeyError(seq)

    def wanted_members(self) -> set[str]:
        """Everyone who should be in the incident channel (people; not the alert intake)."""
        f = self.facts
        people = (f.declared_by, *f.responders, *f.roles.values(), *f.joined, *self.paging.paged)
        return {u for u in people if _SLACK_USER.match(u)}

    def apply(self, event: Event) -> None:
        status_before = self.facts.status
        self._note(event)
        payload = event.payload
        for name in _PARTS_FOR.get(type(payload), ()):  # each part folds only the events it reads
            getattr(self, name).apply(event)
        if type(payload) in _TOPIC_TYPES and _changes_topic(payload, status_before):
            self.topic_seq = event.seq
        if isinstance(payload, ev.MessagePinned):
            self.pins[payload.message_ts] = event
        elif isinstance(payload, ev.MessageUnpinned):
            self.pins.pop(payload.message_ts, None)

    def _note(self, event: Event) -> None:
        self.last_seq = event.seq
        kind = type(event.payload)
        if kind in ev.TIMELINE_TYPES:
            self.timeline.append(event)
            if kind in ev.LIFECYCLE_TYPES:
                self.last_lifecycle_seq = event.seq
        if event.payload.source:
            self.sources.add(event.payload.source)


_PARTS = (
    ("facts", Facts.TYPES),
    ("cadence", Cadence.TYPES),
    ("slack", SlackProgress.TYPES),
    ("postmortem", PostmortemState.TYPES),
    ("alert", AlertState.TYPES),
    ("paging", PagingProgress.TYPES),
    ("public", PublicState.TYPES),
    ("statuspage", StatuspageProgress.TYPES),
    ("runbooks", RunbookProgress.TYPES),
)
# Which parts read each event type: replay looks it up once per event instead of asking each part.
_PARTS_FOR = {kind: tuple(name for name, types in _PARTS if kind in types) for kind in ev.ALL_TYPES}
_TOPIC_TYPES = frozenset(
    {
        ev.StatusUpdated,
        ev.RoleAssigned,
        ev.SeverityChanged,
        ev.IncidentMitigated,
        ev.IncidentResolved,
        ev.IncidentReopened,
    }
)


def _changes_topic(payload: ev.Payload, status_before: str) -> bool:
    """Does this event change what the channel topic shows (severity, status, commander)?"""
    match payload:
        case ev.StatusUpdated(status=status):
            return bool(status) and status != status_before
        case ev.RoleAssigned(role=role):
            return role == "commander"
        case ev.SeverityChanged() | ev.IncidentMitigated() | ev.IncidentResolved() | ev.IncidentReopened():
            return True
    return False


_SLACK_USER = re.compile(r"^[UW][A-Z0-9]+$")


class ReplayError(ValueError):
    """The log does not describe an incident (empty, or not starting with a declaration)."""


def replay(events: Iterable[Event]) -> IncidentState:
    it = iter(events)
    first = next(it, None)
    if first is None or not isinstance(first.payload, ev.IncidentDeclared):
        raise ReplayError("an incident's log must start with IncidentDeclared")
    declared = first.payload
    state = IncidentState(
        number=first.incident,
        facts=Facts.declared(first, declared),
        cadence=Cadence(anchor_at=first.at, last_human_update_at=first.at),
    )
    if declared.alert is not None:
        state.alert = AlertState(declared.alert, set(declared.alert.fingerprints))
        state.alert.note_burns(declared.alert.slo_burns)
    state._note(first)
    state.topic_seq = first.seq
    for event in it:
        state.apply(event)
    return state
