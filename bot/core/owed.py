"""What the bot still owes Slack for an incident, computed from its state alone.

Each step names its destination (bot.core.audience decides it, and drops or redirects what a
private incident may not reach). The Slack transport does the first owed step, records it as an
event, and asks again; a crash or a Slack outage between steps leaves the rest owed, never lost
and never doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core import audience
from bot.core import events as ev
from bot.core.audience import Audience, Destination, may_reach
from bot.core.mirror import statuspage_owed
from bot.core.paging import EXHAUSTED, is_paging, pagerduty_owed
from bot.core.policy import Policy
from bot.core.runbook import attached_runbooks, checklist_parts
from bot.core.schedule import DIRECT_KINDS, STATUS_UPDATE, UNACKED
from bot.core.state import IncidentState

# Events that appear as messages in the incident channel and under the announcement.
POSTED_TYPES = (ev.LIFECYCLE_TYPES - {ev.IncidentDeclared}) | {ev.Paged, ev.StatusPagePublished}
POSTED_TYPES |= ev.RUNBOOK_TYPES
PAGERDUTY = Destination(Audience.PAGERDUTY, "pagerduty")
STATUSPAGE = Destination(Audience.STATUS_PAGE, "statuspage")  # Statuspage.io's mirror


class StepKind(StrEnum):
    PUBLISH_POSTMORTEM = "publish_postmortem"
    POST_NOTICE = "post_notice"
    CREATE_CHANNEL = "create_channel"
    INVITE = "invite"
    SET_TOPIC = "set_topic"
    POST_SUMMARY = "post_summary"
    PIN_SUMMARY = "pin_summary"
    UPDATE_SUMMARY = "update_summary"
    ANNOUNCE = "announce"
    POST_IN_CHANNEL = "post_in_channel"
    POST_IN_THREAD = "post_in_thread"
    PAGE = "page"  # a page's direct message, with an Acknowledge button
    PAGERDUTY = "pagerduty"  # a trigger, acknowledge or resolve sent to PagerDuty (`action`)
    STATUSPAGE = "statuspage"  # a publication mirrored to Statuspage.io (`action`: create | update)
    POST_RUNBOOK = "post_runbook"  # a part of a runbook's checklist (`runbook`, `part`)
    UPDATE_RUNBOOK = "update_runbook"  # the same part edited in place to show new ticks


STEP_KINDS = tuple(StepKind)


@dataclass(frozen=True)
class Owed:
    """One Slack step: what to do (`kind`), where (`destination`), for which event (`seq`) or
    person (`user`)."""

    kind: StepKind
    destination: Destination
    seq: int = 0
    user: str = ""
    action: str = ""  # PAGERDUTY: trigger | acknowledge | resolve; STATUSPAGE: create | update
    runbook: str = ""  # POST_RUNBOOK, UPDATE_RUNBOOK: the runbook's name, and which message of it
    part: int = 0


def owed_slack_work(state: IncidentState, policy: Policy) -> list[Owed]:
    """Every step still owed, in the order a responder should see them happen; none that the
    incident may not reach."""
    wanted = _statuspage_steps(state, policy) + _wanted_steps(state, policy)
    return [step for step in wanted if may_reach(state, step.destination)]


def _statuspage_steps(state: IncidentState, policy: Policy) -> list[Owed]:
    """First, so customers hear without waiting for a Slack backlog (or a channel not yet made)."""
    if not policy.mirror_statuspage or policy.status_page.statuspage is None:
        return []
    return [Owed(StepKind.STATUSPAGE, STATUSPAGE, seq, action=a) for seq, a in statuspage_owed(state)]


def _wanted_steps(state: IncidentState, policy: Policy) -> list[Owed]:
    here = audience.incident_channel(state)
    if state.slack.channel_id is None:
        return [Owed(StepKind.CREATE_CHANNEL, here)]
    owed = _page_steps(state, policy)
    owed += [
        Owed(StepKind.INVITE, here, user=u) for u in sorted(state.wanted_members() - state.slack.invited)
    ]
    if state.slack.summary_ts is None:
        owed.append(Owed(StepKind.POST_SUMMARY, here, seq=state.last_lifecycle_seq))
    else:
        if not state.slack.summary_pinned:
            owed.append(Owed(StepKind.PIN_SUMMARY, here))
        if state.slack.summary_rendered_for < state.last_lifecycle_seq:
            owed.append(Owed(StepKind.UPDATE_SUMMARY, here, seq=state.last_lifecycle_seq))
    if state.slack.topic_set_for < state.topic_seq:
        owed.append(Owed(StepKind.SET_TOPIC, here, seq=state.topic_seq))
    if state.slack.announcement_ts is None:
        owed.append(Owed(StepKind.ANNOUNCE, audience.announcement(policy.announcement_channel)))
    thread = audience.announcement_thread(state) if state.slack.announcement_ts is not None else None
    for event in state.timeline:
        if type(event.payload) not in POSTED_TYPES:
            continue
        if event.seq not in state.slack.posted_in_channel:
            owed.append(Owed(StepKind.POST_IN_CHANNEL, here, seq=event.seq))
        if thread is not None and event.seq not in state.slack.posted_in_thread:
            owed.append(Owed(StepKind.POST_IN_THREAD, thread, seq=event.seq))
    owed += _checklist_steps(state, here)
    for request in state.postmortem.requests:
        if request.seq not in state.postmortem.published:
            owed.append(Owed(StepKind.PUBLISH_POSTMORTEM, here, seq=request.seq))
    for notice in state.cadence.notices:
        due = notice.payload
        assert isinstance(due, ev.NoticeDue)
        if due.superseded:
            continue
        if notice.seq not in state.slack.posted_in_channel:
            wanted = notice_destination(state, due, policy)
            owed.append(Owed(StepKind.POST_NOTICE, audience.or_incident_channel(state, wanted), notice.seq))
        threaded = due.kind == STATUS_UPDATE
        if threaded and thread is not None and notice.seq not in state.slack.posted_in_thread:
            owed.append(Owed(StepKind.POST_IN_THREAD, thread, seq=notice.seq))
    return owed


def _checklist_steps(state: IncidentState, here: Destination) -> list[Owed]:
    """Each attached runbook's checklist messages: posted once, then edited whenever a step shown in
    that message is ticked (or, for the first, when its escalation fires)."""
    owed: list[Owed] = []
    if not state.runbooks.attached:
        return owed
    # Resolving (or reopening) changes every checklist: its controls go (or come back).
    closed = [
        e.seq for e in state.timeline if isinstance(e.payload, ev.IncidentResolved | ev.IncidentReopened)
    ]
    for attached in attached_runbooks(state):
        key = attached.name.casefold()
        for part, indexes in enumerate(checklist_parts(attached.runbook.steps)):
            shown = [attached.event.seq, *closed[-1:]]
            shown += [s.seq for i in indexes if (s := state.runbooks.checks.get((key, i + 1))) is not None]
            if part == 0 and attached.escalated is not None:
                shown.append(attached.escalated.seq)
            changed = max(shown)
            if (key, part) not in state.runbooks.posted:
                owed.append(Owed(StepKind.POST_RUNBOOK, here, changed, runbook=attached.name, part=part))
            elif state.runbooks.rendered_for.get((key, part), 0) < changed:
                owed.append(Owed(StepKind.UPDATE_RUNBOOK, here, changed, runbook=attached.name, part=part))
    return owed


def _page_steps(state: IncidentState, policy: Policy) -> list[Owed]:
    """Pages first: each paged person's DM (a level's only while nobody has answered; one by hand
    always), then PagerDuty when it is configured."""
    owed = []
    waiting = is_paging(state)
    for page in state.paging.pages:
        paged = page.payload
        assert isinstance(paged, ev.Paged)
        if paged.level > 0 and not waiting:
            continue
        for user in paged.users:
            if (page.seq, user) not in state.paging.dm_sent:
                owed.append(Owed(StepKind.PAGE, audience.direct_message(user), page.seq, user))
    if policy.pagerduty:
        owed += [Owed(StepKind.PAGERDUTY, PAGERDUTY, seq, action=a) for seq, a in pagerduty_owed(state)]
    return owed


def notice_destination(state: IncidentState, notice: ev.NoticeDue, policy: Policy) -> Destination:
    """Where a scheduled notice is meant to go: the re-announcement of an unacknowledged incident
    to the announcement channel, an action item's reminder to its owner, the rest to the channel."""
    if notice.kind in (UNACKED, EXHAUSTED):
        # Once announced, the channel's id: posts to one channel are paced under one name.
        return audience.announcement(state.slack.announcement_channel or policy.announcement_channel)
    if notice.kind in DIRECT_KINDS and notice.owner:
        return audience.direct_message(notice.owner)
    return audience.incident_channel(state)
