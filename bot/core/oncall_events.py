"""The on-call log: overrides, handoffs and user group syncs as typed events, and what they decide.

On-call facts belong to no incident, so they have their own append-only stream (one sequence for
the whole workspace). Replaying it gives the overrides in force, the handoffs already noticed and
announced, and what each Slack user group was last set to. The heartbeat decides from it, the
schedules and `now` which handoff is new (one per schedule and shift start, keyed, so two
processes or a restart never notice it twice) and which Slack work is still owed.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from bot.core import audience, oncall
from bot.core.audience import Destination, may_reach
from bot.core.oncall import OnCallSchedule, Override, local_instant, parse_clock, parse_duration
from bot.core.state import IncidentState


@dataclass(frozen=True)
class OnCallPayload:
    TYPE: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.TYPE = cls.__name__


@dataclass(frozen=True)
class OverrideAdded(OnCallPayload):
    """`user` holds `schedule` (its name) from `start` to `end`; `override_id` is the event's seq."""

    override_id: int
    schedule: str
    user: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class OverrideRemoved(OnCallPayload):
    override_id: int


@dataclass(frozen=True)
class HandoffNoticed(OnCallPayload):
    """A shift of `schedule` began at `shift_start` (held by `users` until `shift_end`, None: open)."""

    schedule: str
    users: tuple[str, ...]
    shift_start: datetime
    shift_end: datetime | None
    key: str


@dataclass(frozen=True)
class HandoffSent(OnCallPayload):
    """The handoff `key` was told to `to` (a user id: their DM; a channel)."""

    key: str
    to: str


@dataclass(frozen=True)
class UsergroupSynced(OnCallPayload):
    """Slack user group `usergroup` now holds `users` (empty: disabled, Slack refuses an empty group)."""

    schedule: str
    usergroup: str
    users: tuple[str, ...]


@dataclass(frozen=True)
class BudgetExhaustedNoticed(OnCallPayload):
    """The SLO `slo` (its slug) had spent its error budget at this event's time, as Prometheus said;
    `key` is unique, and one is noticed per SLO per window (this stream is the workspace's log)."""

    key: str
    slo: str
    name: str
    service: str
    window: str
    budget_left_percent: float


@dataclass(frozen=True)
class BudgetExhaustedSent(OnCallPayload):
    """The exhausted budget `key` was told in the channel `to`."""

    key: str
    to: str


PAYLOAD_TYPES: tuple[type[OnCallPayload], ...] = (
    OverrideAdded,
    OverrideRemoved,
    HandoffNoticed,
    HandoffSent,
    UsergroupSynced,
    BudgetExhaustedNoticed,
    BudgetExhaustedSent,
)
# Payloads whose `key` is unique in the stream (recorded once however many processes decide them).
KEYED_TYPES: tuple[type[OnCallPayload], ...] = (HandoffNoticed, BudgetExhaustedNoticed)
BY_NAME = {cls.TYPE: cls for cls in PAYLOAD_TYPES}


@dataclass(frozen=True)
class OnCallEvent:
    seq: int
    actor: str
    at: datetime
    payload: OnCallPayload

    @property
    def type(self) -> str:
        return self.payload.TYPE


def to_json(payload: OnCallPayload) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(payload):
        value = getattr(payload, f.name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def from_json(type_name: str, data: Mapping[str, Any]) -> OnCallPayload:
    cls = BY_NAME.get(type_name)
    if cls is None:
        raise ValueError(f"unknown on-call event type {type_name!r}")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        value = data.get(f.name)
        hint = hints[f.name]
        if value is None:
            kwargs[f.name] = None
        elif datetime in _members(hint):
            kwargs[f.name] = datetime.fromisoformat(value)
        elif typing.get_origin(hint) is tuple:
            kwargs[f.name] = tuple(value)
        else:
            kwargs[f.name] = value
    return cls(**kwargs)


def _members(hint: Any) -> tuple[Any, ...]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)


# --- replay -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverrideRecord:
    override_id: int
    override: Override
    by: str
    at: datetime


