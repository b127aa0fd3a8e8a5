"""The on-call part of the team's rules as plain data: people, schedules and escalation policies.

Built from the config file by `bot.config_oncall`; read by the `oncall` commands, the ICS feed and
(later) paging. Who holds a schedule at an instant is `bot.core.oncall`'s business; this module only
says which schedules and policies exist and which policy an incident follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.core.oncall import OnCallSchedule, slug_for

DEFAULT_POLICY = "default"  # the name of the seed's single `escalation_policy:` list
# Severities page by default when they are among the first this many (the seed's "page" class).
PAGING_SEVERITIES = 2


@dataclass(frozen=True)
class Target:
    """Whom a level pages: a schedule (by name), or one person (a Slack user id or an email).
    `written` is how the config named it (a `people:` name, say), for messages."""

    kind: str  # "schedule" | "user"
    value: str
    written: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("schedule", "user"):
            raise ValueError(f"{self.kind!r} is not a target kind (schedule or user)")
        if not self.written:
            object.__setattr__(self, "written", self.value)


@dataclass(frozen=True)
class EscalationLevel:
    """Targets paged together; `timeout` (None on a last level: it waits for ever, or repeats)."""

    targets: tuple[Target, ...]
    timeout: timedelta | None = None

    def __post_init__(self) -> None:
        if not self.targets:
            raise ValueError("an escalation level needs at least one target")


@dataclass(frozen=True)
class EscalationPolicy:
    """Levels in order; after the last one the whole list runs `repeat` more times."""

    name: str
    levels: tuple[EscalationLevel, ...]
    repeat: int = 0

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError(f"escalation policy {self.name!r} has no levels")
        if self.repeat < 0:
            raise ValueError("repeat must be 0 or more")


@dataclass(frozen=True)
class OnCallConfig:
    """Everything on-call the config file says. Empty by default: no schedules, nobody paged."""

    time_zone: str | None = None
    people: Mapping[str, str] = field(default_factory=dict)  # a name -> a Slack user id or an email
    schedules: tuple[OnCallSchedule, ...] = ()
    usergroups: Mapping[str, str] = field(default_factory=dict)  # schedule name -> Slack user group id
    policies: Mapping[str, EscalationPolicy] = field(default_factory=dict)
    # Each severity's policy name, or None where it does not page (`page: false`, or no policy at all).
    severity_policy: Mapping[str, str | None] = field(default_factory=dict)
    service_policy: Mapping[str, str] = field(default_factory=dict)  # for alerts with a `service` label
    handoff_channel: str | None = None

    def schedule(self, name_or_slug: str) -> OnCallSchedule | None:
        """The schedule named `name_or_slug` (its name, any case, or its slug)."""
        wanted = slug_for(name_or_slug)
        return next((s for s in self.schedules if s.slug == wanted), None)

    def policy_for(self, severity: str, service: str | None = None) -> EscalationPolicy | None:
        """The policy an incident of `severity` follows (a service's own policy first); None: no paging."""
        name = self.severity_policy.get(severity)
        if name is None:
            return None
        if service is not None and service in self.service_policy:
            name = self.service_policy[service]
        return self.policies.get(name)

    def users(self) -> tuple[str, ...]:
        """Every user id and email the schedules and policies name, each once, in order of first mention."""
        seen: dict[str, None] = {}
        for schedule in self.schedules:
            for layer in schedule.layers:
                seen.update(dict.fromkeys(layer.users))
        for policy in self.policies.values():
            for level in policy.levels:
                seen.update(dict.fromkeys(t.value for t in level.targets if t.kind == "user"))
        return tuple(seen)

    def emails(self) -> tuple[str, ...]:
        return tuple(user for user in self.users() if "@" in user)
