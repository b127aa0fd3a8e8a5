"""Incident state is a left fold over its events; nothing else is stored as truth."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.core import events as ev
from bot.core.events import Event


@dataclass
class IncidentState:
    number: int
    title: str
    severity: str
    status: str
    declared_by: str
    declared_at: datetime
    origin_channel: str | None = None
    responders: set[str] = field(default_factory=set)
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    roles: dict[str, str] = field(default_factory=dict)
    last_update_at: datetime | None = None
    last_update_text: str | None = None
    last_seq: int = 0
    last_lifecycle_seq: int = 0
    topic_seq: int = 0
    timeline: list[Event] = field(default_factory=list)
    # When the update cadence last restarted, and when people last said how things stand.
    cadence_anchor_at: datetime | None = None
    last_human_update_at: datetime | None = None
    notices: list[Event] = field(default_factory=list)
    notice_keys: set[str] = field(default_factory=set)
    impact: str | None = None
    service: str | None = None
    alert: dict | None = None  # the Alertmanager group that declared it: group, runbook, dashboard
    alert_fingerprints: set[str] = field(default_factory=set)
    alerts_resolved: bool = False  # the group's resolution was noted; new alerts clear it
    impact_started_at: datetime | None = None
    root_cause: str | None = None
    impact_ended_at: str | None = None
    # Channel messages on the timeline (📌), by message ts; and Slack deliveries already applied.
    pins: dict[str, Event] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)
    # The postmortem: sections by name, action items by number, publish requests and results.
    sections: dict[str, str] = field(default_factory=dict)
    action_items: dict[int, dict] = field(default_factory=dict)
    postmortem_requests: list[Event] = field(default_factory=list)
    postmortems_published: dict[int, dict] = field(default_factory=dict)
    # What the bot already did in Slack.
    private: bool = False
    channel_id: str | None = None
    channel_name: str | None = None
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

    @property
    def key(self) -> str:
        return f"INC-{self.number}"

    @property
    def is_resolved(self) -> bool:
        return self.status == "resolved"

    @property
    def commander(self) -> str | None:
        return self.roles.get("commander")

    def event(self, seq: int) -> Event:
        """A posted event (a lifecycle step or a notice) by its sequence number."""
        for event in (*self.timeline, *self.notices, *self.postmortem_requests):
            if event.seq == seq:
                return event
        raise KeyError(seq)

    def wanted_members(self) -> set[str]:
        """Everyone who should be in the incident channel (people; not the alert intake)."""
        return {u for u in (self.declared_by, *self.responders, *self.roles.values()) if _SLACK_USER.match(u)}


_SLACK_USER = re.compile(r"^[UW][A-Z0-9]+$")


class ReplayError(ValueError):
    """The log does not describe an incident (empty, or not starting with a declaration)."""


def replay(events: Iterable[Event]) -> IncidentState:
    it = iter(events)
    first = next(it, None)
    if first is None or first.type != ev.INCIDENT_DECLARED:
        raise ReplayError("an incident's log must start with IncidentDeclared")
    d = first.data
    state = IncidentState(
        number=first.incident,
        title=d["title"],
        severity=d["severity"],
        status="investigating",
        declared_by=first.actor,
        declared_at=first.at,
        origin_channel=d.get("origin_channel"),
        responders=set(d.get("responders", ())),
        roles={"commander": d.get("commander", first.actor)} if d.get("commander", first.actor) else {},
        impact=d.get("impact"),
        impact_started_at=datetime.fromisoformat(d["impact_started_at"])
        if d.get("impact_started_at")
        else None,
        private=bool(d.get("private", False)),
        service=d.get("service"),
        alert=d.get("alert"),
    )
    if state.alert:
        state.alert_fingerprints = set(state.alert.get("fingerprints", ()))
    _note(state, first)
    state.topic_seq = first.seq
    state.cadence_anchor_at = state.last_human_update_at = first.at
    for event in it:
        apply(state, event)
    return state


_LIFECYCLE = ev.LIFECYCLE_TYPES
_TIMELINE = ev.TIMELINE_TYPES


def _note(state: IncidentState, event: Event) -> None:
    state.last_seq = event.seq
    kind = event.type
    if kind in _TIMELINE:
        state.timeline.append(event)
        if kind in _LIFECYCLE:
            state.last_lifecycle_seq = event.seq
    source = event.data.get("source")
    if source:
        state.sources.add(source)


def _restart_cadence(state: IncidentState, at: datetime, *, human: bool) -> None:
    state.cadence_anchor_at = max(state.cadence_anchor_at or at, at)
    if human:
        state.last_human_update_at = max(state.last_human_update_at or at, at)


def apply(state: IncidentState, event: Event) -> None:  # noqa: C901 - one branch per event type
    d = event.data
    t = event.type
    _note(state, event)
    if t in (ev.STATUS_UPDATED, ev.INCIDENT_MITIGATED, ev.INCIDENT_REOPENED):
        _restart_cadence(state, event.at, human=True)
    elif t == ev.SEVERITY_CHANGED:
        _restart_cadence(state, event.at, human=False)
    if t == ev.INCIDENT_ACKNOWLEDGED:
        state.acknowledged_by = event.actor
        state.acknowledged_at = event.at
    elif t == ev.STATUS_UPDATED:
        if d.get("status") and d["status"] != state.status:
            state.status = d["status"]
            state.topic_seq = event.seq
        state.last_update_at = event.at
        state.last_update_text = d.get("message")
        state.impact = d.get("impact") or state.impact
    elif t == ev.SEVERITY_CHANGED:
        state.severity = d["to"]
        state.responders |= set(d.get("responders", ()))
        state.topic_seq = event.seq
    elif t == ev.ROLE_ASSIGNED:
        state.roles[d["role"]] = d["user"]
        if d["role"] == "commander":
            state.topic_seq = event.seq
    elif t == ev.INCIDENT_MITIGATED:
        state.status = "mitigated"
        state.mitigated_at = event.at
        state.last_update_at = event.at
        state.last_update_text = d.get("note")
        state.topic_seq = event.seq
    elif t == ev.INCIDENT_RESOLVED:
        state.status = "resolved"
        state.resolved_at = event.at
        state.resolution = d.get("summary")
        state.root_cause = d.get("root_cause") or state.root_cause
        state.impact_ended_at = d.get("impact_ended_at")
        state.topic_seq = event.seq
    elif t == ev.INCIDENT_REOPENED:
        state.status = "investigating"
        state.resolved_at = None
        state.resolution = None
        state.topic_seq = event.seq
    elif t == ev.ALERTS_FIRING:
        state.alert_fingerprints |= set(d["fingerprints"])
        state.alerts_resolved = False
    elif t == ev.ALERTS_RESOLVED:
        state.alerts_resolved = True
    elif t == ev.SERVICE_SET:
        state.service = d["service"]
    elif t == ev.MESSAGE_PINNED:
        state.pins[d["message_ts"]] = event
    elif t == ev.MESSAGE_UNPINNED:
        state.pins.pop(d["message_ts"], None)
    elif t == ev.POSTMORTEM_SECTION_WRITTEN:
        state.sections[d["section"]] = d["text"]
    elif t == ev.ACTION_ITEM_ADDED:
        state.action_items[d["n"]] = {**d, "done_at": None, "added_at": event.at, "added_by": event.actor}
    elif t == ev.ACTION_ITEM_DONE:
        state.action_items[d["n"]]["done_at"] = event.at
    elif t == ev.POSTMORTEM_REQUESTED:
        state.postmortem_requests.append(event)
    elif t == ev.POSTMORTEM_PUBLISHED:
        state.postmortems_published[d["for_seq"]] = d
    elif t == ev.NOTICE_DUE:
        state.notices.append(event)
        state.notice_keys.add(d["key"])
        if d["kind"] == "status_update":
            _restart_cadence(state, event.at, human=False)
    elif t == ev.CHANNEL_CREATED:
        state.channel_id = d["channel_id"]
        state.channel_name = d["name"]
    elif t == ev.MEMBER_INVITED:
        state.invited.add(d["user"])
        if d.get("result", "invited") in ("invited", "already_in_channel"):
            state.in_channel.add(d["user"])
    elif t == ev.TOPIC_SET:
        state.topic_set_for = d["for_seq"]
    elif t == ev.SUMMARY_POSTED:
        state.summary_channel = d["channel_id"]
        state.summary_ts = d["ts"]
        state.summary_rendered_for = d["for_seq"]
    elif t == ev.SUMMARY_PINNED:
        state.summary_pinned = True
    elif t == ev.SUMMARY_UPDATED:
        state.summary_rendered_for = max(state.summary_rendered_for, d["for_seq"])
    elif t == ev.ANNOUNCEMENT_POSTED:
        state.announcement_channel = d["channel_id"]
        state.announcement_ts = d["ts"]
    elif t == ev.CHANNEL_MESSAGE_POSTED:
        state.posted_in_channel.add(d["for_seq"])
    elif t == ev.THREAD_REPLY_POSTED:
        state.posted_in_thread.add(d["for_seq"])