@dataclass
class OnCallLog:
    last_seq: int = 0
    overrides: dict[int, OverrideRecord] = field(default_factory=dict)  # in force (not removed)
    removed: set[int] = field(default_factory=set)
    handoffs: dict[str, OnCallEvent] = field(default_factory=dict)  # key -> HandoffNoticed event
    sent: set[tuple[str, str]] = field(default_factory=set)
    usergroups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group -> users last set
    budget_notices: dict[str, OnCallEvent] = field(default_factory=dict)  # key -> BudgetExhaustedNoticed
    budget_sent: set[str] = field(default_factory=set)

    def apply(self, event: OnCallEvent) -> None:
        self.last_seq = event.seq
        match event.payload:
            case OverrideAdded() as added:
                override = Override(added.schedule, added.user, added.start, added.end)
                self.overrides[added.override_id] = OverrideRecord(
                    added.override_id, override, event.actor, event.at
                )
            case OverrideRemoved(override_id=gone):
                self.overrides.pop(gone, None)
                self.removed.add(gone)
            case HandoffNoticed(key=key):
                self.handoffs.setdefault(key, event)
            case HandoffSent(key=key, to=to):
                self.sent.add((key, to))
            case UsergroupSynced(usergroup=group, users=users):
                self.usergroups[group] = users
            case BudgetExhaustedNoticed(key=key):
                self.budget_notices.setdefault(key, event)
            case BudgetExhaustedSent(key=key):
                self.budget_sent.add(key)

    def last_budget_notices(self) -> dict[str, datetime]:
        """When each SLO's exhausted budget was last noticed, by slug."""
        out: dict[str, datetime] = {}
        for event in self.budget_notices.values():
            assert isinstance(event.payload, BudgetExhaustedNoticed)
            out[event.payload.slo] = max(event.at, out.get(event.payload.slo, event.at))
        return out

    def owed_budget_notices(self) -> list[BudgetExhaustedNoticed]:
        found = [e.payload for e in self.budget_notices.values()]
        return [p for p in found if isinstance(p, BudgetExhaustedNoticed) and p.key not in self.budget_sent]

    def active_overrides(self) -> tuple[Override, ...]:
        return tuple(record.override for record in self.overrides.values())

    def overrides_of(self, schedule: OnCallSchedule, after: datetime) -> list[OverrideRecord]:
        """The schedule's overrides that have not ended by `after`, earliest first."""
        return sorted(
            (
                r
                for r in self.overrides.values()
                if oncall.slug_for(r.override.schedule) == schedule.slug and r.override.end > after
            ),
            key=lambda r: (r.override.start, r.override_id),
        )

    def handoffs_of(self, schedule: OnCallSchedule) -> list[HandoffNoticed]:
        found = [e.payload for e in self.handoffs.values() if isinstance(e.payload, HandoffNoticed)]
        return [h for h in found if oncall.slug_for(h.schedule) == schedule.slug]


def replay(events: Iterable[OnCallEvent]) -> OnCallLog:
    log = OnCallLog()
    for event in events:
        log.apply(event)
    return log


# --- decisions ---------------------------------------------------------------------------------------


def handoff_key(schedule: OnCallSchedule, shift_start: datetime) -> str:
    return f"{schedule.slug}@{shift_start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def decide_handoffs(
    schedules: Iterable[OnCallSchedule],
    log: OnCallLog,
    now: datetime,
    unreachable: Collection[str] = (),
) -> list[HandoffNoticed]:
    """A handoff for each schedule whose current shift (after layers and overrides) has not been
    noticed yet. Only the current shift: after downtime the shifts missed meanwhile are not
    announced one by one, the one in force is, once."""
    overrides = log.active_overrides()
    out = []
    for schedule in schedules:
        held = oncall.on_call(schedule, overrides, now, unreachable)
        if not held.users or held.since is None:
            continue
        key = handoff_key(schedule, held.since)
        if key not in log.handoffs:
            out.append(HandoffNoticed(schedule.name, held.users, held.since, held.until, key))
    return out


