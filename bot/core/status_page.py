"""The public status page as plain data: its config, and the statuses customers may read.

Nothing here knows an incident's internal title, people or notes. What is public is only what a
person chose to publish: each `StatusPagePublished` event (bot.core.events) carries exactly the
public title, the message, the public status and the affected components' statuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Statuspage's words, so its public API shape and its Manage API take them as they are.
PUBLIC_STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage")
PUBLISH_BY = ("roles", "anyone")  # roles: the commander or comms


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
