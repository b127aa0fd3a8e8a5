"""Event types of the append-only log: one frozen dataclass per type, fields named.

Lifecycle events record what people did; Slack events record which side effects already
happened, so that replaying the log tells what is still owed and nothing is done twice. The type
string stored with each event is the class name; `to_json`/`from_json` are used only at the
store's edge, and read every log written since the first release.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class Payload:
    """What happened. `source` is the Slack delivery (a submitted view, an event) that caused it,
    so the same delivery is never applied twice."""

    source: str | None = None

    TYPE: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.TYPE = cls.__name__


def _json_name(name: str) -> dict[str, str]:
    return {"json": name}


# What people did ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SLOBurn:
    """An SLO burn-rate alert (`SLOErrorBudgetBurn`) as it fired: which SLO, which window pair, and
    what the pair's firing proves. The alert fires when the error ratio over both windows exceeds
    the pair's burn rate times the error budget, so the burn was at least `burn_rate` and, at a
    steady request rate, at least `budget_spent` of the window's error budget went in `long`."""

    slo: str  # the `slo` label: the SLO's slug
    name: str  # its name in the config; the slug where the config does not know it
    long: str  # the `long` and `short` labels, as written (scaled with the SLO's window)
    short: str
    severity: str = ""
    window: str | None = None  # the SLO's window, e.g. 30d (None: not in the config)
    objective: float | None = None  # e.g. 0.999
    burn_rate: float | None = None  # the pair's threshold (None: no pair of the table matches)
    budget_spent: float | None = None  # a share of the error budget: burn_rate x long / window


@dataclass(frozen=True)
class AlertLink:
    """The Alertmanager group an incident was declared from, and the links its alerts carry."""

    group: str
    fingerprints: tuple[str, ...] = ()
    runbook: str | None = None
    dashboard: str | None = None
    slo_burns: tuple[SLOBurn, ...] = ()
    alertname: str | None = None  # the group's alert name (for "no runbook matched ...")


@dataclass(frozen=True)
class IncidentDeclared(Payload):
    title: str
    severity: str
    commander: str | None = None  # None in logs from before roles: the declarer commands
    responders: tuple[str, ...] = ()
    origin_channel: str | None = None
    impact: str | None = None
    private: bool = False
    service: str | None = None
    impact_started_at: datetime | None = None
    alert: AlertLink | None = None


@dataclass(frozen=True)
class IncidentAcknowledged(Payload):
    pass


@dataclass(frozen=True)
class StatusUpdated(Payload):
    message: str
    status: str
    previous_status: str = field(default="", metadata=_json_name("from"))
    impact: str | None = None


@dataclass(frozen=True)
class SeverityChanged(Payload):
    previous_severity: str = field(metadata=_json_name("from"))
    to: str
    reason: str = ""
    responders: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoleAssigned(Payload):
    role: str
    user: str
    previous: str | None = None


@dataclass(frozen=True)
class NoteAdded(Payload):
    text: str


@dataclass(frozen=True)
class IncidentMitigated(Payload):
    note: str = ""


@dataclass(frozen=True)
class IncidentResolved(Payload):
    summary: str = ""
    root_cause: str | None = None
    impact_ended_at: datetime | None = None


@dataclass(frozen=True)
class IncidentReopened(Payload):
    reason: str = ""


@dataclass(frozen=True)
class ServiceSet(Payload):
    service: str
    previous: str | None = None


@dataclass(frozen=True)
class AlertsFiring(Payload):
    fingerprints: tuple[str, ...]
    summaries: tuple[str, ...] = ()
    slo_burns: tuple[SLOBurn, ...] = ()


@dataclass(frozen=True)
class AlertsResolved(Payload):
    group: str


@dataclass(frozen=True)
class ResponderJoined(Payload):
    """Someone pressed Join on the announcement: the bot owes them an invite."""

    user: str


# The postmortem ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostmortemSectionWritten(Payload):
    section: str
    text: str


@dataclass(frozen=True)
class ActionItemAdded(Payload):
    n: int
    text: str
    owner: str | None = None
    due: str | None = None  # YYYY-MM-DD


