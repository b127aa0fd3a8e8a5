"""What the public status page shows, computed from the publications alone.

Input: every `StatusPagePublished` event of every incident (what a person chose to tell customers),
the `status_page` config and `now`. Nothing else about an incident is read, so nothing else can
reach the page. The same view feeds the HTML page, the Statuspage-shaped JSON API and the feeds.

Rules:
- An incident's latest publication is its public state; it replaces the earlier one's component
  statuses. A publication with status `resolved` ends the incident's effect on its components
  (a later, non-resolved one starts it again).
- A component's state at an instant is the worst state any incident's publication in force gives
  it (operational when none does). Its state now is that at `now`.
- The 90-day bars: for each component and UTC day, the worst state it had at any instant of that
  day, from the published states alone.
- The indicator (Statuspage's none/minor/major/critical) follows the components' current states;
  an incident's impact follows the worst component states it ever published.
- Public ids are stable and do not show the internal incident number (which counts private
  incidents too): 12 characters of a hash of the incident's first publication (its incident
  number, sequence number, who published it and when, to the microsecond). Who published is never
  shown, so the id cannot be guessed from what the page shows.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.core import events as ev
from bot.core.events import ComponentStatus, Event
from bot.core.status_page import COMPONENT_STATUSES, StatusPageConfig, impact_of

HISTORY_DAYS = 90
OPERATIONAL = COMPONENT_STATUSES[0]
RESOLVED = "resolved"
_RANK = {status: rank for rank, status in enumerate(COMPONENT_STATUSES)}


def worst(statuses: Iterable[str]) -> str:
    """The worst of component statuses (unknown words count as operational)."""
    known = (s if s in _RANK else OPERATIONAL for s in statuses)
    return max(known, key=_RANK.__getitem__, default=OPERATIONAL)


def impact_of_statuses(statuses: Iterable[str]) -> str:
    """none/minor/major/critical from component statuses, by the one rule (`impact_of`); a word
    that is not a component status (never written by the publishing side) counts as operational,
    so one odd event cannot take the public page down."""
    return impact_of([ComponentStatus("", worst(statuses))])


def public_id(*parts: object) -> str:
    """12 lowercase letters and digits (Statuspage's id shape), the same for the same parts."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return base64.b32encode(digest).decode().lower()[:12]


def component_id(name: str) -> str:
    return public_id("component", name)


def page_id(title: str) -> str:
    return public_id("page", title)


@dataclass(frozen=True)
class AffectedComponent:
    name: str
    old_status: str
    new_status: str


@dataclass(frozen=True)
class PublicUpdate:
    """One publication as customers see it."""

    id: str
    status: str
    body: str
    at: datetime
    affected: tuple[AffectedComponent, ...]


@dataclass(frozen=True)
class PublicIncident:
    id: str
    name: str  # the latest public title
    status: str  # the latest public status
    impact: str
    created_at: datetime
    updated_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    updates: tuple[PublicUpdate, ...]  # newest first
    components: tuple[str, ...]  # every component it ever affected, in config order
    current: tuple[tuple[str, str], ...]  # (component, status) in force now; empty once resolved

    @property
    def open(self) -> bool:
        return self.status != RESOLVED


@dataclass(frozen=True)
class DayBar:
    day: date
    status: str  # the worst state that day
    incidents: tuple[str, ...] = ()  # public ids of the incidents that affected it that day


@dataclass(frozen=True)
class ComponentView:
    id: str
    name: str
    position: int  # 1-based, config order
    status: str
    updated_at: datetime | None  # the last publication that changed its state
    days: tuple[DayBar, ...]  # oldest first, HISTORY_DAYS of them, ending today


@dataclass(frozen=True)
class PublicView:
    page_id: str
    title: str
    now: datetime
    updated_at: datetime | None  # the latest publication
    indicator: str
    components: tuple[ComponentView, ...]
    incidents: tuple[PublicIncident, ...]  # newest first (by first publication)

    @property
    def open_incidents(self) -> tuple[PublicIncident, ...]:
        return tuple(i for i in self.incidents if i.open)

    @property
    def history(self) -> tuple[PublicIncident, ...]:
        """Incidents open now or updated within the last HISTORY_DAYS days."""
        since = self.now - timedelta(days=HISTORY_DAYS)
        return tuple(i for i in self.incidents if i.open or i.updated_at >= since)

    def incident(self, id_: str) -> PublicIncident | None:
        return next((i for i in self.incidents if i.id == id_), None)


@dataclass(frozen=True)
class _Span:
    """A component held at `status` by one incident from `start` until `end` (None: still)."""

    component: str
    status: str
    start: datetime
    end: datetime | None
    incident: str


def build_view(config: StatusPageConfig, publications: Sequence[Event], now: datetime) -> PublicView:
    """The whole public view; `publications` may come in any order and of any incidents."""
    known = [c.name for c in config.components]
    by_incident: dict[int, list[Event]] = {}
    for event in sorted(publications, key=lambda e: (e.incident, e.seq)):
        if isinstance(event.payload, ev.StatusPagePublished):
            by_incident.setdefault(event.incident, []).append(event)
    incidents: list[PublicIncident] = []
    spans: list[_Span] = []
    for log in by_incident.values():
        incident, incident_spans = _incident(log, known)
        incidents.append(incident)
        spans.extend(incident_spans)
    incidents.sort(key=lambda i: (i.created_at, i.id), reverse=True)
    components = tuple(
        _component(name, position, [s for s in spans if s.component == name], now)
        for position, name in enumerate(known, 1)
    )
    latest = max((e.at for e in publications), default=None)
    return PublicView(
        page_id=page_id(config.title),
        title=config.title,
        now=now,
        updated_at=latest,
        indicator=impact_of_statuses(c.status for c in components),
        components=components,
        incidents=tuple(incidents),
    )


def _statuses(payload: ev.StatusPagePublished, known: Sequence[str]) -> dict[str, str]:
    """The publication's component statuses, for components the config still names."""
    given = {c.component: c.status for c in payload.components if c.component in known}
    return {name: given[name] for name in known if name in given}


def _incident(log: list[Event], known: Sequence[str]) -> tuple[PublicIncident, list[_Span]]:
    first = log[0]
    incident_id = public_id(first.incident, first.seq, first.actor, first.at.isoformat())
    updates: list[PublicUpdate] = []
    spans: list[_Span] = []
    before: dict[str, str] = {}  # what this incident held each component at, before this one
    peak: list[str] = []
    affected_names: set[str] = set()
    monitoring_at: datetime | None = None
    for index, event in enumerate(log):
        payload = event.payload
        assert isinstance(payload, ev.StatusPagePublished)
        resolved = payload.status == RESOLVED
        now_held = {} if resolved else _statuses(payload, known)
        shown = _statuses(payload, known)
        names = [n for n in known if n in shown or n in before]
        affected = tuple(
            AffectedComponent(
                n,
                before.get(n, OPERATIONAL),
                OPERATIONAL if resolved else shown.get(n, OPERATIONAL),
            )
            for n in names
        )
        affected_names.update(shown)
        peak.extend(shown.values())
        if payload.status == "monitoring" and monitoring_at is None:
            monitoring_at = event.at
        elif payload.status not in ("monitoring", RESOLVED):
            monitoring_at = None
        update_id = public_id("update", event.incident, event.seq, event.actor, event.at.isoformat())
        updates.append(PublicUpdate(update_id, payload.status, payload.message, event.at, affected))
        end = log[index + 1].at if index + 1 < len(log) else None
        spans.extend(_Span(n, s, event.at, end, incident_id) for n, s in now_held.items())
        before = now_held
    latest, last = log[-1], log[-1].payload
    assert isinstance(last, ev.StatusPagePublished)
    resolved = last.status == RESOLVED
    incident = PublicIncident(
        id=incident_id,
        name=last.public_title,
        status=last.status,
        impact=impact_of_statuses(peak),
        created_at=first.at,
        updated_at=latest.at,
        monitoring_at=monitoring_at,
        resolved_at=latest.at if resolved else None,
        updates=tuple(reversed(updates)),
        components=tuple(n for n in known if n in affected_names),
        current=tuple(before.items()),
    )
    return incident, spans


def _component(name: str, position: int, spans: list[_Span], now: datetime) -> ComponentView:
    today = now.date()
    first_day = today - timedelta(days=HISTORY_DAYS - 1)
    worst_on: dict[date, str] = {}
    incidents_on: dict[date, list[str]] = {}
    current: list[str] = []
    for span in spans:
        end = now if span.end is None else min(span.end, now)
        if span.start <= now and (span.end is None or span.end > now):
            current.append(span.status)
        if span.start > now:
            continue
        last_day = (end - timedelta(microseconds=1)).date() if end > span.start else span.start.date()
        day = max(span.start.date(), first_day)
        while day <= min(last_day, today):
            worst_on[day] = worst((worst_on.get(day, OPERATIONAL), span.status))
            seen = incidents_on.setdefault(day, [])
            if span.incident not in seen:
                seen.append(span.incident)
            day += timedelta(days=1)
    days = tuple(
        DayBar(d, worst_on.get(d, OPERATIONAL), tuple(incidents_on.get(d, ())))
        for d in (first_day + timedelta(days=i) for i in range(HISTORY_DAYS))
    )
    changes = [s.start for s in spans] + [s.end for s in spans if s.end is not None]
    touched = max((at for at in changes if at <= now), default=None)
    return ComponentView(component_id(name), name, position, worst(current), touched, days)
