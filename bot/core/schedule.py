"""Due-work rules: from an incident's state and `now`, which scheduled notices are due.

Pure functions. The heartbeat records each due notice as a `NoticeDue` event whose key names
the slot it fills, so a notice already recorded is never due again, whoever asks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.events import FollowUpItem, NewEvent, NoticeDue
from bot.core.paging import EXHAUSTED, paging_due_at
from bot.core.policy import Policy
from bot.core.runbook import escalations_due_at
from bot.core.state import IncidentState

STATUS_UPDATE = "status_update"
UPDATE_REMINDER = "update_reminder"
UPDATE_ESCALATION = "update_escalation"
UNACKED = "unacked_reannounce"
POSTMORTEM_REMINDER = "postmortem_reminder"
ACTION_DUE = "action_due"
ACTION_OVERDUE = "action_overdue"
FOLLOW_UP = "action_follow_up"
NOTICE_KINDS = (
    STATUS_UPDATE,
    UPDATE_REMINDER,
    UPDATE_ESCALATION,
    UNACKED,
    POSTMORTEM_REMINDER,
    ACTION_DUE,
    ACTION_OVERDUE,
    FOLLOW_UP,
    EXHAUSTED,  # decided by bot.core.paging: nobody answered any level of the escalation
)
# Notices that go to a person's direct messages rather than a channel.
DIRECT_KINDS = (ACTION_DUE, ACTION_OVERDUE)


@dataclass(frozen=True)
class Due:
    kind: str
    key: str
    due_at: datetime


def cadence_for(state: IncidentState, policy: Policy) -> timedelta | None:
    """How often an update is owed right now: by severity, or the mitigated cadence; none once resolved."""
    if state.is_resolved:
        return None
    if state.facts.status == "mitigated" and policy.schedule.mitigated_every is not None:
        return policy.schedule.mitigated_every
    return policy.schedule.update_every.get(state.facts.severity)


def next_status_update_at(state: IncidentState, policy: Policy) -> datetime | None:
    """A cadence runs from the latest of: declaration, severity change, mitigation, reopening,
    any update (human or scheduled). After downtime that is one update, not one per missed slot."""
    cadence = cadence_for(state, policy)
    if cadence is None:
        return None
    return state.cadence.anchor_at + cadence


def due_work(state: IncidentState, policy: Policy, now: datetime) -> list[Due]:
    """Every notice due at `now` that the log does not already hold."""
    due = [
        d for d in _candidates(state, policy) if d.due_at <= now and d.key not in state.cadence.notice_keys
    ]
    return sorted(due, key=lambda d: (d.due_at, d.kind))


def next_due_at(state: IncidentState, policy: Policy) -> datetime | None:
    """The earliest time anything could become due (a notice, a page), for the heartbeat's index;
    None if nothing will."""
    times = [d.due_at for d in _candidates(state, policy) if d.key not in state.cadence.notice_keys]
    paging = paging_due_at(state, policy)
    if paging is not None:
        times.append(paging)
    escalation = escalations_due_at(state)
    if escalation is not None:
        times.append(escalation)
    return min(times) if times else None


def _candidates(state: IncidentState, policy: Policy) -> list[Due]:
    out: list[Due] = []
    cadence = cadence_for(state, policy)
    if cadence is not None:
        at = state.cadence.anchor_at + cadence
        out.append(Due(STATUS_UPDATE, f"{STATUS_UPDATE}@{at.isoformat()}", at))
        since = state.cadence.last_human_update_at
        remind_at = since + cadence
        out.append(Due(UPDATE_REMINDER, f"{UPDATE_REMINDER}@{since.isoformat()}", remind_at))
        escalate_at = remind_at + cadence
        out.append(Due(UPDATE_ESCALATION, f"{UPDATE_ESCALATION}@{since.isoformat()}", escalate_at))
    schedule = policy.schedule
    if not state.is_resolved and state.facts.acknowledged_at is None and schedule.ack_timeout is not None:
        at = state.facts.declared_at + schedule.ack_timeout
        out.append(Due(UNACKED, f"{UNACKED}@{state.facts.declared_at.isoformat()}", at))
    if state.is_resolved and state.facts.resolved_at is not None and schedule.postmortem_after is not None:
        at = state.facts.resolved_at + schedule.postmortem_after
        out.append(
            Due(POSTMORTEM_REMINDER, f"{POSTMORTEM_REMINDER}@{state.facts.resolved_at.isoformat()}", at)
        )
    open_items = {n: item for n, item in state.postmortem.action_items.items() if item.done_at is None}
    for n, item in open_items.items():
        if item.owner and item.due:
            due_day = datetime.fromisoformat(f"{item.due}T00:00:00+00:00")
            out.append(Due(ACTION_DUE, f"{ACTION_DUE}@{n}:{item.due}", due_day))
            out.append(Due(ACTION_OVERDUE, f"{ACTION_OVERDUE}@{n}:{item.due}", due_day + timedelta(days=1)))
    if open_items and state.is_resolved and state.facts.resolved_at and schedule.follow_up_after is not None:
        at = state.facts.resolved_at + schedule.follow_up_after
        out.append(Due(FOLLOW_UP, f"{FOLLOW_UP}@{state.facts.resolved_at.isoformat()}", at))
    return out


def decide_notices(state: IncidentState, policy: Policy, now: datetime) -> list[NewEvent]:
    """The NoticeDue events to record now. After downtime a reminder already overtaken by its
    escalation (or an item's "due today" by its "overdue") is recorded as superseded, so it is
    never due again, but not posted."""
    due = due_work(state, policy, now)
    kinds = {d.kind for d in due}
    overdue_keys = {d.key.split("@", 1)[1] for d in due if d.kind == ACTION_OVERDUE}
    events = []
    for item in due:
        superseded = (item.kind == UPDATE_REMINDER and UPDATE_ESCALATION in kinds) or (
            item.kind == ACTION_DUE and item.key.split("@", 1)[1] in overdue_keys
        )
        notice = _notice(item, state, policy, now, superseded)
        events.append(NewEvent("bot", now, notice))
    return events


def _notice(item: Due, state: IncidentState, policy: Policy, now: datetime, superseded: bool) -> NoticeDue:
    notice = NoticeDue(
        kind=item.kind,
        key=item.key,
        due_at=item.due_at,
        superseded=superseded,
        status=state.facts.status,
        severity=state.facts.severity,
        last_update_at=state.cadence.last_human_update_at,
        last_update_text=state.facts.last_update_text,
    )
    if item.kind == STATUS_UPDATE:
        cadence = cadence_for(state, policy)
        return replace(notice, next_update_at=now + cadence if cadence else None)
    if item.kind == UNACKED:
        return replace(notice, mention=tuple(sorted(state.facts.responders | {state.facts.declared_by})))
    if item.kind in DIRECT_KINDS:
        n = int(item.key.split("@", 1)[1].split(":", 1)[0])
        action = state.postmortem.action_items[n]
        return replace(notice, n=n, text=action.text, owner=action.owner, due=action.due)
    if item.kind == FOLLOW_UP:
        items = tuple(
            FollowUpItem(n, i.text, i.owner, i.due)
            for n, i in sorted(state.postmortem.action_items.items())
            if i.done_at is None
        )
        return replace(notice, items=items)
    return notice
