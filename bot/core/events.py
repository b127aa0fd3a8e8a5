"""Event types of the append-only log.

Lifecycle events record what people did; Slack events record which side effects already
happened, so that replaying the log tells what is still owed and nothing is done twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# What people did.
INCIDENT_DECLARED = "IncidentDeclared"
INCIDENT_ACKNOWLEDGED = "IncidentAcknowledged"
STATUS_UPDATED = "StatusUpdated"
SEVERITY_CHANGED = "SeverityChanged"
ROLE_ASSIGNED = "RoleAssigned"
NOTE_ADDED = "NoteAdded"
INCIDENT_MITIGATED = "IncidentMitigated"
INCIDENT_RESOLVED = "IncidentResolved"
INCIDENT_REOPENED = "IncidentReopened"
SERVICE_SET = "ServiceSet"
ALERTS_FIRING = "AlertsFiring"
ALERTS_RESOLVED = "AlertsResolved"

LIFECYCLE_TYPES = frozenset(
    {
        INCIDENT_DECLARED,
        INCIDENT_ACKNOWLEDGED,
        STATUS_UPDATED,
        SEVERITY_CHANGED,
        ROLE_ASSIGNED,
        NOTE_ADDED,
        INCIDENT_MITIGATED,
        INCIDENT_RESOLVED,
        INCIDENT_REOPENED,
        SERVICE_SET,
        ALERTS_FIRING,
        ALERTS_RESOLVED,
    }
)

# The postmortem: sections people write, action items, and requests to publish the document.
POSTMORTEM_SECTION_WRITTEN = "PostmortemSectionWritten"
ACTION_ITEM_ADDED = "ActionItemAdded"
ACTION_ITEM_DONE = "ActionItemDone"
POSTMORTEM_REQUESTED = "PostmortemRequested"
POSTMORTEM_TYPES = frozenset(
    {POSTMORTEM_SECTION_WRITTEN, ACTION_ITEM_ADDED, ACTION_ITEM_DONE, POSTMORTEM_REQUESTED}
)

# Messages of the incident channel put on (or taken off) the timeline with a 📌 reaction.
MESSAGE_PINNED = "MessagePinned"
MESSAGE_UNPINNED = "MessageUnpinned"
TIMELINE_TYPES = LIFECYCLE_TYPES | {MESSAGE_PINNED, MESSAGE_UNPINNED}

# What the heartbeat decided to say unprompted (a status update, a reminder); `key` names the slot.
NOTICE_DUE = "NoticeDue"

# What the bot already did in Slack for the incident.
CHANNEL_CREATED = "SlackChannelCreated"
MEMBER_INVITED = "SlackMemberInvited"
TOPIC_SET = "SlackTopicSet"
SUMMARY_POSTED = "SlackSummaryPosted"
SUMMARY_PINNED = "SlackSummaryPinned"
SUMMARY_UPDATED = "SlackSummaryUpdated"
ANNOUNCEMENT_POSTED = "SlackAnnouncementPosted"
CHANNEL_MESSAGE_POSTED = "SlackChannelMessagePosted"
THREAD_REPLY_POSTED = "SlackThreadReplyPosted"
POSTMORTEM_PUBLISHED = "SlackPostmortemPublished"

SLACK_TYPES = frozenset(
    {
        CHANNEL_CREATED,
        MEMBER_INVITED,
        TOPIC_SET,
        SUMMARY_POSTED,
        SUMMARY_PINNED,
        SUMMARY_UPDATED,
        ANNOUNCEMENT_POSTED,
        CHANNEL_MESSAGE_POSTED,
        THREAD_REPLY_POSTED,
        POSTMORTEM_PUBLISHED,
    }
)

ALL_TYPES = TIMELINE_TYPES | SLACK_TYPES | POSTMORTEM_TYPES | {NOTICE_DUE}
# All that the metrics read: what people did, action items, and which postmortems were published.
METRICS_TYPES = LIFECYCLE_TYPES | {ACTION_ITEM_ADDED, ACTION_ITEM_DONE, POSTMORTEM_PUBLISHED}
# All that says who is in an incident and whether it is private: its declaration, roles,
# responders added by a severity change, its channel and the people invited to it.
MEMBERSHIP_TYPES = frozenset(
    {INCIDENT_DECLARED, ROLE_ASSIGNED, SEVERITY_CHANGED, CHANNEL_CREATED, MEMBER_INVITED}
)
# All that due-work rules read: what people did and what the bot already decided to say.
SCHEDULE_TYPES = LIFECYCLE_TYPES | {NOTICE_DUE, ACTION_ITEM_ADDED, ACTION_ITEM_DONE}


@dataclass(frozen=True)
class NewEvent:
    """An event decided but not yet stored: the store gives it its sequence number."""

    type: str
    actor: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in ALL_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")
        if self.at.tzinfo is None:
            raise ValueError("event times must be timezone-aware")


@dataclass(frozen=True)
class Event:
    """A stored event: immutable, numbered within its incident from 1."""

    incident: int
    seq: int
    type: str
    actor: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)