@dataclass(frozen=True)
class ActionItemDone(Payload):
    n: int


@dataclass(frozen=True)
class PostmortemRequested(Payload):
    version: int


# The timeline from the channel (📌) -----------------------------------------------------------


@dataclass(frozen=True)
class MessagePinned(Payload):
    message_ts: str
    author: str
    text: str
    message_at: datetime


@dataclass(frozen=True)
class MessageUnpinned(Payload):
    message_ts: str


# What the heartbeat decided to say unprompted; `key` names the slot it fills ----------------


@dataclass(frozen=True)
class FollowUpItem:
    n: int
    text: str
    owner: str | None = None
    due: str | None = None


@dataclass(frozen=True)
class NoticeDue(Payload):
    kind: str
    key: str
    due_at: datetime
    superseded: bool = False
    status: str = ""
    severity: str = ""
    last_update_at: datetime | None = None
    last_update_text: str | None = None
    next_update_at: datetime | None = None  # status_update
    mention: tuple[str, ...] = ()  # unacked_reannounce
    n: int | None = None  # action_due, action_overdue
    text: str | None = None
    owner: str | None = None
    due: str | None = None
    items: tuple[FollowUpItem, ...] = ()  # action_follow_up


# Paging and escalation (bot.core.paging) --------------------------------------------------------


@dataclass(frozen=True)
class PageTarget:
    """One target of a level as the policy named it: a schedule (by name) or a user (id or email)."""

    kind: str  # "schedule" | "user"
    value: str
    written: str = ""


@dataclass(frozen=True)
class PagingLevel:
    targets: tuple[PageTarget, ...]
    timeout_seconds: int


@dataclass(frozen=True)
class PagingStarted(Payload):
    """The escalation policy in force when paging started, copied: a config change later does not
    rewrite a running escalation."""

    policy: str
    levels: tuple[PagingLevel, ...]
    repeat: int = 0


@dataclass(frozen=True)
class Paged(Payload):
    """People paged: a level of the policy (`level` from 1, `round` from 0), or by hand (`level` 0).
    `key` names the slot, so a level is never paged twice. `unfilled`: targets nobody holds now."""

    key: str
    level: int = 0
    round: int = 0
    users: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    unfilled: tuple[str, ...] = ()
    message: str = ""


# Runbooks (bot.core.runbook): the runbook copied into the log, and each step ticked -----------


@dataclass(frozen=True)
class RunbookStep:
    """One step of a runbook: its heading (or list item), its prose, its commands (each code block
    exactly as written, whole lines) and its links. `section`: Investigation or Mitigation."""

    title: str
    section: str = "Investigation"
    text: str = ""
    commands: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    line: int = 0  # where it starts in its file, from 1


@dataclass(frozen=True)
class RunbookEscalation:
    """The runbook's escalation rule as written ("If not resolved in 20 minutes, escalate to
    @platform-leads"): after how long, and to whom (a mention, a schedule's name, a handle)."""

    after_seconds: int
    target: str
    sentence: str = ""
    line: int = 0


@dataclass(frozen=True)
class RunbookAttached(Payload):
    """A runbook attached to the incident, copied: a later edit of its file does not rewrite a
    running checklist. `escalate_at`: the deadline its escalation rule sets (from this event's
    time). `matched_by`: annotation | alertname | service | hand."""

    name: str
    title: str
    steps: tuple[RunbookStep, ...] = ()
    symptoms: str = ""
    impact: str = ""
    communication: str | None = None
    escalation: RunbookEscalation | None = None
    escalate_at: datetime | None = None
    matched_by: str = "hand"


@dataclass(frozen=True)
class RunbookStepChecked(Payload):
    """Step `step` (from 1) of runbook `name` was done or skipped (`outcome`), by the event's actor."""

    name: str
    step: int
    outcome: str  # done | skipped
    title: str = ""


@dataclass(frozen=True)
class RunbookEscalated(Payload):
    """The runbook's escalation deadline passed with the incident unresolved: `target` was told.
    `users`: people it reached (paged); none when it was only mentioned."""

    name: str
    key: str
    target: str
    after_seconds: int
    users: tuple[str, ...] = ()
    paged: bool = False


