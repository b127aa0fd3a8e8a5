"""The public status page's surfaces from its view (bot.core.public_view): HTML from the templates
folder (status_*.html.j2, autoescaped), Statuspage's public API v2 JSON shape, and Atom/RSS feeds.

Everything here reads only the `PublicView`, which holds only what people published."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from feedgen.feed import FeedGenerator

from bot.core import public_view as pv
from bot.core.events import ComponentStatus, Event, StatusPagePublished
from bot.core.public_view import ComponentView, PublicIncident, PublicView
from bot.core.status_page import Component, StatusPageConfig
from bot.render.renderer import Renderer

TIME_ZONE = "Etc/UTC"
STYLE_TEMPLATE = "status_style.css.j2"
PAGE_TEMPLATE = "status_page.html.j2"
INCIDENT_TEMPLATE = "status_incident.html.j2"
HISTORY_TEMPLATE = "status_history.html.j2"

# Statuspage's own descriptions of its indicator, so aggregators read what they expect.
DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
LABELS = {
    "operational": "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "none": "None",
    "minor": "Minor",
    "major": "Major",
    "critical": "Critical",
}


def iso(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as Statuspage writes its times."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def page_updated_at(view: PublicView) -> datetime:
    """When the page last changed: the latest publication, or (the bars move each day) the start
    of today, whichever is later."""
    midnight = datetime.combine(view.now.date(), time(), tzinfo=UTC)
    return max(view.updated_at, midnight) if view.updated_at else midnight


def incident_path(incident: PublicIncident) -> str:
    return f"/status/incidents/{incident.id}"


# HTML -------------------------------------------------------------------------------------------


class StatusPageHtml:
    """The three pages, each one template a team may replace (its folder's file of the same name);
    the style sheet is a template too, put inline so the page is one request."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer

    def _render(self, name: str, view: PublicView, base_url: str, **context: Any) -> str:
        style = self.renderer.text(STYLE_TEMPLATE)
        return self.renderer.text(
            name,
            page=view,
            description=DESCRIPTIONS[view.indicator],
            labels=LABELS,
            style=style,
            base_url=base_url,
            updated_at=page_updated_at(view),
            incident_path=incident_path,
            **context,
        )

    def status(self, view: PublicView, base_url: str) -> str:
        return self._render(PAGE_TEMPLATE, view, base_url)

    def incident(self, view: PublicView, incident: PublicIncident, base_url: str) -> str:
        return self._render(INCIDENT_TEMPLATE, view, base_url, incident=incident)

    def history(self, view: PublicView, base_url: str) -> str:
        by_day: dict[date, list[PublicIncident]] = {}
        for incident in view.history:
            by_day.setdefault(incident.created_at.astimezone(UTC).date(), []).append(incident)
        days = sorted(by_day.items(), reverse=True)
        return self._render(HISTORY_TEMPLATE, view, base_url, days=days, history_days=pv.HISTORY_DAYS)


def render_status_samples(renderer: Renderer, now: datetime) -> None:
    """Render each status page template once with sample publications, so a broken override
    stops the bot at start-up (ConfigError naming it) instead of breaking the public page."""
    config = StatusPageConfig(title="Sample", components=(Component("API"), Component("Dashboard")))
    sample = StatusPagePublished(
        "Sample incident", "Sample message", "investigating", (ComponentStatus("API", "partial_outage"),)
    )
    view = pv.build_view(config, [Event(1, 1, "U0SAMPLE", now - timedelta(days=1), sample)], now)
    html = StatusPageHtml(renderer)
    html.status(view, "https://status.example.com")
    html.incident(view, view.incidents[0], "https://status.example.com")
    html.history(view, "https://status.example.com")


# Statuspage's public API (v2) -------------------------------------------------------------------


def _page(view: PublicView, base_url: str) -> dict[str, Any]:
    return {
        "id": view.page_id,
        "name": view.title,
        "url": base_url,
        "time_zone": TIME_ZONE,
        "updated_at": iso(page_updated_at(view)),
    }


def _status(view: PublicView) -> dict[str, str]:
    return {"indicator": view.indicator, "description": DESCRIPTIONS[view.indicator]}


def _component(view: PublicView, component: ComponentView) -> dict[str, Any]:
    changed = component.updated_at or page_updated_at(view)
    return {
        "id": component.id,
        "name": component.name,
        "status": component.status,
        "created_at": iso(_created_at(view)),
        "updated_at": iso(changed),
        "position": component.position,
        "description": None,
        "showcase": True,
        "start_date": None,
        "group_id": None,
        "page_id": view.page_id,
        "group": False,
        "only_show_if_degraded": False,
    }


def _created_at(view: PublicView) -> datetime:
    """The page's first publication (else today): Statuspage's components carry a creation time."""
    first = min((i.created_at for i in view.incidents), default=None)
    return first or page_updated_at(view)


def _incident(view: PublicView, incident: PublicIncident, base_url: str) -> dict[str, Any]:
    components = {c.name: c for c in view.components}
    return {
        "id": incident.id,
        "name": incident.name,
        "status": incident.status,
        "created_at": iso(incident.created_at),
        "updated_at": iso(incident.updated_at),
        "monitoring_at": iso(incident.monitoring_at) if incident.monitoring_at else None,
        "resolved_at": iso(incident.resolved_at) if incident.resolved_at else None,
        "impact": incident.impact,
        "shortlink": base_url + incident_path(incident),
        "started_at": iso(incident.created_at),
        "page_id": view.page_id,
        "incident_updates": [
            {
                "id": update.id,
                "status": update.status,
                "body": update.body,
                "incident_id": incident.id,
                "created_at": iso(update.at),
                "updated_at": iso(update.at),
                "display_at": iso(update.at),
                "affected_components": [
                    {
                        "code": pv.component_id(a.name),
                        "name": a.name,
                        "old_status": a.old_status,
                        "new_status": a.new_status,
                    }
                    for a in update.affected
                ],
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for update in incident.updates
        ],
        "components": [_component(view, components[n]) for n in incident.components if n in components],
    }


RECENT_INCIDENTS = 50  # Statuspage's incidents.json lists the 50 most recent


def api_document(view: PublicView, name: str, base_url: str) -> dict[str, Any] | None:
    """The body of /api/v2/<name>.json, or None for a name Statuspage's API does not have here."""
    page = _page(view, base_url)
    if name == "status":
        return {"page": page, "status": _status(view)}
    if name == "components":
        return {"page": page, "components": [_component(view, c) for c in view.components]}
    if name == "incidents":
        recent = view.incidents[:RECENT_INCIDENTS]
        return {"page": page, "incidents": [_incident(view, i, base_url) for i in recent]}
    if name == "incidents/unresolved":
        return {"page": page, "incidents": [_incident(view, i, base_url) for i in view.open_incidents]}
    if name == "summary":
        return {
            "page": page,
            "components": [_component(view, c) for c in view.components],
            "incidents": [_incident(view, i, base_url) for i in view.open_incidents],
            "scheduled_maintenances": [],
            "status": _status(view),
        }
    return None


def api_json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


# Feeds ------------------------------------------------------------------------------------------


def feed(view: PublicView, base_url: str, kind: str) -> bytes:
    """The incidents of the last 90 days as an Atom (`kind="atom"`) or RSS 2.0 feed, one entry per
    incident (its updates, newest first, as the entry's content), newest incident first."""
    generator = FeedGenerator()
    home = base_url + "/status"
    generator.id(home)
    generator.title(f"{view.title} - incident history")
    generator.link(href=home, rel="alternate")
    generator.link(href=f"{base_url}/history.{kind}", rel="self")
    generator.description(f"{view.title} - incident history")
    generator.language("en")
    updated = page_updated_at(view)
    generator.updated(updated)
    generator.lastBuildDate(updated)  # not the build time: replicas serve the same bytes
    for incident in reversed(view.history):  # feedgen puts each added entry first
        entry = generator.add_entry()
        link = base_url + incident_path(incident)
        entry.id(link)
        entry.guid(link, permalink=True)
        entry.title(incident.name)
        entry.link(href=link)
        entry.published(incident.created_at)
        entry.updated(incident.updated_at)
        entry.description(_entry_text(incident))
    return generator.atom_str(pretty=True) if kind == "atom" else generator.rss_str(pretty=True)


def _entry_text(incident: PublicIncident) -> str:
    return "\n\n".join(f"{iso(u.at)} {LABELS.get(u.status, u.status)}: {u.body}" for u in incident.updates)
