"""View-models: incident state and events turned into the plain values templates show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core import events as ev
from bot.core import postmortem, runbook_report
from bot.core.alerts import parse_webhook
from bot.core.commands import USAGE
from bot.core.errors import ConfigError, FormErrors, UserError
from bot.core.events import Event, fields_of
from bot.core.metrics import compute_metrics
from bot.core.oncall_events import BudgetExhaustedNoticed
from bot.core.policy import UPDATE_STATUSES, Policy
from bot.core.replies import REPLIES, Reply
from bot.core.runbook import UPDATE_RUNBOOK, Runbook, RunbookLibrary, Suggestion
from bot.core.runbook import suggestions as runbook_suggestions
from bot.core.schedule import NOTICE_KINDS, STATUS_UPDATE
from bot.core.state import IncidentState, replay
from bot.core.status_page import COMPONENT_STATUSES, PUBLIC_STATUSES, StatusPageConfig
from bot.render.renderer import REPLIES_FILE, Renderer
from bot.render.runbook_views import checklist_view, runbook_list_view
from bot.render.status_page import render_status_samples


def incident_view(state: IncidentState, now: datetime | None = None) -> dict[str, Any]:
    end = state.facts.resolved_at or now
    return {
        "key": state.key,
        "number": state.number,
        "title": state.facts.title,
        "severity": state.facts.severity.upper(),
        "status": state.facts.status.capitalize(),
        "is_resolved": state.is_resolved,
        "commander": state.commander,
        "roles": dict(sorted(state.facts.roles.items())),
        "runbook": _link(state.alert.link.runbook) if state.alert.link else None,
        "dashboard": state.alert.link.dashboard if state.alert.link else None,
        "roles_text": " · ".join(f"{role}: <@{user}>" for role, user in sorted(state.facts.roles.items())),
        "declared_by": state.facts.declared_by,
        "declared_at": state.facts.declared_at,
        "acknowledged_by": state.facts.acknowledged_by,
        "acknowledged_at": state.facts.acknowledged_at,
        "mitigated_at": state.facts.mitigated_at,
        "resolved_at": state.facts.resolved_at,
        "resolution": state.facts.resolution,
        "impact": state.facts.impact,
        "root_cause": state.facts.root_cause,
        "last_update_at": state.facts.last_update_at,
        "last_update_text": state.facts.last_update_text,
        "duration_seconds": (end - state.facts.declared_at).total_seconds() if end else None,
        "channel_id": state.slack.channel_id,
        "channel_name": state.slack.channel_name,
        "slo_burns": [slo_burn_view(b) for b in state.alert.slo_burns.values()],
    }


def _link(value: str | None) -> str | None:
    """An annotation's link, for a link button: only a web address (an annotation may name a runbook
    of the folder instead, which is attached as a checklist)."""
    return value if value and value.startswith(("https://", "http://")) else None


def slo_burn_view(burn: ev.SLOBurn) -> dict[str, Any]:
    """An SLO burn-rate alert's figures, as text: percentages without trailing zeros."""

    def percent(share: float | None) -> str | None:
        return None if share is None else f"{round(share * 100, 3):.10g}%"

    return {
        "name": burn.name,
        "slug": burn.slo,
        "known": burn.window is not None,
        "window": burn.window,
        "objective": percent(burn.objective),
        "long": burn.long,
        "short": burn.short,
        "severity": burn.severity,
        "burn_rate": None if burn.burn_rate is None else f"{burn.burn_rate:.10g}x",
        "budget_spent": percent(burn.budget_spent),
    }


def publication_view(state: IncidentState, page: StatusPageConfig) -> dict[str, Any]:
    """What the publish form starts from: the latest publication's title and status, and each
    component's status as published (operational where none was). Only public values; the message
    starts empty, so nothing is told twice by a careless submit."""
    latest = state.public.latest
    current = {c.component: c.status for c in latest.components} if latest else {}
    return {
        "public_title": latest.public_title if latest else "",
        "status": latest.status if latest else PUBLIC_STATUSES[0],
        "private": state.private,
        "components": [
            {"name": c.name, "status": current.get(c.name, "operational")} for c in page.components
        ],
    }


