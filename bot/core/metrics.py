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
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.core import events as ev
from bot.core.state import IncidentState
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


def impact_window(state: IncidentState, now: datetime) -> tuple[datetime, datetime]:
    start = state.facts.impact_started_at or state.facts.declared_at
    end = state.facts.impact_ended_at or state.facts.mitigated_at or state.facts.resolved_at or now
    return start, max(start, end)


def error_budgets(
    states: list[IncidentState], targets: dict[str, float], since: datetime, now: datetime
) -> list[dict[str, Any]]:
    window_minutes = (now - since).total_seconds() / 60
    out = []
    for service, target in sorted(targets.items()):
        budget = (100.0 - target) / 100.0 * window_minutes
        used = 0.0
        for s in states:
            if s.facts.service == service:
                start, end = impact_window(s, now)
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


def _paging(window: list[IncidentState]) -> _Paging:
    sent = escalations = 0
    by_level: dict[str, int] = {}
    from_page: list[timedelta] = []
    for s in window:
        pages = [(e.at, e.payload) for e in s.paging.pages if isinstance(e.payload, ev.Paged)]
        sent += sum(len(p.users) for _, p in pages)
        escalations += sum(1 for _, p in pages if p.level > 1 or p.round > 0)
        acked = s.facts.acknowledged_at
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
    window = sorted(
        (s for s in states if since <= s.facts.declared_at < now),
        key=lambda s: (s.facts.declared_at, s.number),
    )
    by_severity: dict[str, int] = {}
    for s in window:
        by_severity[s.facts.severity] = by_severity.get(s.facts.severity, 0) + 1
    detect = [s.facts.declared_at - s.facts.impact_started_at for s in window if s.facts.impact_started_at]
    ack = [s.facts.acknowledged_at - s.facts.declared_at for s in window if s.facts.acknowledged_at]
    mitigate = [s.facts.mitigated_at - s.facts.declared_at for s in window if s.facts.mitigated_at]
    resolve = [s.facts.resolved_at - s.facts.declared_at for s in window if s.facts.resolved_at]
    seen: dict[str, bool] = {}  # slugged title -> whether a private incident had it
    repeats, private_repeats = [], 0
    for s in window:
        key = slug(s.facts.title)
        if key in seen:
            if s.private or seen[key]:
                private_repeats += 1
            else:
                repeats.append(s.key)
        seen[key] = seen.get(key, False) or s.private
    resolved = [s for s in window if s.is_resolved]
    today = now.date().isoformat()
    items = [item for s in window for item in s.postmortem.action_items.values()]
    done = sum(1 for i in items if i.done_at is not None)
    overdue = sum(1 for i in items if i.done_at is None and i.due and i.due < today)
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
        postmortems_completed=sum(1 for s in resolved if s.postmortem.published),
        action_items_done=done,
        action_items_open=len(items) - done,
        action_items_overdue=overdue,
        error_budgets=error_budgets(window, dict(targets or {}), since, now),
        pages_sent=paging.pages_sent,
        escalations=paging.escalations,
        acknowledged_by_level=paging.by_level,
        time_to_acknowledge_from_page=_figure(paging.from_page),
    )
