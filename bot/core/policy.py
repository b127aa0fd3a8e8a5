"""The team's rules as plain data: severities, their responders, where to announce."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.core.oncall_config import OnCallConfig
from bot.core.runbook import RunbookLibrary
from bot.core.slo import SLO
from bot.core.status_page import StatusPageConfig

STATUSES = ("investigating", "identified", "monitoring", "mitigated", "resolved")
UPDATE_STATUSES = ("investigating", "identified", "monitoring")
ROLES = ("commander", "comms", "scribe")


@dataclass(frozen=True)
class SeverityLevel:
    name: str
    description: str
    responders: tuple[str, ...] = ()


DEFAULT_SEVERITIES = (
    SeverityLevel("sev1", "Critical: a core service is down or data is at risk for many customers"),
    SeverityLevel("sev2", "Major: a key feature is broken or badly degraded for many customers"),
    SeverityLevel("sev3", "Minor: partial degradation with a workaround, or few customers affected"),
    SeverityLevel("sev4", "Low: no customer impact yet; internal tooling or a risk to watch"),
)


DEFAULT_UPDATE_EVERY = {
    "sev1": timedelta(minutes=15),
    "sev2": timedelta(minutes=30),
    "sev3": timedelta(minutes=60),
}


@dataclass(frozen=True)
class Schedule:
    """When the bot speaks without being asked. A severity missing from `update_every` gets no updates."""

    update_every: Mapping[str, timedelta] = field(default_factory=lambda: dict(DEFAULT_UPDATE_EVERY))
    mitigated_every: timedelta | None = timedelta(minutes=60)
    ack_timeout: timedelta | None = timedelta(minutes=10)
    postmortem_after: timedelta | None = timedelta(days=2)
    follow_up_after: timedelta | None = timedelta(days=14)


@dataclass(frozen=True)
class AlertPolicy:
    """Which Alertmanager `severity` labels page (declare, at which severity), which make a ticket
    (posted to the triage channel) and, by elimination, which are only recorded."""

    declare: Mapping[str, str] = field(default_factory=lambda: {"page": "sev1", "critical": "sev1"})
    triage: tuple[str, ...] = ("warning",)
    triage_channel: str = "#alerts-triage"

    def classify(self, severity_label: str) -> str:
        if severity_label in self.declare:
            return "declare"
        return "triage" if severity_label in self.triage else "record"


@dataclass(frozen=True)
class Policy:
    severities: tuple[SeverityLevel, ...] = DEFAULT_SEVERITIES
    default_severity: str = "sev3"
    channel_prefix: str = "inc"
    announcement_channel: str = "#incidents"
    schedule: Schedule = field(default_factory=Schedule)
    # Availability targets in percent by service name, for error budgets (e.g. {"checkout": 99.9}).
    services: Mapping[str, float] = field(default_factory=dict)
    alerts: AlertPolicy = field(default_factory=AlertPolicy)
    # Who may resolve or reopen: "commander" (the incident's current commander) or "anyone".
    resolve_by: str = "commander"
    # Schedules, people and escalation policies (bot.core.oncall_config); empty unless configured.
    oncall: OnCallConfig = field(default_factory=OnCallConfig)
    # Service level objectives (bot.core.slo); `incident-bot slo rules` turns them into Prometheus rules.
    slos: tuple[SLO, ...] = ()
    # Where the bot says, once per window, that an SLO's error budget is exhausted (`slo_channel:`).
    slo_channel: str | None = None
    # The public status page and its Statuspage.io mirror (bot.core.status_page); off without components.
    status_page: StatusPageConfig = field(default_factory=StatusPageConfig)
    # The runbooks folder, read and checked (`runbooks:`); attached by alert or `/incident runbook`.
    runbooks: RunbookLibrary = field(default_factory=RunbookLibrary)
    # Pages also go to PagerDuty (set from PAGERDUTY_ROUTING_KEY at start, not from the file).
    pagerduty: bool = False
    # Publications are mirrored to Statuspage.io (set at start when STATUSPAGE_API_KEY is set and
    # status_page.statuspage is configured, not from the file alone).
    mirror_statuspage: bool = False

    def __post_init__(self) -> None:
        names = [s.name for s in self.severities]
        if len(set(names)) != len(names) or not names:
            raise ValueError("severity names must be unique and at least one must exist")
        if self.default_severity not in names:
            raise ValueError(f"default severity {self.default_severity!r} is not one of {names}")
        if self.resolve_by not in ("commander", "anyone"):
            raise ValueError(f"resolve_by must be commander or anyone, not {self.resolve_by!r}")

    @property
    def severity_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.severities)

    def severity(self, name: str) -> SeverityLevel:
        for level in self.severities:
            if level.name == name:
                return level
        raise KeyError(name)