def event_view(event: Event) -> dict[str, Any]:
    data = fields_of(event.payload)
    return {"type": event.type, "actor": event.actor, "at": event.at, "seq": event.seq, "data": data}


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
            "summary.json.j2",
            incident=incident_view(state, now),
            severities=self.policy.severities,
            publishable=self.policy.status_page.enabled,
            # Once resolved: action items the runbooks' use suggests, each with Add.
            suggestions=self.suggestion_texts(state) if state.is_resolved else [],
        )

    def declare_modal(self, user: str, origin_channel: str | None) -> dict[str, Any]:
        return self.renderer.view(
            "declare_modal.json.j2",
            user=user,
            origin_channel=origin_channel,
            severities=self.policy.severities,
            default_severity=self.policy.default_severity,
        )

    def update_modal(self, state: IncidentState, publish: bool = False) -> dict[str, Any]:
        """With `publish` (the incident is published and the person may publish), the modal also
        offers "Also publish to the status page", its own public message, status and components."""
        return self.renderer.view(
            "update_modal.json.j2",
            incident=incident_view(state),
            statuses=UPDATE_STATUSES,
            public=publication_view(state, self.policy.status_page) if publish else None,
            public_statuses=PUBLIC_STATUSES,
            component_statuses=COMPONENT_STATUSES,
        )

    def mitigate_modal(self, state: IncidentState) -> dict[str, Any]:
        return self.renderer.view("mitigate_modal.json.j2", incident=incident_view(state))

    def resolve_modal(self, state: IncidentState, closing: bool = False) -> dict[str, Any]:
        """With `closing` (customers were told about it), it asks for the public closing message."""
        public = None
        if closing:
            title = publication_view(state, self.policy.status_page)["public_title"]
            public = {"public_title": title, "message": self.public_resolution(title)}
        return self.renderer.view("resolve_modal.json.j2", incident=incident_view(state), closing=public)

    def publish_modal(self, state: IncidentState) -> dict[str, Any]:
        return self.renderer.view(
            "publish_modal.json.j2",
            incident={"key": state.key, "number": state.number},
            public=publication_view(state, self.policy.status_page),
            public_statuses=PUBLIC_STATUSES,
            component_statuses=COMPONENT_STATUSES,
        )

    def public_resolution(self, public_title: str) -> str:
        """The public closing message `/incident resolve <text>` publishes (the team's template)."""
        return self.renderer.text("status_page_resolved.txt.j2", public_title=public_title)

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

    def postmortem(self, state: IncidentState, names: Mapping[str, str] | None = None) -> str:
        """The Markdown postmortem, read outside Slack: people and channels by `names` (id -> name,
        from the name cache), else by id. A function of the log and those names alone (no clock),
        so it is reproducible."""
        text = self.renderer.text(
            "postmortem.md.j2",
            names=dict(names or {}),
            incident=incident_view(state),
            timeline=postmortem.timeline_rows(state),
            publications=postmortem.publication_rows(state),
            sections=postmortem.sections(state),
            actions=postmortem.action_rows(state, today=None),
            figures=postmortem.figures(state),
            runbook=runbook_report.runbook_section(state),
            suggestions=self.suggestion_texts(state),
        )
        return text + "\n"

    def action_list(self, items: list[dict[str, Any]], key: str, mine: bool, hidden: int = 0) -> str:
        return self.renderer.text("action_list.mrkdwn.j2", items=items, key=key, mine=mine, hidden=hidden)

    def metrics(self, metrics: Any) -> str:
        return self.renderer.text("metrics.mrkdwn.j2", m=metrics)

    def slo_status(self, document: Mapping[str, Any]) -> str:
        """`/incident slo` and `incident-bot slo status`: live budgets, or the labelled fallback."""
        return self.renderer.text("slo_status.mrkdwn.j2", d=document)

    def slo_exhausted(self, notice: Any) -> str:
        """Said once per window in `slo_channel` when an SLO's error budget is gone."""
        return self.renderer.text("slo_exhausted.mrkdwn.j2", n=notice)

    def oncall(self, report: Mapping[str, Any]) -> str:
        """`incident-bot oncall`'s text from its --json report."""
        return self.renderer.text("oncall.txt.j2", r=report)

    def oncall_now(self, view: Mapping[str, Any]) -> str:
        """`/incident oncall`: who holds each schedule, next, overrides and handoffs (reader's zone)."""
        return self.renderer.text("oncall_now.mrkdwn.j2", v=view)

    def oncall_handoff(self, view: Mapping[str, Any]) -> str:
        """A handoff: who is on call now, and the open incidents they inherit."""
        return self.renderer.text("oncall_handoff.mrkdwn.j2", v=view)

    def oncall_coverage(self, report: Mapping[str, Any], weeks: int) -> str:
        return self.renderer.text("oncall_coverage.txt.j2", r=report, weeks=weeks)

    def triage(self, group: Any) -> str:
        return self.renderer.text("triage.mrkdwn.j2", group=group)

    def page_blocks(self, page: Event, state: IncidentState) -> list[dict[str, Any]]:
        return self.renderer.blocks("page.json.j2", page=event_view(page), incident=incident_view(state))

    def page_text(self, page: Event, state: IncidentState) -> str:
        return self.renderer.text(
            "page_fallback.txt.j2", page=event_view(page), incident=incident_view(state)
        )

    def notice(self, event: Event, state: IncidentState) -> str:
        """A scheduled status update is the attached runbook's communication template, filled,
        when the runbook has one (as of the update's event: later ticks are not in it)."""
        communication = None
        if isinstance(event.payload, ev.NoticeDue) and event.payload.kind == STATUS_UPDATE:
            communication = runbook_report.communication_for(state, before_seq=event.seq)
        return self.renderer.text(
            "notice.mrkdwn.j2",
            notice=event_view(event),
            incident=incident_view(state),
            communication=communication,
            fill_communication=runbook_report.fill_communication,
        )

    def topic(self, state: IncidentState) -> str:
        return self.renderer.text("topic.txt.j2", incident=incident_view(state))

    def status(self, state: IncidentState, now: datetime) -> str:
        return self.renderer.text("status.mrkdwn.j2", incident=incident_view(state, now))

    def incident_list(self, heads: list[HeadView], now: datetime) -> str:
        return self.renderer.text("list.mrkdwn.j2", incidents=heads, now=now)

    def help(self) -> str:
        return self.renderer.text("help.mrkdwn.j2", usage=USAGE, severities=self.policy.severities)

    def runbook_checklist_blocks(self, state: IncidentState, name: str, part: int) -> list[dict[str, Any]]:
        """Message `part` of runbook `name`'s checklist, as it stands in `state`."""
        return self.renderer.blocks("runbook_checklist.json.j2", checklist=checklist_view(state, name, part))

    def runbook_checklist_text(self, state: IncidentState, name: str, part: int) -> str:
        return self.renderer.text(
            "runbook_checklist_fallback.txt.j2", checklist=checklist_view(state, name, part)
        )

    def suggestion(self, suggestion: Suggestion) -> str:
        """An action item the runbooks' use suggests, in words (the text the item is added with)."""
        if suggestion.kind == UPDATE_RUNBOOK:
            steps = tuple(str(n) for n in suggestion.steps)
            return self.reply(
                Reply(
                    "suggestion_update_runbook",
                    {"key": suggestion.incident, "name": suggestion.runbook, "steps": steps},
                )
            )
        return self.reply(
            Reply(
                "suggestion_write_runbook",
                {"key": suggestion.incident, "alert": suggestion.alertname or None},
            )
        )

    def suggestion_texts(self, state: IncidentState) -> list[str]:
        return [self.suggestion(s) for s in runbook_suggestions(state)]

    def runbook_list(self, library: RunbookLibrary, state: IncidentState | None) -> str:
        """`/incident runbook`: the runbooks, and which are attached to the incident asked about."""
        return self.renderer.text("runbook_list.mrkdwn.j2", v=runbook_list_view(library, state))

    def reply(self, reply: Reply) -> str:
        """A short answer to a person, from the reply catalogue (`replies.yml`)."""
        return self.renderer.reply(reply.key, reply.data)

    def user_error(self, error: UserError) -> str:
        """A person's mistake as shown to them: the reply, and the command's usage line under it."""
        if isinstance(error, FormErrors):
            text = "; ".join(self.reply(r) for r in error.errors.values())
        else:
            text = self.reply(error.reply)
        return f"{text}\n{error.usage}" if error.usage else text