@dataclass(frozen=True)
class SlackRunbookPosted(Payload):
    """Part `part` (from 0) of runbook `name`'s checklist was posted at `ts`, showing the ticks up to
    event `for_seq`."""

    name: str
    part: int
    channel_id: str
    ts: str
    for_seq: int


@dataclass(frozen=True)
class SlackRunbookUpdated(Payload):
    name: str
    part: int
    for_seq: int


# What the bot already did in Slack ------------------------------------------------------------


@dataclass(frozen=True)
class SlackChannelNameChosen(Payload):
    """The name the bot is about to create the channel with, recorded before the call: if the
    process dies after Slack created it, the next try finds and adopts that channel."""

    name: str


@dataclass(frozen=True)
class SlackChannelNameTaken(Payload):
    """Slack answered name_taken and the channel of that name is not one the bot just made."""

    name: str


@dataclass(frozen=True)
class SlackChannelCreated(Payload):
    channel_id: str
    name: str


@dataclass(frozen=True)
class SlackMemberInvited(Payload):
    user: str
    result: str = "invited"  # or Slack's final answer: already_in_channel, user_not_found, ...


@dataclass(frozen=True)
class SlackTopicSet(Payload):
    for_seq: int
    topic: str = ""


@dataclass(frozen=True)
class SlackSummaryPosted(Payload):
    channel_id: str
    ts: str
    for_seq: int


@dataclass(frozen=True)
class SlackSummaryPinned(Payload):
    ts: str


@dataclass(frozen=True)
class SlackSummaryUpdated(Payload):
    for_seq: int


@dataclass(frozen=True)
class SlackAnnouncementPosted(Payload):
    channel_id: str
    ts: str


@dataclass(frozen=True)
class SlackChannelMessagePosted(Payload):
    for_seq: int
    ts: str


@dataclass(frozen=True)
class SlackThreadReplyPosted(Payload):
    for_seq: int
    ts: str


@dataclass(frozen=True)
class SlackPostmortemPublished(Payload):
    for_seq: int
    version: int
    file_id: str
    sha256: str


@dataclass(frozen=True)
class SlackPageSent(Payload):
    """The page's direct message reached `user` (in the bot's DM `channel_id`)."""

    for_seq: int
    user: str
    channel_id: str = ""
    ts: str = ""


@dataclass(frozen=True)
class PagerDutyNotified(Payload):
    """PagerDuty answered `action` (trigger for page `for_seq`, or acknowledge/resolve): `sent`, or
    `rejected` (never retried)."""

    for_seq: int
    action: str
    result: str = "sent"
    reason: str = ""


@dataclass(frozen=True)
class PagerDutyDeferred(Payload):
    """PagerDuty asked to try `action` again later: not before `retry_at` (`attempt` tries so far)."""

    for_seq: int
    action: str
    attempt: int
    retry_at: datetime
    reason: str = ""


# What customers were told -----------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentStatus:
    component: str  # our component name (status_page.components)
    status: str  # bot.core.status_page.COMPONENT_STATUSES


@dataclass(frozen=True)
class StatusPagePublished(Payload):
    """Exactly what went public, chosen by the event's actor at its `at`: the public title (never
    the internal one), the message customers read, the public status (investigating, identified,
    monitoring, resolved) and every affected component's status as it stands after this one."""

    public_title: str
    message: str
    status: str
    components: tuple[ComponentStatus, ...] = ()


# Statuspage.io's mirror of each publication (owed work, like PagerDuty's) ----------------------


@dataclass(frozen=True)
class StatuspageCreateAttempted(Payload):
    """About to create the Statuspage incident for publication `for_seq`, tagged with `marker` (in
    its metadata, which only the Manage API shows): a retry looks for the marker before creating."""

    for_seq: int
    marker: str


@dataclass(frozen=True)
class StatuspageIncidentCreated(Payload):
    """Statuspage created `incident_id` from publication `for_seq` (or a retry found the one an
    earlier try created, by its marker: `found`)."""

    for_seq: int
    incident_id: str
    found: bool = False


