"""The public status page as plain data: its config, and the statuses customers may read.

Nothing here knows an incident's internal title, people or notes. What is public is only what a
person chose to publish: each `StatusPagePublished` event (bot.core.events) carries exactly the
public title, the message, the public status and the affected components' statuses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.core.events import ComponentStatus

# Statuspage's words, so its public API shape and its Manage API take them as they are.
PUBLIC_STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage")
PUBLISH_BY = ("roles", "anyone")  # roles: the commander or comms
# Statuspage's incident `impact` and its page indicator, from least to most.
IMPACTS = ("none", "minor", "major", "critical")
_IMPACT_OF = dict(zip(COMPONENT_STATUSES, IMPACTS, strict=True))


@dataclass(frozen=True)
class Component:
    """A part of the product as customers know it, in display order; `services` are our service
    names (`/incident service`, an alert's `service` label) that it stands for."""

    name: str
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatuspageMirror:
    """Atlassian Statuspage to keep in step: the page id, and Statuspage's component id for each of
    our component names (Statuspage refuses names where it wants ids)."""

    page_id: str
    component_ids: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StatusPageConfig:
    """`status_page:` in the config. No components: there is nothing to publish to."""

    title: str = "Status"
    components: tuple[Component, ...] = ()
    statuspage: StatuspageMirror | None = None
    publish_by: str = "roles"

    @property
    def enabled(self) -> bool:
        return bool(self.components)

    def component(self, name: str) -> Component | None:
        return next((c for c in self.components if c.name.lower() == name.lower()), None)

    def components_for_service(self, service: str) -> tuple[Component, ...]:
        return tuple(c for c in self.components if service in c.services)


def impact_of(components: Iterable[ComponentStatus]) -> str:
    """How bad it is, from what customers were told about the components alone (never from our
    severity names, which are internal): all operational is `none`; the worst component decides
    otherwise (degraded performance `minor`, partial outage `major`, major outage `critical`)."""
    worst = 0
    for component in components:
        if component.status not in _IMPACT_OF:
            raise ValueError(f"{component.status!r} is not a component status")
        worst = max(worst, IMPACTS.index(_IMPACT_OF[component.status]))
    return IMPACTS[worst]
