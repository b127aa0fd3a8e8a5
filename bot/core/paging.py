"""Paging and escalation: who is paged when, decided from the incident's log, the policy copied into
it when paging started, who is on call, and `now`.

Pure functions. The heartbeat (and the declaration, at once) records each level as a `Paged` event
whose key names its slot (`page@<level>:<round>`), so a level is paged once, whoever asks.

Rules:
* Paging starts when an incident that is neither acknowledged nor resolved has a severity that pages
  and an escalation policy (a `service`'s own policy first): at its declaration, or when its
  severity is raised to one that pages. `PagingStarted` copies the policy (levels with targets and
  timeouts, repeat) into the log. Lowering the severity does not stop a running escalation: someone
  acknowledges it, or it runs its course.
* Level 1 is due at once. A level's timeout counts from when it was paged; then the next level is
  due; after the last level the policy runs again from level 1, `repeat` times; then a notice says
  nobody answered. A level at which nobody is on call is recorded (with its targets `unfilled`) and
  the next one is due at once. A last level without a timeout waits as long as the level before it
  (`DEFAULT_TIMEOUT` when it is the only level).
* After downtime, the next level is paged once (its timeout counting from then): missed levels are
  not replayed one after another.
* An acknowledgement (from anywhere) or a resolution stops it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core import events as ev
from bot.core import oncall
from bot.core.decide import Decision, TransitionRefused
from bot.core.errors import UserError
from bot.core.events import NewEvent, PagerDutyDeferred, PageTarget, PagingLevel, PagingStarted
from bot.core.oncall import OnCallSchedule, Override
from bot.core.oncall_config import EscalationPolicy, Target
from bot.core.policy import Policy
from bot.core.replies import reply
from bot.core.state import IncidentState

EXHAUSTED = "paging_exhausted"  # the NoticeDue kind: nobody answered any level
DEFAULT_TIMEOUT = timedelta(minutes=5)
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]+$")


@dataclass(frozen=True)
class OnCallNow:
    """Who can be paged: the schedules (emails already replaced by the user ids Slack gave), the
    overrides, emails Slack does not know, and the emails it does (for user targets)."""

    schedules: tuple[OnCallSchedule, ...] = ()
    overrides: tuple[Override, ...] = ()
    unreachable: frozenset[str] = frozenset()
    emails: Mapping[str, str] = field(default_factory=dict)

    def schedule(self, name_or_slug: str) -> OnCallSchedule | None:
        wanted = oncall.slug_for(name_or_slug)
        return next((s for s in self.schedules if s.slug == wanted), None)

    def holders(self, target: PageTarget, at: datetime) -> tuple[str, ...]:
        """The Slack users `target` reaches at `at` (a schedule: whoever holds it). Someone known
        only by an email Slack has not resolved cannot be sent a DM, so is nobody."""
        if target.kind == "schedule":
            schedule = self.schedule(target.value)
            if schedule is None:
                return ()
            users = oncall.on_call(schedule, self.overrides, at, self.unreachable).users
        else:
            users = (self.emails.get(target.value, target.value),)
        return tuple(u for u in users if _SLACK_USER.match(u))


def snapshot(policy: EscalationPolicy) -> PagingStarted:
    levels = []
    for i, level in enumerate(policy.levels):
        timeout = level.timeout
        if timeout is None:
            earlier = [lv.timeout for lv in policy.levels[:i] if lv.timeout is not None]
            timeout = earlier[-1] if earlier else DEFAULT_TIMEOUT
        targets = tuple(_target(t) for t in level.targets)
        levels.append(PagingLevel(targets, int(timeout.total_seconds())))
    return PagingStarted(policy=policy.name, levels=tuple(levels), repeat=policy.repeat)


def _target(target: Target) -> PageTarget:
    return PageTarget(target.kind, target.value, target.written)


def policy_in_force(state: IncidentState, policy: Policy) -> EscalationPolicy | None:
    return policy.oncall.policy_for(state.facts.severity, state.facts.service)


def is_paging(state: IncidentState) -> bool:
    """Paging started and nobody has answered yet."""
    return (
        state.paging.started is not None
        and state.facts.acknowledged_at is None
        and not state.is_resolved
        and exhausted_key(state) not in state.cadence.notice_keys
    )


def _wants_to_start(state: IncidentState, policy: Policy) -> bool:
    return (
        state.paging.started is None
        and state.facts.acknowledged_at is None
        and not state.is_resolved
        and policy_in_force(state, policy) is not None
    )


def exhausted_key(state: IncidentState) -> str:
    started = state.paging.started
    return f"{EXHAUSTED}@{started.at.isoformat() if started else ''}"


@dataclass(frozen=True)
class _Last:
    level: int  # from 1
    round: int
    at: datetime
    answered_by_someone: bool  # someone was paged (else the next level is due at once)


@dataclass(frozen=True)
class Step:
    """What is next: page `level` (from 1) of `round`, or (`level` 0) say that nobody answered."""

    level: int
    round: int
    due_at: datetime

    @property
    def key(self) -> str:
        return f"page@{self.level}:{self.round}"


def _next(policy: PagingStarted, started_at: datetime, last: _Last | None) -> Step:
    if last is None:
        return Step(1, 0, started_at)
    wait = policy.levels[last.level - 1].timeout_seconds if last.answered_by_someone else 0
    due = last.at + timedelta(seconds=wait)
    if last.level < len(policy.levels):
        return Step(last.level + 1, last.round, due)
    if last.round < policy.repeat:
        return Step(1, last.round + 1, due)
    return Step(0, last.round, due)


def _last(state: IncidentState) -> _Last | None:
    pages = state.paging.escalation
    if not pages:
        return None
    page = pages[-1].payload
    assert isinstance(page, ev.Paged)
    return _Last(page.level, page.round, pages[-1].at, bool(page.users))


def next_step(state: IncidentState) -> Step | None:
    """The next escalation step of a running escalation (None when it is not paging)."""
    policy, started = state.paging.policy, state.paging.started
    if policy is None or started is None or not is_paging(state):
        return None
    return _next(policy, started.at, _last(state))


def paging_due_at(state: IncidentState, policy: Policy) -> datetime | None:
    """When paging next has something to do, from the log alone (the heartbeat's index)."""
    if _wants_to_start(state, policy):
        return state.facts.declared_at
    step = next_step(state)
    return step.due_at if step else None


def decide_paging(state: IncidentState, policy: Policy, who: OnCallNow, now: datetime) -> list[NewEvent]:
    """The events to record now: the policy copied in when paging starts, each level due (one after
    another only while nobody is on call at them), and the notice that nobody answered."""
    started_at, copied = (
        (state.paging.started.at, state.paging.policy) if state.paging.started else (now, None)
    )
    events: list[NewEvent] = []
    if _wants_to_start(state, policy):
        in_force = policy_in_force(state, policy)
        assert in_force is not None
        copied = snapshot(in_force)
        events.append(NewEvent("bot", now, copied))
    elif not is_paging(state):
        return []
    assert copied is not None
    last = _last(state)
    for _ in range(len(copied.levels) * (copied.repeat + 1) + 1):
        step = _next(copied, started_at, last)
        if step.due_at > now:
            break
        if step.level == 0:
            events.append(NewEvent("bot", now, _nobody_answered(state, step, started_at)))
            break
        level = copied.levels[step.level - 1]
        users: list[str] = []
        unfilled = []
        for target in level.targets:
            held = who.holders(target, now)
            users += [u for u in held if u not in users]
            if not held:
                unfilled.append(target.written or target.value)
        page = ev.Paged(
            key=step.key,
            level=step.level,
            round=step.round,
            users=tuple(users),
            targets=tuple(t.written or t.value for t in level.targets),
            unfilled=tuple(unfilled),
        )
        events.append(NewEvent("bot", now, page))
        last = _Last(step.level, step.round, now, bool(users))
    return events


def _nobody_answered(state: IncidentState, step: Step, started_at: datetime) -> ev.NoticeDue:
    paged = sorted(state.paging.paged)
    return ev.NoticeDue(
        kind=EXHAUSTED,
        key=f"{EXHAUSTED}@{started_at.isoformat()}",
        due_at=step.due_at,
        status=state.facts.status,
        severity=state.facts.severity,
        mention=tuple(paged),
        n=step.round + 1,  # how many times the policy ran
    )


# Paging by hand -------------------------------------------------------------------------------


def decide_manual_page(
    state: IncidentState,
    user: str | None,
    schedule_name: str | None,
    message: str,
    actor: str,
    now: datetime,
    who: OnCallNow,
) -> Decision:
    """`/incident page <@user | schedule> [message]`: the same DM, invite and mention as a level."""
    if state.is_resolved:
        raise TransitionRefused(reply("resolved_takes_nothing", key=state.key, verb="page"))
    users: tuple[str, ...] = (user,) if user is not None else ()
    targets: tuple[str, ...] = ()
    if user is None:
        schedule = who.schedule(schedule_name or "")
        if schedule is None:
            known = tuple(s.name for s in who.schedules)
            raise UserError(reply("page_unknown_schedule", name=schedule_name or "", choices=known))
        targets = (schedule.name,)
        users = who.holders(PageTarget("schedule", schedule.name), now)
        if not users:
            raise UserError(reply("page_nobody_on_call", name=schedule.name))
    page = ev.Paged(key=f"manual@{state.last_seq + 1}", users=users, targets=targets, message=message)
    mentions = tuple(users)
    return Decision([NewEvent(actor, now, page)], reply("paged", key=state.key, users=mentions))


# PagerDuty ------------------------------------------------------------------------------------

TRIGGER, ACKNOWLEDGE, RESOLVE = "trigger", "acknowledge", "resolve"


def pagerduty_owed(state: IncidentState) -> list[tuple[int, str]]:
    """(seq, action) still owed to PagerDuty: a trigger per page that reached someone (while nobody
    has answered), then one acknowledge or resolve for the alert those triggers opened."""
    done = state.paging.pagerduty_done
    answered = state.facts.acknowledged_at is not None or state.is_resolved
    owed: list[tuple[int, str]] = []
    for page in state.paging.pages:
        assert isinstance(page.payload, ev.Paged)
        if page.payload.users and not answered and (page.seq, TRIGGER) not in done:
            owed.append((page.seq, TRIGGER))
    if not state.paging.pagerduty_triggered:
        return owed
    if state.is_resolved:
        if (0, RESOLVE) not in done:
            owed.append((0, RESOLVE))
    elif state.facts.acknowledged_at is not None and (0, ACKNOWLEDGE) not in done:
        owed.append((0, ACKNOWLEDGE))
    return owed


def pagerduty_retry_at(state: IncidentState, seq: int, action: str) -> PagerDutyDeferred | None:
    return state.paging.pagerduty_retry.get((seq, action))
