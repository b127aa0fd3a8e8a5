"""View-models: incident state and events turned into the plain values templates show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core import postmortem
from bot.core.commands import USAGE
from bot.core.events import Event
from bot.core.policy import UPDATE_STATUSES, Policy
from bot.core.schedule import NOTICE_KINDS
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
        "runbook": (state.alert or {}).get("runbook"),
        "dashboard": (state.alert or {}).get("dashboard"),
        "roles_text": " · ".join(f"{role}: <@{user}>" for role, user in sorted(state.roles.items())),
        "declared_by": state.declared_by,
        "declared_at": state.declared_at,
        "acknowledged_by": state.acknowledged_by,
        "acknowledged_at": state.acknowledged_at,
        "mitigated_at": state.mitigated_at,
        "resolved_at": state.resolved_at,
        "resolution": state.resolution,
        "impact": state.impact,
        "root_cause": state.root_cause,
        "last_update_at": state.last_update_at,
        "last_update_text": state.last_update_text,
        "duration_seconds": (end - state.declared_at).total_seconds() if end else None,
        "channel_id": state.channel_id,
        "channel_name": state.channel_name,
    }


def event_view(event: Event) -> dict[str, Any]:
    data = {k: _as_time(v) if k.endswith("_at") else v for k, v in event.data.items()}
    return {"type": event.type, "actor": event.actor, "at": event.at, "seq": event.seq, "data": data}


def _as_time(value: Any) -> Any:
    """Times in event payloads are ISO strings (JSON); templates format datetimes."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class HeadView:
    key: str
    title: str
    severity: str
    status: str
    commander: str | None
    channel_id: str | None
    declared_at: datetime
    hidden: bool = False  # a private incident the reader is not in: listed, but nothing of it shown


class Messages:
    """Every message the bot shows, by name, from the templates folder."""

    def __init__(self, renderer: Renderer, policy: Policy) -> None:
        self.renderer = renderer
        self.policy = policy

    def summary_blocks(self, state: IncidentState, now: datetime) -> list[dict[str, Any]]:
        return self.renderer.blocks(
            "summary.json.j2", incident=incident_view(state, now), severities=self.policy.severities
        )

    def declare_modal(self, user: str, origin_channel: str | None) -> dict[str, Any]:
        return self.renderer.view(
            "declare_modal.json.j2",
            user=user,
            origin_channel=origin_channel,
            severities=self.policy.severities,
            default_severity=self.policy.default_severity,
        )

    def update_modal(self, state: IncidentState) -> dict[str, Any]:
        return self.renderer.view(
            "update_modal.json.j2", incident=incident_view(state), statuses=UPDATE_STATUSES
        )

    def mitigate_modal(self, state: IncidentState) -> dict[str, Any]:
        return self.renderer.view("mitigate_modal.json.j2", incident=incident_view(state))

    def resolve_modal(self, state: IncidentState) -> dict[str, Any]:
        return self.renderer.view("resolve_modal.json.j2", incident=incident_view(state))

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

    def postmortem(self, state: IncidentState) -> str:
        """The Markdown postmortem; a function of the log alone (no clock), so it is reproducible."""
        text = self.renderer.text(
            "postmortem.md.j2",
            incident=incident_view(state),
            timeline=postmortem.timeline_rows(state),
            sections=postmortem.sections(state),
            actions=postmortem.action_rows(state, today=None),
            figures=postmortem.figures(state),
        )
        return text + "\n"

    def action_list(self, items: list[dict[str, Any]], key: str, mine: bool, hidden: int = 0) -> str:
        return self.renderer.text("action_list.mrkdwn.j2", items=items, key=key, mine=mine, hidden=hidden)

    def private_refusal(self, state: IncidentState) -> str:
        return self.renderer.text("private_refusal.mrkdwn.j2", incident={"key": state.key})

    def metrics(self, metrics: Any) -> str:
        return self.renderer.text("metrics.mrkdwn.j2", m=metrics)

    def triage(self, group: Any) -> str:
        return self.renderer.text("triage.mrkdwn.j2", group=group)

    def notice(self, event: Event, state: IncidentState) -> str:
        return self.renderer.text("notice.mrkdwn.j2", notice=event_view(event), incident=incident_view(state))

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