@dataclass(frozen=True)
class StatuspageUpdated(Payload):
    """Statuspage took publication `for_seq` as an update of the incident it created."""

    for_seq: int


@dataclass(frozen=True)
class StatuspageDeferred(Payload):
    """Statuspage asked to try publication `for_seq` again later (420, 429, 5xx, no answer): not
    before `retry_at` (`attempt` tries so far)."""

    for_seq: int
    attempt: int
    retry_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class StatuspageRejected(Payload):
    """Statuspage refused publication `for_seq` (`status` 0: it could not be sent as built); never
    retried."""

    for_seq: int
    status: int
    reason: str = ""


# Families of types ------------------------------------------------------------------------------

EventType = type[Payload]

LIFECYCLE_TYPES: frozenset[EventType] = frozenset(
    {
        IncidentDeclared,
        IncidentAcknowledged,
        StatusUpdated,
        SeverityChanged,
        RoleAssigned,
        NoteAdded,
        IncidentMitigated,
        IncidentResolved,
        IncidentReopened,
        ServiceSet,
        AlertsFiring,
        AlertsResolved,
    }
)
POSTMORTEM_TYPES: frozenset[EventType] = frozenset(
    {PostmortemSectionWritten, ActionItemAdded, ActionItemDone, PostmortemRequested}
)
# Pages are on the timeline (posted in the channel and thread, in the postmortem).
PAGING_TYPES: frozenset[EventType] = frozenset({PagingStarted, Paged})
TIMELINE_TYPES: frozenset[EventType] = LIFECYCLE_TYPES | {MessagePinned, MessageUnpinned, Paged}
# Publications are on the timeline too (posted in the channel and thread, in the postmortem).
TIMELINE_TYPES |= {StatusPagePublished}
# Runbooks: attaching one, each step ticked or skipped, and its escalation are on the timeline.
RUNBOOK_TYPES: frozenset[EventType] = frozenset({RunbookAttached, RunbookStepChecked, RunbookEscalated})
TIMELINE_TYPES |= RUNBOOK_TYPES
# What the bot did outside Slack's channels for paging: DMs delivered, PagerDuty answers.
PAGE_DELIVERY_TYPES: frozenset[EventType] = frozenset({SlackPageSent, PagerDutyNotified, PagerDutyDeferred})
# What went public (the status page, and Statuspage.io's mirror of it).
PUBLICATION_TYPES: frozenset[EventType] = frozenset({StatusPagePublished})
# What Statuspage.io answered for each publication.
STATUSPAGE_TYPES: frozenset[EventType] = frozenset(
    {
        StatuspageCreateAttempted,
        StatuspageIncidentCreated,
        StatuspageUpdated,
        StatuspageDeferred,
        StatuspageRejected,
    }
)
SLACK_TYPES: frozenset[EventType] = frozenset(
    {
        SlackChannelNameChosen,
        SlackChannelNameTaken,
        SlackChannelCreated,
        SlackMemberInvited,
        SlackTopicSet,
        SlackSummaryPosted,
        SlackSummaryPinned,
        SlackSummaryUpdated,
        SlackAnnouncementPosted,
        SlackChannelMessagePosted,
        SlackThreadReplyPosted,
        SlackPostmortemPublished,
        SlackRunbookPosted,
        SlackRunbookUpdated,
    }
)
ALL_TYPES: frozenset[EventType] = (
    TIMELINE_TYPES
    | SLACK_TYPES
    | POSTMORTEM_TYPES
    | PAGING_TYPES
    | PAGE_DELIVERY_TYPES
    | PUBLICATION_TYPES
    | STATUSPAGE_TYPES
    | {NoticeDue, ResponderJoined}
)
# All that the metrics read: what people did, action items, and which postmortems were published.
METRICS_TYPES = LIFECYCLE_TYPES | PAGING_TYPES | {ActionItemAdded, ActionItemDone, SlackPostmortemPublished}
# All that due-work rules read: what people did and what the bot already decided to say.
SCHEDULE_TYPES = LIFECYCLE_TYPES | PAGING_TYPES | {NoticeDue, ActionItemAdded, ActionItemDone}
SCHEDULE_TYPES |= {RunbookAttached, RunbookEscalated}
# All that says who is in an incident and whether it is private: its declaration, roles,
# responders added by a severity change, its channel, who joined and who was invited.
MEMBERSHIP_TYPES: frozenset[EventType] = frozenset(
    {
        IncidentDeclared,
        RoleAssigned,
        SeverityChanged,
        SlackChannelCreated,
        ResponderJoined,
        SlackMemberInvited,
        Paged,  # people paged become members, even of a private incident
    }
)

