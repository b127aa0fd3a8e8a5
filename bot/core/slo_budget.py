"""Live error budgets: which instant queries answer an SLO's SLI and burn rates, and what the
answers mean (budget left, exhausted), as the JSON document `slo status --json` prints.

Prometheus is asked for the SLI over the SLO's window (good over total, the ranges written as
the window) and for the error ratio over each burn pair's long window (scaled like the rules);
a burn rate is that ratio over the error budget. When Prometheus cannot answer, the budget comes
from incident durations instead and says so (`source: "incidents"`); a number is never carried
over from an earlier answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.slo import BURN_PAIRS, SLO, at_range, error_ratio_query, prometheus_duration, scaled

SOURCE_PROMETHEUS = "prometheus"
SOURCE_INCIDENTS = "incidents"


def sli_query(slo: SLO) -> str:
    """The share of good events over the SLO's whole window."""
    total = at_range(slo.total, slo.window)
    if slo.errors is not None:
        return f"1 - (({at_range(slo.errors, slo.window)}) / ({total}))"
    assert slo.good is not None
    return f"({at_range(slo.good, slo.window)}) / ({total})"


def burn_windows(slo: SLO) -> list[tuple[str, timedelta]]:
    """(name, range) per burn pair's long window: named as the Workbook writes it (`1h`, `6h`,
    `1d`, `3d`) whatever range a scaled-down window gives it, like the recording rules."""
    out: list[tuple[str, timedelta]] = []
    for pair in BURN_PAIRS:
        name = prometheus_duration(pair.long)
        if name not in (n for n, _ in out):
            out.append((name, scaled(pair.long, slo)))
    return out


def burn_query(slo: SLO, window: timedelta) -> str:
    return error_ratio_query(slo, window)


def budget_minutes(slo: SLO) -> float:
    """(1 - objective) x window: 43.2 minutes for 99.9% over 30 days."""
    return slo.window.total_seconds() / 60 * slo.budget


def _round(value: float | None, places: int = 4) -> float | None:
    return None if value is None else round(value, places)


@dataclass(frozen=True)
class Reading:
    """What Prometheus answered for one SLO at one instant (None: no series, e.g. no traffic)."""

    sli: float | None
    error_ratios: Mapping[str, float | None]  # by burn window name


def live_status(slo: SLO, reading: Reading) -> dict[str, Any]:
    budget = budget_minutes(slo)
    left_minutes = left_percent = None
    if reading.sli is not None:
        spent = (1 - reading.sli) / slo.budget  # share of the budget used; above 1 is overspent
        left_minutes = budget * (1 - spent)
        left_percent = 100 * (1 - spent)
    return {
        **_identity(slo),
        "sli": _round(reading.sli, 6),
        "budget_minutes": _round(budget, 2),
        "budget_left_minutes": _round(left_minutes, 2),
        "budget_left_percent": _round(left_percent, 2),
        "burn_rates": {
            name: _round(None if ratio is None else ratio / slo.budget, 3)
            for name, ratio in reading.error_ratios.items()
        },
        "exhausted": left_minutes is not None and left_minutes <= 0,
    }


def incident_status(slo: SLO, target_percent: float, consumed_minutes: float) -> dict[str, Any]:
    """The fallback: the budget of the service's availability target (`services:`, else the SLO's
    objective) over the SLO's window, less the minutes its incidents lasted."""
    budget = (100.0 - target_percent) / 100.0 * slo.window.total_seconds() / 60
    left = budget - consumed_minutes
    return {
        **_identity(slo),
        "sli": None,
        "budget_minutes": _round(budget, 2),
        "budget_left_minutes": _round(left, 2),
        "budget_left_percent": _round(left / budget * 100 if budget else None, 2),
        "burn_rates": {},
        "exhausted": left <= 0,
    }


def _identity(slo: SLO) -> dict[str, Any]:
    return {
        "name": slo.name,
        "slug": slo.slug,
        "service": slo.service,
        "objective": slo.objective,
        "window": prometheus_duration(slo.window),
    }


def status_document(
    at: datetime, source: str, slos: Iterable[dict[str, Any]], error: str | None = None
) -> dict[str, Any]:
    """`slo status --json`: `error` says why Prometheus was not the source (absent when it was)."""
    document: dict[str, Any] = {
        "at": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "source": source,
    }
    if error is not None:
        document["error"] = error
    document["slos"] = list(slos)
    return document


def pick(slos: Iterable[SLO], word: str) -> list[SLO]:
    """The SLOs `/incident slo <word>` names: by slug, name or service (case-insensitive)."""
    wanted = word.strip().lower()
    return [s for s in slos if wanted in (s.slug, s.name.lower(), s.service.lower())]


def exhausted_key(slug: str, at: datetime) -> str:
    return f"slo:{slug}@{at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def due_exhausted_notices(
    statuses: Iterable[dict[str, Any]],
    windows: Mapping[str, timedelta],
    last_noticed: Mapping[str, datetime],
    now: datetime,
) -> list[dict[str, Any]]:
    """The exhausted SLOs (live readings only) not noticed within their last window: once per window."""
    due = []
    for status in statuses:
        slug = status["slug"]
        last = last_noticed.get(slug)
        if status["exhausted"] and (last is None or now - last >= windows[slug]):
            due.append(status)
    return due
