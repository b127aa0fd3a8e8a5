"""Alertmanager webhook payloads (version 4): validation, classification and the incident they ask for.

Pure: the HTTP adapter hands in the decoded JSON; nothing here reads the clock or the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core import events as ev
from bot.core.commands import MAX_TITLE_LENGTH
from bot.core.errors import IncidentBotError
from bot.core.events import NewEvent
from bot.core.slo import SLO
from bot.core.slo_burn import burns_of
from bot.core.state import IncidentState
from bot.core.text import typed_text, without_control_characters

ZERO_TIME = "0001-01-01T00:00:00Z"


class BadPayload(IncidentBotError):
    """A webhook body that is not a valid Alertmanager v4 notification; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Alert:
    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime


@dataclass(frozen=True)
class AlertGroup:
    receiver: str
    group_key: str
    status: str  # firing | resolved
    alerts: tuple[Alert, ...]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]

    @property
    def identity(self) -> str:
        """receiver + groupKey: the same group, however often Alertmanager re-sends it."""
        return f"{self.receiver}|{self.group_key}"

    @property
    def severity_label(self) -> str:
        labels = [a.labels.get("severity", "") for a in self.alerts]
        return (self.common_labels.get("severity") or next((x for x in labels if x), "")).lower()

    @property
    def episode(self) -> str:
        """The group's earliest start: the same for every re-send of one outbreak, new for the next."""
        return min(a.starts_at for a in self.alerts).isoformat()

    @property
    def alertname(self) -> str | None:
        return self.common_labels.get("alertname") or next(
            (a.labels["alertname"] for a in self.alerts if a.labels.get("alertname")), None
        )

    @property
    def service(self) -> str | None:
        return self.common_labels.get("service") or next(
            (a.labels["service"] for a in self.alerts if a.labels.get("service")), None
        )

    def annotations(self, *names: str) -> list[str]:
        """Every distinct value of these annotations, common ones first."""
        found: list[str] = []
        for name in names:
            for source in (self.common_annotations, *(a.annotations for a in self.alerts)):
                value = source.get(name)
                if value and value not in found:
                    found.append(str(value))
        return found

    def annotation(self, *names: str) -> str | None:
        for name in names:
            for source in (self.common_annotations, *(a.annotations for a in self.alerts)):
                if source.get(name):
                    return str(source[name])
        return None


def parse_webhook(body: Any) -> AlertGroup:
    if not isinstance(body, dict):
        raise BadPayload("the body must be a JSON object")
    if str(body.get("version")) != "4":
        raise BadPayload(f"unsupported webhook version {body.get('version')!r}; this bot reads version 4")
    for name in ("receiver", "groupKey", "status", "alerts"):
        if name not in body:
            raise BadPayload(f"missing field {name!r}")
    if body["status"] not in ("firing", "resolved"):
        raise BadPayload(f"status must be firing or resolved, not {body['status']!r}")
    if not isinstance(body["alerts"], list) or not body["alerts"]:
        raise BadPayload("alerts must be a non-empty list")
    alerts = tuple(_alert(a, i) for i, a in enumerate(body["alerts"]))
    return AlertGroup(
        receiver=without_control_characters(str(body["receiver"])),
        group_key=without_control_characters(str(body["groupKey"])),
        status=body["status"],
        alerts=alerts,
        common_labels=_strings(body.get("commonLabels") or {}, "commonLabels"),
        common_annotations=_strings(body.get("commonAnnotations") or {}, "commonAnnotations"),
    )


def _alert(raw: Any, index: int) -> Alert:
    if not isinstance(raw, dict):
        raise BadPayload(f"alerts[{index}] must be an object")
    for name in ("status", "labels", "startsAt", "fingerprint"):
        if name not in raw:
            raise BadPayload(f"alerts[{index}] is missing {name!r}")
    try:
        starts_at = datetime.fromisoformat(str(raw["startsAt"]).replace("Z", "+00:00"))
    except ValueError:
        raise BadPayload(f"alerts[{index}].startsAt is not a timestamp") from None
    if starts_at.tzinfo is None:
        raise BadPayload(f"alerts[{index}].startsAt has no time zone")
    return Alert(
        fingerprint=without_control_characters(str(raw["fingerprint"])),
        status=str(raw["status"]),
        labels=_strings(raw["labels"], f"alerts[{index}].labels"),
        annotations=_strings(raw.get("annotations") or {}, f"alerts[{index}].annotations"),
        starts_at=starts_at,
    )


def _strings(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise BadPayload(f"{where} must be an object")
    # Labels and annotations are machine-sent text: control characters are dropped, not refused.
    return {without_control_characters(str(k)): without_control_characters(str(v)) for k, v in value.items()}


def incident_fields(group: AlertGroup, severity: str, slos: Sequence[SLO] = ()) -> dict[str, Any]:
    """What a declaration from this group records: title, severity, detection, service, links, and
    which SLOs' budgets its burn-rate alerts say are burning (`slos`: the config's, by slug)."""
    title = group.annotation("summary") or group.common_labels.get("alertname") or "Alert"
    title = typed_text(" ".join(title.split())[:MAX_TITLE_LENGTH])
    fields: dict[str, Any] = {
        "title": title,
        "severity": severity,
        "impact_started_at": min(a.starts_at for a in group.alerts),
        "alert": ev.AlertLink(
            group=group.identity,
            fingerprints=tuple(sorted(a.fingerprint for a in group.alerts)),
            runbook=group.annotation("runbook", "runbook_url"),
            dashboard=group.annotation("dashboard", "dashboard_url"),
            slo_burns=burns_of((a.labels for a in group.alerts if a.status == "firing"), slos),
            alertname=group.alertname,
        ),
    }
    description = group.annotation("description")
    if description:
        fields["impact"] = typed_text(description[:3000])
    service = group.service
    if service:
        fields["service"] = service
    return fields


ALERT_ACTOR = "alertmanager"


def decide_alerts(
    state: IncidentState, group: AlertGroup, now: datetime, slos: Sequence[SLO] = ()
) -> list[NewEvent]:
    """For an open incident this group declared: new alerts join its timeline (with the SLO burns
    they report); a resolved group is
    noted and, if no person has acted since the declaration, the incident moves to monitoring.
    A person closes it."""
    if state.is_resolved:
        return []
    if group.status == "firing":
        # Alerts not seen before join the incident; after a noted resolution, any firing alert is news.
        new = sorted(
            a.fingerprint
            for a in group.alerts
            if a.status == "firing"
            and (state.alert.resolved or a.fingerprint not in state.alert.fingerprints)
        )
        if not new:
            return []  # a re-send (group_interval, repeat_interval, retry): nothing new
        summaries = [
            a.annotations.get("summary") or a.labels.get("alertname", "")
            for a in group.alerts
            if a.fingerprint in new
        ]
        burns = burns_of((a.labels for a in group.alerts if a.fingerprint in new), slos)
        firing = ev.AlertsFiring(fingerprints=tuple(new), summaries=tuple(summaries), slo_burns=burns)
        return [NewEvent(ALERT_ACTOR, now, firing)]
    if state.alert.resolved:
        return []  # already noted, and no alert fired since
    events = [NewEvent(ALERT_ACTOR, now, ev.AlertsResolved(group=group.identity))]
    humans_acted = any(e.actor != ALERT_ACTOR for e in state.timeline[1:])
    if not humans_acted and state.facts.status != "monitoring":
        message = "All alerts of the group resolved; watching before closing."
        update = ev.StatusUpdated(message=message, status="monitoring", previous_status=state.facts.status)
        events.append(NewEvent(ALERT_ACTOR, now, update))
    return events