def sample_incident(now: datetime, resolved: bool = True) -> tuple[IncidentState, list[Event]]:
    """An incident that has been through every step, for checking templates at start-up."""
    steps: list[ev.Payload] = [
        ev.IncidentDeclared(title="Sample & <check>", severity="sev1", commander="U0SAMPLE"),
        ev.SlackChannelCreated(channel_id="C0SAMPLE", name="inc-0-sample"),
        ev.AlertsFiring(
            fingerprints=("f2", "f3", "f4"),
            summaries=("s", "s", "s"),
            slo_burns=(
                ev.SLOBurn("sample", "Sample & <check>", "1h", "5m", "page", "30d", 0.999, 14.4, 0.02),
                ev.SLOBurn("sample", "Sample & <check>", "2h", "7m", "page", "30d", 0.999),
                ev.SLOBurn("gone", "gone", "1h", "5m", "page"),
            ),
        ),
        ev.AlertsResolved(group="g"),
        ev.Paged(key="page@1:0", level=1, users=("U0SAMPLE",), targets=("Primary",), unfilled=("Secondary",)),
        ev.Paged(key="manual@6", users=("U0OTHER",), targets=("<@U0OTHER>",), message="Sample & <check>"),
        ev.IncidentAcknowledged(),
        _sample_runbook(now),
        ev.RunbookStepChecked(name="sample", step=1, outcome="done", title="Step 1: Sample & <check>"),
        ev.RunbookStepChecked(name="sample", step=2, outcome="skipped", title="Sample & <check>"),
        ev.RunbookEscalated(
            name="sample",
            key="runbook@sample",
            target="@sample & <leads>",
            after_seconds=1200,
            users=("U0SAMPLE",),
        ),
        ev.StatusUpdated(message="m", status="identified", previous_status="investigating"),
        ev.StatusPagePublished(
            public_title="Sample & <check>",
            message="Sample & <check>",
            status="identified",
            components=(ev.ComponentStatus("Sample & <check>", "partial_outage"),),
        ),
        ev.SeverityChanged(previous_severity="sev1", to="sev2", reason="r"),
        ev.RoleAssigned(role="comms", user="U0OTHER"),
        ev.NoteAdded(text="n"),
        ev.IncidentMitigated(note="m"),
        ev.IncidentResolved(summary="s"),
        ev.IncidentReopened(reason="r"),
        *[_sample_notice(kind, now) for kind in NOTICE_KINDS],
        ev.IncidentResolved(summary="s"),
    ]
    if not resolved:
        steps = steps[:3]
    events = [Event(0, i, "U0SAMPLE", now, payload) for i, payload in enumerate(steps, 1)]
    return replay(events), events


