"""The team's rules as plain data: severities, their responders, where to announce."""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Policy:
    severities: tuple[SeverityLevel, ...] = DEFAULT_SEVERITIES
    default_severity: str = "sev3"
    channel_prefix: str = "inc"
    announcement_channel: str = "#incidents"
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [s.name for s in self.severities]
        if len(set(names)) != len(names) or not names:
            raise ValueError("severity names must be unique and at least one must exist")
        if self.default_severity not in names:
            raise ValueError(f"default severity {self.default_severity!r} is not one of {names}")

    @property
    def severity_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.severities)

    def severity(self, name: str) -> SeverityLevel:
        for level in self.severities:
            if level.name == name:
                return level
        raise KeyError(name)