@dataclass(frozen=True)
class HandoffMessage:
    """Owed: tell `to` (a user id for their DM, or a channel) about the handoff `handoff`."""

    handoff: HandoffNoticed
    to: str
    direct: bool


def owed_handoff_messages(log: OnCallLog, handoff_channel: str | None) -> list[HandoffMessage]:
    """The incoming people's DMs and the handoff channel's message, for each schedule's latest
    handoff only (one superseded before it was told is old news). A user written as an email that
    Slack never resolved has no DM to reach."""
    latest: dict[str, HandoffNoticed] = {}
    for event in sorted(log.handoffs.values(), key=lambda e: e.seq):
        assert isinstance(event.payload, HandoffNoticed)
        latest[oncall.slug_for(event.payload.schedule)] = event.payload
    owed = []
    for handoff in latest.values():
        for user in handoff.users:
            if not _is_email(user) and (handoff.key, user) not in log.sent:
                owed.append(HandoffMessage(handoff, user, direct=True))
        if handoff_channel and (handoff.key, handoff_channel) not in log.sent:
            owed.append(HandoffMessage(handoff, handoff_channel, direct=False))
    return owed


@dataclass(frozen=True)
class UsergroupChange:
    schedule: str
    usergroup: str
    users: tuple[str, ...]  # empty: disable the group
    enable: bool  # the group was empty (disabled) before: enable it first


def owed_usergroup_changes(
    schedules: Iterable[OnCallSchedule],
    usergroups: Mapping[str, str],
    log: OnCallLog,
    now: datetime,
    unreachable: Collection[str] = (),
) -> list[UsergroupChange]:
    """Each schedule's user group (schedule name -> group id) whose members differ from who is on
    call now. A group never synced is synced once whatever it holds."""
    wanted_by_slug = {oncall.slug_for(name): group for name, group in usergroups.items()}
    overrides = log.active_overrides()
    out = []
    for schedule in schedules:
        group = wanted_by_slug.get(schedule.slug)
        if group is None:
            continue
        users = tuple(
            sorted(u for u in oncall.on_call(schedule, overrides, now, unreachable).users if not _is_email(u))
        )
        before = log.usergroups.get(group)
        if before is None or set(before) != set(users):
            out.append(UsergroupChange(schedule.name, group, users, enable=before == () and bool(users)))
    return out


def _is_email(user: str) -> bool:
    return "@" in user


def inherited(
    open_incidents: Iterable[IncidentState], destination: Destination
) -> tuple[list[IncidentState], int]:
    """The open incidents a handoff message names at `destination`, and how many private ones it
    may only count (audience's one rule: a private incident is named only to its members)."""
    named, private = [], 0
    for state in open_incidents:
        if may_reach(state, destination):
            named.append(state)
        else:
            private += 1
    return named, private


def handoff_destination(message: HandoffMessage) -> Destination:
    """A DM to the incoming person; the handoff channel is shared, like the announcement channel."""
    if message.direct:
        return audience.direct_message(message.to)
    return audience.announcement(message.to)


# --- reading what a person typed ------------------------------------------------------------------------

_UNTIL = re.compile(r"^until\s+(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})$", re.IGNORECASE)


def override_end(spec: str, now: datetime, zone: ZoneInfo) -> datetime:
    """`2h` (a duration from now) or `until 2026-12-02 09:00` (wall time in `zone`) -> a UTC instant
    after `now`. ValueError with a message fit to show."""
    text = " ".join(spec.split())
    match = _UNTIL.match(text)
    if match:
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:
            raise ValueError(f"{match.group(1)!r} is not a date like 2026-12-02") from None
        end = local_instant(day, parse_clock(match.group(2)), zone)
    elif text.lower().startswith("until"):
        raise ValueError(f"{text!r}: give the end as `until 2026-12-02 09:00`")
    else:
        end = now + parse_duration(text)
    if end <= now:
        raise ValueError(f"{text!r} is in the past")
    if end - now > timedelta(days=366):
        raise ValueError(f"{text!r} is more than a year away")
    return end.astimezone(UTC)
