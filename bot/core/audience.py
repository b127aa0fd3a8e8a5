"""Who hears what: every place a message about an incident can reach, and the one rule for private ones.

A destination is decided here, where the incident's state (and so `private`) is known; the Slack
transport only delivers to the address it is given. A private incident (a security incident, say)
reaches its own channel and direct messages to its members, and nothing shared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.core.state import IncidentState


class Audience(StrEnum):
    INCIDENT_CHANNEL = "incident_channel"
    ANNOUNCEMENT = "announcement"
    ANNOUNCEMENT_THREAD = "announcement_thread"
    DIRECT_MESSAGE = "direct_message"
    TRIAGE_CHANNEL = "triage_channel"
    STATUS_PAGE = "status_page"
    PAGERDUTY = "pagerduty"


# Seen by people who are not members of the incident. PagerDuty counts as shared until paging
# learns to send a redacted page; a private incident is never sent there with its title.
SHARED = frozenset(
    {
        Audience.ANNOUNCEMENT,
        Audience.ANNOUNCEMENT_THREAD,
        Audience.TRIAGE_CHANNEL,
        Audience.STATUS_PAGE,
        Audience.PAGERDUTY,
    }
)


@dataclass(frozen=True)
class Destination:
    """Where one message goes. `channel` is a Slack channel id or `#name` (for a direct message,
    the person's user id, which Slack turns into the bot's DM with them); `thread_ts` a thread."""

    audience: Audience
    channel: str | None = None
    thread_ts: str | None = None
    user: str | None = None

    @property
    def shared(self) -> bool:
        return self.audience in SHARED


_SLACK_USER = re.compile(r"^[UW][A-Z0-9]+$")


def members(state: IncidentState) -> frozenset[str]:
    """The people the log knows are in the incident: declarer, commander and other roles,
    responders, everyone the bot invited or who joined through it, and everyone paged."""
    people = {
        state.facts.declared_by,
        *state.facts.roles.values(),
        *state.facts.responders,
        *state.slack.in_channel,
        *state.paging.paged,
    }
    return frozenset(p for p in people if _SLACK_USER.match(p))


def may_reach(state: IncidentState, destination: Destination) -> bool:
    """The one rule: a private incident reaches only its own channel and its members' DMs, and
    the status page once a person published it explicitly (as for any incident, nothing else of
    it is public: only what each `StatusPagePublished` says)."""
    if not state.private:
        return True
    if destination.audience is Audience.DIRECT_MESSAGE:
        return destination.user in members(state)
    if destination.audience is Audience.STATUS_PAGE:
        return state.public.published
    return not destination.shared


def may_see(state: IncidentState, person: str, from_channel: str | None = None) -> bool:
    """May `person` read this incident? Everyone for a public one; for a private one its members,
    or someone typing inside its (private) channel, whom Slack already let in."""
    if not state.private:
        return True
    if from_channel is not None and from_channel == state.slack.channel_id:
        return True
    return person in members(state)


def incident_channel(state: IncidentState) -> Destination:
    return Destination(Audience.INCIDENT_CHANNEL, state.slack.channel_id)


def announcement(channel: str) -> Destination:
    return Destination(Audience.ANNOUNCEMENT, channel)


def announcement_thread(state: IncidentState) -> Destination:
    return Destination(
        Audience.ANNOUNCEMENT_THREAD, state.slack.announcement_channel, state.slack.announcement_ts
    )


def direct_message(user: str) -> Destination:
    return Destination(Audience.DIRECT_MESSAGE, user, user=user)


def triage_channel(channel: str) -> Destination:
    return Destination(Audience.TRIAGE_CHANNEL, channel)


def or_incident_channel(state: IncidentState, wanted: Destination) -> Destination:
    """`wanted` if the incident may reach it, else its own channel: a notice that may not go to a
    shared place (or to someone outside a private incident) is said where its members are."""
    return wanted if may_reach(state, wanted) else incident_channel(state)
