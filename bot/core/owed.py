"""What the bot still owes Slack for an incident, computed from its state alone.

The Slack adapter does the first owed step, records it as an event, and asks again; a
crash or a Slack outage between steps leaves the rest owed, never lost and never doubled.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core import events as ev
from bot.core.schedule import STATUS_UPDATE
from bot.core.state import IncidentState

# Events that appear as messages in the incident channel and under the announcement.
POSTED_TYPES = ev.LIFECYCLE_TYPES - {ev.INCIDENT_DECLARED}


@dataclass(frozen=True)
class Owed:
    """One Slack step. `kind` names it; `seq` is the event it is for, `user` whom it concerns."""

    kind: str
    seq: int = 0
    user: str = ""


CREATE_CHANNEL = "create_channel"
INVITE = "invite"
SET_TOPIC = "set_topic"
POST_SUMMARY = "post_summary"
PIN_SUMMARY = "pin_summary"
UPDATE_SUMMARY = "update_summary"
ANNOUNCE = "announce"
POST_IN_CHANNEL = "post_in_channel"
POST_IN_THREAD = "post_in_thread"
POST_NOTICE = "post_notice"
PUBLISH_POSTMORTEM = "publish_postmortem"
STEP_KINDS = (
    PUBLISH_POSTMORTEM,
    POST_NOTICE,
    CREATE_CHANNEL,
    INVITE,
    SET_TOPIC,
    POST_SUMMARY,
    PIN_SUMMARY,
    UPDATE_SUMMARY,
    ANNOUNCE,
    POST_IN_CHANNEL,
    POST_IN_THREAD,
)


def owed_slack_work(state: IncidentState) -> list[Owed]:
    """Every step still owed, in the order a responder should see them happen."""
    if state.channel_id is None:
        return [Owed(CREATE_CHANNEL)]
    owed = [Owed(INVITE, user=u) for u in sorted(state.wanted_members() - state.invited)]
    if state.summary_ts is None:
        owed.append(Owed(POST_SUMMARY, seq=state.last_lifecycle_seq))
    else:
        if not state.summary_pinned:
            owed.append(Owed(PIN_SUMMARY))
        if state.summary_rendered_for < state.last_lifecycle_seq:
            owed.append(Owed(UPDATE_SUMMARY, seq=state.last_lifecycle_seq))
    if state.topic_set_for < state.topic_seq:
        owed.append(Owed(SET_TOPIC, seq=state.topic_seq))
    # A private incident (say, a security one) is not announced in the central channel.
    if state.announcement_ts is None and not state.private:
        owed.append(Owed(ANNOUNCE))
    for event in state.timeline:
        if event.type not in POSTED_TYPES:
            continue
        if event.seq not in state.posted_in_channel:
            owed.append(Owed(POST_IN_CHANNEL, seq=event.seq))
        if state.announcement_ts is not None and event.seq not in state.posted_in_thread:
            owed.append(Owed(POST_IN_THREAD, seq=event.seq))
    for request in state.postmortem_requests:
        if request.seq not in state.postmortems_published:
            owed.append(Owed(PUBLISH_POSTMORTEM, seq=request.seq))
    for notice in state.notices:
        if notice.data.get("superseded"):
            continue
        if notice.seq not in state.posted_in_channel:
            owed.append(Owed(POST_NOTICE, seq=notice.seq))
        threaded = notice.data["kind"] == STATUS_UPDATE
        if threaded and state.announcement_ts is not None and notice.seq not in state.posted_in_thread:
            owed.append(Owed(POST_IN_THREAD, seq=notice.seq))
    return owed