BY_NAME: Mapping[str, EventType] = {cls.TYPE: cls for cls in ALL_TYPES}


# The envelope ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewEvent:
    """An event decided but not yet stored: the store gives it its sequence number."""

    actor: str
    at: datetime
    payload: Payload

    def __post_init__(self) -> None:
        if type(self.payload) not in ALL_TYPES:
            raise ValueError(f"unknown event type {type(self.payload).__name__!r}")
        if self.at.tzinfo is None:
            raise ValueError("event times must be timezone-aware")

    @property
    def type(self) -> str:
        return self.payload.TYPE


@dataclass(frozen=True)
class Event:
    """A stored event: immutable, numbered within its incident from 1."""

    incident: int
    seq: int
    actor: str
    at: datetime
    payload: Payload

    @property
    def type(self) -> str:
        return self.payload.TYPE

    @classmethod
    def stored(cls, new: NewEvent, incident: int, seq: int) -> Event:
        return cls(incident, seq, new.actor, new.at, new.payload)


# JSON at the store's edge ---------------------------------------------------------------------


class UnknownEvent(ValueError):
    """A stored event whose type or fields this release does not know."""


def to_json(payload: Payload) -> dict[str, Any]:
    """The payload as JSON-ready data; fields that are None are left out."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(payload):
        value = getattr(payload, f.name)
        if value is None:
            continue
        out[f.metadata.get("json", f.name)] = _dump(value)
    return out


def fields_of(payload: Payload) -> dict[str, Any]:
    """The payload's fields by their stored names, with Python values (templates read these)."""
    return {f.metadata.get("json", f.name): getattr(payload, f.name) for f in dataclasses.fields(payload)}


def _dump(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_dump(v) for v in value]
    return value


def from_json(type_name: str, data: Mapping[str, Any]) -> Payload:
    """The payload stored as `type_name` with `data`; raises UnknownEvent for what it cannot read."""
    cls = BY_NAME.get(type_name)
    if cls is None:
        raise UnknownEvent(f"unknown event type {type_name!r}")
    payload: Payload = _build(cls, data)
    return payload


Converter = Callable[[Any], Any]


def _build(cls: type, data: Mapping[str, Any]) -> Any:
    plan = _plan(cls)
    kwargs = {}
    for key, value in data.items():
        step = plan.get(key)
        if step is None:
            unknown = sorted(set(data) - set(plan))
            raise UnknownEvent(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
        name, convert = step
        kwargs[name] = None if value is None else convert(value)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise UnknownEvent(f"{cls.__name__}: {exc}") from exc


@functools.cache
def _plan(cls: type) -> dict[str, tuple[str, Converter]]:
    """For each stored name of a dataclass: its field and how to read its JSON value (worked out
    once per type from the annotations: a log of 100,000 events reads them 100,000 times)."""
    hints = _hints(cls)
    return {
        f.metadata.get("json", f.name): (f.name, _converter(hints[f.name])) for f in dataclasses.fields(cls)
    }


def _converter(hint: Any) -> Converter:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return _converter(args[0]) if len(args) == 1 else _same
    if hint is datetime:
        return _datetime
    if typing.get_origin(hint) is tuple:
        item = _converter(args[0])
        return lambda value: tuple(item(v) for v in value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return lambda value: _build(hint, value)
    return _same


def _same(value: Any) -> Any:
    return value


def _datetime(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)