def _sample_runbook(now: datetime) -> ev.RunbookAttached:
    return ev.RunbookAttached(
        name="sample",
        title="Sample & <check>",
        steps=(
            ev.RunbookStep(
                "Step 1: Sample & <check>", text="t & <t>", commands=("a && b < c > d",), links=("https://x",)
            ),
            ev.RunbookStep("Sample & <check>", section="Mitigation"),
            ev.RunbookStep("Never reached & <check>"),
        ),
        symptoms="Sample & <check>",
        impact="Sample & <check>",
        communication="🚨 Incident: x\nStatus: x\nImpact: Sample & <check>\nActions:\n- a & <b>\nOther & <line>",
        escalation=ev.RunbookEscalation(
            1200, "@sample & <leads>", "If not resolved in 20 minutes, escalate to <leads>"
        ),
        escalate_at=now,
        matched_by="annotation",
    )


def _sample_notice(kind: str, now: datetime) -> ev.NoticeDue:
    return ev.NoticeDue(
        kind=kind,
        key=f"{kind}@{now.isoformat()}",
        due_at=now,
        status="identified",
        severity="sev1",
        last_update_at=now,
        last_update_text="t",
        next_update_at=now,
        mention=("U0SAMPLE",),
        n=1,
        text="t",
        owner="U0SAMPLE",
        due="2026-01-01",
        items=(ev.FollowUpItem(1, "t", "U0SAMPLE", "2026-01-01"),),
    )


_SAMPLE_WEBHOOK = {
    "version": "4",
    "receiver": "r",
    "groupKey": "{}:{}",
    "status": "firing",
    "commonLabels": {"severity": "warning", "alertname": "A"},
    "commonAnnotations": {"summary": "s", "runbook": "https://runbooks.example.com/a"},
    "alerts": [{"status": "firing", "labels": {}, "startsAt": "2026-01-01T00:00:00Z", "fingerprint": "f"}],
}


