"""Alert intake: an Alertmanager group becomes an incident, a triage post, or only a record."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.core import audience
from bot.core.alerts import ALERT_ACTOR, AlertGroup, decide_alerts, incident_fields
from bot.core.audience import Destination
from bot.core.commands import Command
from bot.core.decide import decide_declare
from bot.core.errors import DuplicateDelivery
from bot.core.events import Event, NewEvent
from bot.core.runbook import match_runbook
from bot.core.schedule import next_due_at
from bot.core.state import replay
from bot.service.paging import Paging

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertOutcome:
    action: str  # declare | triage | record
    incident: int | None = None
    post_to: Destination | None = None  # where a triage-grade group is shown


class AlertIntake(Paging):
    def receive_alerts(self, group: AlertGroup) -> AlertOutcome:
        """One Alertmanager notification: page -> an incident (one per group while it is open),
        ticket -> the triage channel, anything else -> only recorded. Every one is logged."""
        now = self.clock()
        action = self.policy.alerts.classify(group.severity_label)
        incident = self._incident_from_alerts(group, now) if action == "declare" else None
        self.store.log_alert(
            {
                "received_at": now,
                "alert_group": group.identity,
                "status": group.status,
                "severity": group.severity_label[:32],
                "action": action,
                "incident": incident,
            }
        )
        if action == "triage":
            return AlertOutcome(action, incident, audience.triage_channel(self.policy.alerts.triage_channel))
        return AlertOutcome(action, incident)

    def _incident_from_alerts(self, group: AlertGroup, now: datetime) -> int | None:
        latest = self.store.latest_for_alert_group(group.identity)
        if latest is not None and not self.state_of(latest).is_resolved:
            self._record_decided(latest, lambda state, at: decide_alerts(state, group, at, self.policy.slos))
            return latest
        if group.status == "resolved":
            return latest  # nothing open for it: a late resolution of a closed incident
        severity = self.policy.alerts.declare[group.severity_label]
        fields = incident_fields(group, severity, self.policy.slos)
        command = Command("declare", severity=severity, text=fields.pop("title"))
        responders = self.policy.severity(severity).responders
        source = f"alertgroup:{group.identity}|{group.episode}"
        (declared,) = decide_declare(
            command,
            ALERT_ACTOR,
            now,
            self.policy,
            None,
            commander=responders[0] if responders else "",
            source=source,
            extra=fields,
        )
        then = self._runbook_for(group, now)
        first = [Event.stored(e, 0, seq) for seq, e in enumerate([declared, *then], 1)]
        try:
            event = self.store.declare(
                declared, next_due_at(replay(first), self.policy), source, group.identity, then=then
            )
        except DuplicateDelivery as dup:
            return dup.incident  # a re-send raced the first delivery
        try:
            self.page_if_due(event.incident)  # level 1 at once; else the heartbeat pages it
        except Exception:
            log.exception("INC-%s: could not decide paging now; the heartbeat will", event.incident)
        return event.incident

    def _runbook_for(self, group: AlertGroup, now: datetime) -> list[NewEvent]:
        """The runbook the alert names (annotation, alert name, service label), attached with the
        declaration itself: one write, so no incident from that alert is ever without it."""
        matched = match_runbook(
            self.policy.runbooks,
            group.annotations("runbook", "runbook_url"),
            group.alertname,
            group.service,
        )
        if matched is None:
            return []
        runbook, how = matched
        return [NewEvent(ALERT_ACTOR, now, runbook.attached(how, now))]