def sample_incident(now: datetime, resolved: bool = True) -> tuple[IncidentState, list[Event]]:
    """An incident that has been through every step, for checking templates at start-up."""
    from bot.core import events as ev
    from bot.core.state import replay

    steps = [
        (ev.INCIDENT_DECLARED, {"title": "Sample & <check>", "severity": "sev1", "commander": "U0SAMPLE"}),
        (ev.CHANNEL_CREATED, {"channel_id": "C0SAMPLE", "name": "inc-0-sample"}),
        (ev.ALERTS_FIRING, {"fingerprints": ["f2"], "summaries": ["s"]}),
        (ev.ALERTS_RESOLVED, {"group": "g"}),
        (ev.INCIDENT_ACKNOWLEDGED, {}),
        (ev.STATUS_UPDATED, {"status": "identified", "from": "investigating", "message": "m"}),
        (ev.SEVERITY_CHANGED, {"from": "sev1", "to": "sev2", "reason": "r", "responders": []}),
        (ev.ROLE_ASSIGNED, {"role": "comms", "user": "U0OTHER", "previous": None}),
        (ev.NOTE_ADDED, {"text": "n"}),
        (ev.INCIDENT_MITIGATED, {"note": "m"}),
        (ev.INCIDENT_RESOLVED, {"summary": "s"}),
        (ev.INCIDENT_REOPENED, {"reason": "r"}),
        *[(ev.NOTICE_DUE, _sample_notice(kind, now)) for kind in NOTICE_KINDS],
        (ev.INCIDENT_RESOLVED, {"summary": "s"}),
    ]
    if not resolved:
        steps = steps[:3]
    events = [Event(0, i, t, "U0SAMPLE", now, d) for i, (t, d) in enumerate(steps, 1)]
    return replay(events), events


def _sample_notice(kind: str, now: datetime) -> dict[str, Any]:
    at = now.isoformat()
    return {
        "kind": kind,
        "key": f"{kind}@{at}",
        "due_at": at,
        "status": "identified",
        "severity": "sev1",
        "last_update_at": at,
        "last_update_text": "t",
        "next_update_at": at,
        "mention": ["U0SAMPLE"],
        "n": 1,
        "text": "t",
        "owner": "U0SAMPLE",
        "due": "2026-01-01",
        "items": [{"n": 1, "text": "t", "owner": "U0SAMPLE", "due": "2026-01-01"}],
    }


_SAMPLE_WEBHOOK = {
    "version": "4",
    "receiver": "r",
    "groupKey": "{}:{}",
    "status": "firing",
    "commonLabels": {"severity": "warning", "alertname": "A"},
    "commonAnnotations": {"summary": "s", "runbook": "https://runbooks.example.com/a"},
    "alerts": [{"status": "firing", "labels": {}, "startsAt": "2026-01-01T00:00:00Z", "fingerprint": "f"}],
}


def check_templates(messages: Messages, now: datetime) -> None:
    """Render every template once with a sample incident, so a broken one fails at start-up.

    Raises ConfigError naming the template; Block Kit output must also pass slack_sdk's models.
    """
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.blocks import Block

    from bot.core import events as ev
    from bot.errors import ConfigError

    state, events = sample_incident(now)
    open_state, _ = sample_incident(now, resolved=False)
    outputs = {
        "summary.json.j2": messages.summary_blocks(open_state, now),
        "announcement.json.j2": messages.announcement_blocks(state),
    }
    views = {
        "declare_modal.json.j2": messages.declare_modal("U0SAMPLE", "C0SAMPLE"),
        "update_modal.json.j2": messages.update_modal(open_state),
        "mitigate_modal.json.j2": messages.mitigate_modal(open_state),
        "resolve_modal.json.j2": messages.resolve_modal(open_state),
    }
    messages.summary_blocks(state, now)
    for name, view in views.items():
        outputs[name] = view["blocks"]
    messages.summary_text(state)
    messages.announcement_text(state)
    messages.topic(state)
    messages.status(state, now)
    messages.help()
    messages.channel_ready(state)
    messages.declared_reply(state, "inc-0-sample")
    messages.postmortem(state)
    from bot.core.alerts import parse_webhook

    messages.triage(parse_webhook(_SAMPLE_WEBHOOK))
    messages.action_list(
        [{"incident": "INC-0", "n": 1, "text": "t", "owner": None, "due": None, "status": "open"}],
        "INC-0",
        mine=True,
        hidden=1,
    )
    from bot.core.metrics import compute_metrics

    messages.metrics(compute_metrics([state], now - timedelta(days=30), now + timedelta(seconds=1)))
    heads = [
        HeadView("INC-0", state.title, state.severity, state.status, state.commander, None, now),
        HeadView("INC-1", "", state.severity, state.status, None, None, now, hidden=True),
    ]
    messages.private_refusal(state)
    messages.incident_list(heads, now)
    for event in events:
        if event.type == ev.NOTICE_DUE:
            messages.notice(event, state)
        else:
            messages.timeline_entry(event, state)
    for name, blocks in outputs.items():
        for block in blocks:
            parsed = Block.parse(block)
            if parsed is None or type(parsed) is Block:
                raise ConfigError(f"template {name} produced an unknown block: {block.get('type')!r}")
            try:
                parsed.validate_json()
            except SlackObjectFormationError as exc:
                raise ConfigError(f"template {name} produced an invalid block: {exc}") from exc
