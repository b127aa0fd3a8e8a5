"""Incident metrics over a window, computed from replayed incidents and an explicit `now`.

Definitions (also in the README):
- an incident counts in the window when it was declared in [since, now);
- time to acknowledge/mitigate/resolve: from declaration to the first acknowledgement, to the
  (last) mitigation, to the final resolution; incidents that never reached the step are left out
  of that figure (and counted as such);
- time to detect: from when the impact started to the declaration, for incidents whose
  declaration records `impact_started_at` (alert intake sets it);
- repeat incidents: incidents in the window whose title, slugged, equals an earlier one's in it
  (named when both are public, else only counted);
- postmortems completed: resolved incidents with a published postmortem, out of those resolved;
- action items: on incidents in the window, done / open / overdue (due before `now`'s date);
- paging: pages sent (each person paged counts once per page, levels and by hand), escalations
  (levels after the first, repeats included), acknowledgements by the escalation level paged last
  before them ("none": acknowledged before any level was paged), and time to acknowledge from the
  first page (incidents that were paged and then acknowledged);
- error budget, per service with an availability target: budget = (100% - target) x window;
  consumed = the impact time of that service's incidents inside the window, impact running from
  `impact_started_at` (else the declaration) to when it ended (the time given on resolve, else
  mitigation, else resolution, else `now`).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.core import events as ev
from bot.core.events import Event
from bot.core.state import IncidentState, ReplayError
from bot.core.text import slug


@dataclass(frozen=True)
class Figure:
    count: int
    mean_seconds: float | None
    median_seconds: float | None


@dataclass(frozen=True)
class Metrics:
    since: datetime
    now: datetime
    incidents: int
    by_severity: dict[str, int]
    time_to_detect: Figure
    time_to_acknowledge: Figure
    time_to_mitigate: Figure
    time_to_resolve: Figure
    repeat_incidents: list[str] = field(default_factory=list)
    # Repeats where either incident is private: counted, but naming them would tell whose title
    # a private incident shares.
    private_repeats: int = 0
    resolved: int = 0
    postmortems_completed: int = 0
    action_items_done: int = 0
    action_items_open: int = 0
    action_items_overdue: int = 0
    error_budgets: list[dict[str, Any]] = field(default_factory=list)
    pages_sent: int = 0
    escalations: int = 0
    acknowledged_by_level: dict[str, int] = field(default_factory=dict)
    time_to_acknowledge_from_page: Figure = field(default_factory=lambda: Figure(0, None, None))

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["since"], out["now"] = self.since.isoformat(), self.now.isoformat()
        return out


def _figure(spans: list[timedelta]) -> Figure:
    seconds = [s.total_seconds() for s in spans]
    if not seconds:
        return Figure(0, None, None)
    return Figure(len(seconds), round(statistics.fmean(seconds), 1), round(statistics.median(seconds), 1))


@dataclass(slots=True)
class IncidentFigures:
    """All that the metrics read of one incident: what a replay's state says of it, folded
    straight from its log (`fold`) or taken from a replayed state (`of_state`), which give the
    same figures. A full replay per incident built all the state the metrics never look at."""

    number: int
    title: str
    severity: str
    private: bool
    service: str | None
    declared_at: datetime
    impact_started_at: datetime | None
    status: str = "investigating"
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    impact_ended_at: datetime | None = None
    postmortem_published: bool = False
    # Action items by number: (due, done).
    items: dict[int, tuple[str | None, bool]] = field(default_factory=dict)
    pages: list[tuple[datetime, ev.Paged]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"INC-{self.number}"

    @property
    def is_resolved(self) -> bool:
        return self.status == "resolved"

    @classmethod
    def of_state(cls, state: IncidentState) -> IncidentFigures:
        f = state.facts
        return cls(
            number=state.number,
            title=f.title,
            severity=f.severity,
            private=f.private,
            service=f.service,
            declared_at=f.declared_at,
            impact_started_at=f.impact_started_at,
            status=f.status,
            acknowledged_at=f.acknowledged_at,
            mitigated_at=f.mitigated_at,
            resolved_at=f.resolved_at,
            impact_ended_at=f.impact_ended_at,
            postmortem_published=bool(state.postmortem.published),
            items={n: (i.due, i.done_at is not None) for n, i in state.postmortem.action_items.items()},
            pages=[(e.at, e.payload) for e in state.paging.pages if isinstance(e.payload, ev.Paged)],
        )

    @classmethod
    def fold(cls, events: Iterable[Event]) -> IncidentFigures:
        """Read one incident's log (all of it, or only its `FOLDED_TYPES` events) as replay
        would, keeping only what the metrics need."""
        it = iter(events)
        first = next(it, None)
        if first is None or not isinstance(first.payload, ev.IncidentDeclared):
            raise ReplayError("an incident's log must start with IncidentDeclared")
        d = first.payload
        out = cls(first.incident, d.title, d.severity, d.private, d.service, first.at, d.impact_started_at)
        for event in it:
            match event.payload:
                case ev.IncidentAcknowledged():
                    out.acknowledged_at = event.at
                case ev.StatusUpdated(status=status):
                    out.status = status or out.status
                case ev.SeverityChanged(to=to):
                    out.severity = to
                case ev.IncidentMitigated():
                    out.status, out.mitigated_at = "mitigated", event.at
                case ev.IncidentResolved(impact_ended_at=ended):
                    out.status, out.resolved_at, out.impact_ended_at = "resolved", event.at, ended
                case ev.IncidentReopened():
                    out.status, out.resolved_at = "investigating", None
                case ev.ServiceSet(service=service):
                    out.service = service
                case ev.ActionItemAdded(n=n, due=due):
                    out.items[n] = (due, False)
                case ev.ActionItemDone(n=n):
                    out.items[n] = (out.items[n][0], True)
                case ev.SlackPostmortemPublished():
                    out.postmortem_published = True
                case ev.Paged() as paged:
                    out.pages.append((event.at, paged))
        return out


# The event types `IncidentFigures.fold` reads: the store loads only these for the metrics.
FOLDED_TYPES: frozenset[ev.EventType] = frozenset(
    {
        ev.IncidentDeclared,
        ev.IncidentAcknowledged,
        ev.StatusUpdated,
        ev.SeverityChanged,
        ev.IncidentMitigated,
        ev.IncidentResolved,
        ev.IncidentReopened,
        ev.ServiceSet,
        ev.ActionItemAdded,
        ev.ActionItemDone,
        ev.SlackPostmortemPublished,
        ev.Paged,
    }
)


def impact_window(state: IncidentState, now: datetime) -> tuple[datetime, datetime]:
    return _impact_window(IncidentFigures.of_state(state), now)


def _impact_window(f: IncidentFigures, now: datetime) -> tuple[datetime, datetime]:
    start = f.impact_started_at or f.declared_at
    end = f.impact_ended_at or f.mitigated_at or f.resolved_at or now
    return start, max(start, end)


def error_budgets(
    states: list[IncidentState], targets: dict[str, float], since: datetime, now: datetime
) -> list[dict[str, Any]]:
    return _error_budgets([IncidentFigures.of_state(s) for s in states], targets, since, now)


def _error_budgets(
    incidents: list[IncidentFigures], targets: dict[str, float], since: datetime, now: datetime
) -> list[dict[str, Any]]:
    window_minutes = (now - since).total_seconds() / 60
    out = []
    for service, target in sorted(targets.items()):
        budget = (100.0 - target) / 100.0 * window_minutes
        used = 0.0
        for s in incidents:
            if s.service == service:
                start, end = _impact_window(s, now)
                overlap = (min(end, now) - max(start, since)).total_seconds() / 60
                used += max(overlap, 0.0)
        percent = round(used / budget * 100, 1) if budget else None
        out.append(
            {
                "service": service,
                "target": target,
                "budget_minutes": round(budget, 1),
                "consumed_minutes": round(used, 1),
                "consumed_percent": percent,
            }
        )
    return out


@dataclass(frozen=True)
class _Paging:
    pages_sent: int
    escalations: int
    by_level: dict[str, int]
    from_page: list[timedelta]


def _paging(window: list[IncidentFigures]) -> _Paging:
    sent = escalations = 0
    by_level: dict[str, int] = {}
    from_page: list[timedelta] = []
    for s in window:
        pages = s.pages
        if not pages:  # most incidents: acknowledged (or not) before any page
            if s.acknowledged_at is not None:
                by_level["none"] = by_level.get("none", 0) + 1
            continue
        sent += sum(len(p.users) for _, p in pages)
        escalations += sum(1 for _, p in pages if p.level > 1 or p.round > 0)
        acked = s.acknowledged_at
        if acked is None:
            continue
        before = [(at, p) for at, p in pages if at <= acked]
        levels = [p.level for _, p in before if p.level > 0]
        key = str(levels[-1]) if levels else "none"
        by_level[key] = by_level.get(key, 0) + 1
        reached = [at for at, p in before if p.users]
        if reached:
            from_page.append(acked - reached[0])
    return _Paging(sent, escalations, dict(sorted(by_level.items())), from_page)


def compute_metrics(
    states: list[IncidentState], since: datetime, now: datetime, targets: dict[str, float] | None = None
) -> Metrics:
    return metrics_of([IncidentFigures.of_state(s) for s in states], since, now, targets)


def metrics_of_logs(
    logs: Iterable[list[Event]], since: datetime, now: datetime, targets: dict[str, float] | None = None
) -> Metrics:
    """The metrics straight from incidents' logs (their `FOLDED_TYPES` events suffice): the same
    as `compute_metrics` over their replays, without replaying them."""
    return metrics_of([IncidentFigures.fold(log) for log in logs if log], since, now, targets)


def metrics_of(
    incidents: list[IncidentFigures], since: datetime, now: datetime, targets: dict[str, float] | None = None
) -> Metrics:
    window = sorted(
        (s for s in incidents if since <= s.declared_at < now),
        key=lambda s: (s.declared_at, s.number),
    )
    by_severity: dict[str, int] = {}
    for s in window:
        by_severity[s.severity] = by_severity.get(s.severity, 0) + 1
    detect = [s.declared_at - s.impact_started_at for s in window if s.impact_started_at]
    ack = [s.acknowledged_at - s.declared_at for s in window if s.acknowledged_at]
    mitigate = [s.mitigated_at - s.declared_at for s in window if s.mitigated_at]
    resolve = [s.resolved_at - s.declared_at for s in window if s.resolved_at]
    seen: dict[str, bool] = {}  # slugged title -> whether a private incident had it
    repeats, private_repeats = [], 0
    slugs: dict[str, str] = {}  # titles repeat; slugging each anew was a good part of the time
    for s in window:
        key = slugs.get(s.title)
        if key is None:
            key = slugs[s.title] = slug(s.title)
        if key in seen:
            if s.private or seen[key]:
                private_repeats += 1
            else:
                repeats.append(s.key)
        seen[key] = seen.get(key, False) or s.private
    resolved = [s for s in window if s.is_resolved]
    today = now.date().isoformat()
    items = [item for s in window for item in s.items.values()]
    done = sum(1 for _, is_done in items if is_done)
    overdue = sum(1 for due, is_done in items if not is_done and due and due < today)
    paging = _paging(window)
    return Metrics(
        since=since,
        now=now,
        incidents=len(window),
        by_severity=dict(sorted(by_severity.items())),
        time_to_detect=_figure(detect),
        time_to_acknowledge=_figure(ack),
        time_to_mitigate=_figure(mitigate),
        time_to_resolve=_figure(resolve),
        repeat_incidents=repeats,
        private_repeats=private_repeats,
        resolved=len(resolved),
        postmortems_completed=sum(1 for s in resolved if s.postmortem_published),
        action_items_done=done,
        action_items_open=len(items) - done,
        action_items_overdue=overdue,
        error_budgets=_error_budgets(window, dict(targets or {}), since, now),
        pages_sent=paging.pages_sent,
        escalations=paging.escalations,
        acknowledged_by_level=paging.by_level,
        time_to_acknowledge_from_page=_figure(paging.from_page),
    )
