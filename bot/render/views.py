"""View-models: incident state and events turned into the plain values templates show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.commands import USAGE
from bot.core.events import Event
from bot.core.policy import Policy
from bot.core.state import IncidentState
from bot.render.renderer import Renderer


def incident_view(state: IncidentState, now: datetime | None = None) -> dict[str, Any]:
    end = state.resolved_at or now
    return {
        "key": state.key,
        "number": state.number,
        "title": state.title,
        "severity": state.severity.upper(),
        "status": state.status.capitalize(),
        "is_resolved": state.is_resolved,
        "commander": state.commander,
        "roles": dict(sorted(state.roles.items())),
        "roles_text": " · ".join(f"{role}: <@{user}>" for role, user in sorted(state.roles.items())),
        "declared_by": state.declared_by,
        "declared_at": state.declared_at,
        "acknowledged_by": state.acknowledged_by,
        "acknowledged_at": state.acknowledged_at,
        "mitigated_at": state.mitigated_at,
        "resolved_at": state.resolved_at,
        "resolution": state.resolution,
        "last_update_at": state.last_update_at,
        "last_update_text": state.last_update_text,
        "duration_seconds": (end - state.declared_at).total_seconds() if end else None,
        "channel_id": state.channel_id,
        "channel_name": state.channel_name,
    }


def event_view(event: Event) -> dict[str, Any]:
    return {"type": event.type, "actor": event.actor, "at": event.at, "seq": event.seq, "data": event.data}


@dataclass(frozen=True)
class HeadView:
    key: str
    title: str
    severity: str
    status: str
    commander: str | None
    channel_id: str | None
    declared_at: datetime


class Messages:
    """Every message the bot shows, by name, from the templates folder."""

    def __init__(self, renderer: Renderer, policy: Policy) -> None:
        self.renderer = renderer
        self.policy = policy

    def summary_blocks(self, state: IncidentState, now: datetime) -> list[dict[str, Any]]:
        return self.renderer.blocks("summary.json.j2", incident=incident_view(state, now))

    def summary_text(self, state: IncidentState) -> str:
        return self.renderer.text("summary_fallback.txt.j2", incident=incident_view(state))

    def announcement_blocks(self, state: IncidentState) -> list[dict[str, Any]]:
        return self.renderer.blocks("announcement.json.j2", incident=incident_view(state))

    def announcement_text(self, state: IncidentState) -> str:
        return self.renderer.text("announcement_fallback.txt.j2", incident=incident_view(state))

    def timeline_entry(self, event: Event, state: IncidentState) -> str:
        return self.renderer.text(
            "timeline_entry.mrkdwn.j2", event=event_view(event), incident=incident_view(state)
        )

    def topic(self, state: IncidentState) -> str:
        return self.renderer.text("topic.txt.j2", incident=incident_view(state))

    def status(self, state: IncidentState, now: datetime) -> str:
        return self.renderer.text("status.mrkdwn.j2", incident=incident_view(state, now))

    def incident_list(self, heads: list[HeadView], now: datetime) -> str:
        return self.renderer.text("list.mrkdwn.j2", incidents=heads, now=now)

    def help(self) -> str:
        return self.renderer.text("help.mrkdwn.j2", usage=USAGE, severities=self.policy.severities)

    def channel_ready(self, state: IncidentState) -> str:
        return self.renderer.text("channel_ready.mrkdwn.j2", incident=incident_view(state))

    def declared_reply(self, state: IncidentState, channel_name: str) -> str:
        return self.renderer.text(
            "declared_reply.mrkdwn.j2", incident=incident_view(state), channel_name=channel_name
        )
