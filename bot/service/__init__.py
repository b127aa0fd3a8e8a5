"""Use cases, one module per family: load -> decide -> append -> deliver. The only place the
adapters meet: commands and buttons, alert intake, Slack sync, the schedule, and reads."""

from __future__ import annotations

from bot.service.alert_intake import AlertIntake, AlertOutcome
from bot.service.base import Clock, Outcome, SlackPort, utc_now
from bot.service.commands import Commands
from bot.service.oncall_handoffs import OnCallHandoffs
from bot.service.schedule import Schedule
from bot.service.slack_sync import SlackSync


class IncidentService(Commands, AlertIntake, SlackSync, Schedule, OnCallHandoffs):
    """Every use case over one store, policy, set of templates and clock."""


__all__ = ["AlertOutcome", "Clock", "IncidentService", "Outcome", "SlackPort", "utc_now"]