def render_every_template(messages: Messages, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Render every template once with a sample incident (a broken one raises ConfigError naming
    it); return the Block Kit each Block Kit template produced, by template name."""
    state, events = sample_incident(now)
    open_state, _ = sample_incident(now, resolved=False)
    outputs = {
        "summary.json.j2": messages.summary_blocks(open_state, now),
        "announcement.json.j2": messages.announcement_blocks(state),
        "page.json.j2": messages.page_blocks(state.paging.pages[0], state),
    }
    views = {
        "declare_modal.json.j2": messages.declare_modal("U0SAMPLE", "C0SAMPLE"),
        "update_modal.json.j2": messages.update_modal(open_state),
        "mitigate_modal.json.j2": messages.mitigate_modal(open_state),
        "resolve_modal.json.j2": messages.resolve_modal(open_state),
        "publish_modal.json.j2": messages.publish_modal(state),
    }
    messages.summary_blocks(state, now)
    # The modals' status page parts: offered once published (the sample is), asked on resolve.
    outputs["update_modal.json.j2 (publish)"] = messages.update_modal(state, publish=True)["blocks"]
    outputs["resolve_modal.json.j2 (closing)"] = messages.resolve_modal(state, closing=True)["blocks"]
    for name, view in views.items():
        outputs[name] = view["blocks"]
    messages.summary_text(state)
    messages.announcement_text(state)
    for page in state.paging.pages:
        messages.page_blocks(page, state)
        messages.page_text(page, state)
    messages.topic(state)
    messages.status(state, now)
    messages.help()
    render_every_reply(messages)
    messages.postmortem(state)
    messages.triage(parse_webhook(_SAMPLE_WEBHOOK))
    messages.action_list(
        [{"incident": "INC-0", "n": 1, "text": "t", "owner": None, "due": None, "status": "open"}],
        "INC-0",
        mine=True,
        hidden=1,
    )
    messages.metrics(compute_metrics([state], now - timedelta(days=30), now + timedelta(seconds=1)))
    heads = [
        HeadView(
            "INC-0", state.facts.title, state.facts.severity, state.facts.status, state.commander, None, now
        ),
        HeadView("INC-1", "", state.facts.severity, state.facts.status, None, None, now, hidden=True),
    ]
    messages.incident_list(heads, now)
    messages.oncall(_SAMPLE_ONCALL)
    messages.oncall_coverage(_SAMPLE_COVERAGE, 4)
    messages.oncall_now(_SAMPLE_ONCALL_NOW)
    messages.oncall_handoff(_SAMPLE_HANDOFF)
    for document in _SAMPLE_SLO_STATUS:
        messages.slo_status(document)
    messages.slo_exhausted(_SAMPLE_EXHAUSTED)
    render_status_samples(messages.renderer, now)  # the public status page's templates
    outputs.update(render_runbook_samples(messages, state, now))
    for event in events:
        if isinstance(event.payload, ev.NoticeDue):
            messages.notice(event, state)
        else:
            messages.timeline_entry(event, state)
    return outputs


_SAMPLE_SLO: dict[str, Any] = {
    "name": "API <Availability> & co",
    "slug": "api-availability-co",
    "service": "checkout-api",
    "objective": 0.999,
    "window": "30d",
    "sli": 0.9985,
    "budget_minutes": 43.2,
    "budget_left_minutes": -21.6,
    "budget_left_percent": -50.0,
    "burn_rates": {"1h": 14.4, "6h": None},
    "exhausted": True,
}
_SAMPLE_SLO_STATUS: tuple[dict[str, Any], ...] = (
    {
        "at": "2026-01-01T00:00:00Z",
        "source": "prometheus",
        "slos": [_SAMPLE_SLO, {**_SAMPLE_SLO, "sli": None}],
    },
    {
        "at": "2026-01-01T00:00:00Z",
        "source": "incidents",
        "error": "Prometheus at http://p:9090 cannot be reached: refused",
        "slos": [{**_SAMPLE_SLO, "sli": None, "burn_rates": {}}],
    },
)
_SAMPLE_EXHAUSTED = BudgetExhaustedNoticed(
    "slo:api@2026-01-01T00:00:00Z", "api", "API <Availability>", "checkout-api", "30d", -12.5
)

_SAMPLE_ONCALL: dict[str, Any] = {
    "at": "2026-01-01T00:00:00Z",
    "schedules": [
        {"name": "Primary", "on_call": ["U0SAMPLE"], "since": "2025-12-29T09:00:00Z", "until": None},
        {"name": "Secondary", "on_call": [], "since": None, "until": "2026-01-02T00:00:00Z"},
    ],
}
_SAMPLE_ONCALL_NOW: dict[str, Any] = {
    "schedules": [
        {
            "name": "Sample & <check>",
            "users": ["U0SAMPLE"],
            "since": "Mon 30 Nov 09:00",
            "until": "Mon 7 Dec 09:00",
            "next": {"users": ["U0SAMPLE"], "since": "Mon 7 Dec 09:00"},
            "overrides": [
                {"id": 7, "user": "U0SAMPLE", "start": "x", "end": "y", "by": "U0SAMPLE", "at": "z"}
            ],
            "handoffs": [{"users": ["U0SAMPLE"], "at": "Mon 30 Nov 09:00"}],
        },
        {
            "name": "Gap",
            "users": [],
            "since": "a",
            "until": "b",
            "next": None,
            "overrides": [],
            "handoffs": [],
        },
    ],
    "zone": "Europe/Berlin",
    "from_slack": True,
}
_SAMPLE_HANDOFF: dict[str, Any] = {
    "schedule": "Sample & <check>",
    "users": ["U0SAMPLE"],
    "since": "2026-01-01 09:00 UTC",
    "until": "2026-01-08 09:00 UTC",
    "direct": True,
    "incidents": [
        {"key": "INC-0", "title": "Sample & <check>", "severity": "sev1", "channel_id": "C0SAMPLE"}
    ],
    "private": 1,
}
_SAMPLE_COVERAGE: dict[str, Any] = {
    "from": "2026-01-01T00:00:00Z",
    "to": "2026-01-29T00:00:00Z",
    "gaps": [{"schedule": "Primary", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"}],
    "overlaps": [
        {
            "user": "U0SAMPLE",
            "schedules": ["Primary", "Secondary"],
            "start": "2026-01-01T00:00:00Z",
            "end": "2026-01-01T01:00:00Z",
        }
    ],
    "hours": {"U0SAMPLE": 1.5},
    "unknown_emails": ["someone@example.com"],
}


def render_every_reply(messages: Messages) -> None:
    """Render each entry of the reply catalogue with its sample data; a catalogue that lacks a
    reply the bot gives, or holds one it does not know (a typo), is reported naming the key."""
    catalogue = set(messages.renderer.replies)
    unknown = sorted(catalogue - set(REPLIES))
    if unknown:
        raise ConfigError(f"template {REPLIES_FILE} has replies the bot does not give: {', '.join(unknown)}")
    for key, sample in REPLIES.items():
        messages.reply(Reply(key, sample))


def render_runbook_samples(
    messages: Messages, state: IncidentState, now: datetime
) -> dict[str, list[dict[str, Any]]]:
    """The runbook templates with the sample incident's runbook: its checklist as first posted, and
    as `state` (ticked, escalated, resolved) shows it with the summary's suggested action items;
    and the list `/incident runbook` shows."""
    attached = _sample_runbook(now)
    payloads: list[ev.Payload] = [
        ev.IncidentDeclared(title="Sample & <check>", severity="sev1", commander="U0SAMPLE"),
        ev.SlackChannelCreated(channel_id="C0SAMPLE", name="inc-0-sample"),
        attached,
    ]
    fresh = replay(Event(0, i, "U0SAMPLE", now, payload) for i, payload in enumerate(payloads, 1))
    runbook = Runbook(attached.name, attached.title, attached.steps, escalation=attached.escalation)
    messages.runbook_list(RunbookLibrary((runbook,)), state)
    messages.runbook_list(RunbookLibrary(), None)
    messages.runbook_checklist_text(fresh, attached.name, 0)
    return {
        "runbook_checklist.json.j2": messages.runbook_checklist_blocks(fresh, attached.name, 0),
        "runbook_checklist.json.j2 (settled)": messages.runbook_checklist_blocks(state, attached.name, 0),
        "summary.json.j2 (suggestions)": messages.summary_blocks(state, now),
    }
