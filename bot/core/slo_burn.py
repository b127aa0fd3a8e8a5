"""What an SLO burn-rate alert tells an incident: the SLO (by its `slo` label), the window pair that
fired (`long`, `short`), and the error budget that pair proves spent.

Alertmanager's webhook carries labels and annotations, not the alert's value, so the figures are
what the firing itself proves: the error ratio over the long window exceeded the pair's burn rate
times the budget, so the burn was at least that rate and, at a steady request rate, at least
burn rate x long / window of the window's error budget went in the long window (14.4 x 1h / 30d =
2%). A lower bound, stated as one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from bot.core.events import SLOBurn
from bot.core.slo import BASE_WINDOW, BURN_ALERT, BURN_PAIRS, SLO, prometheus_duration, scaled


def burn_of(labels: Mapping[str, str], slos: Sequence[SLO]) -> SLOBurn | None:
    """The burn an alert's labels describe; None for an alert that is not an SLO burn alert."""
    slug = labels.get("slo", "")
    if labels.get("alertname") != BURN_ALERT or not slug:
        return None
    long, short, severity = labels.get("long", ""), labels.get("short", ""), labels.get("severity", "")
    slo = next((s for s in slos if s.slug == slug), None)
    if slo is None:
        return SLOBurn(slug, slug, long, short, severity)
    known = SLOBurn(slug, slo.name, long, short, severity, prometheus_duration(slo.window), slo.objective)
    for pair in BURN_PAIRS:
        if (prometheus_duration(scaled(pair.long, slo)), prometheus_duration(scaled(pair.short, slo))) == (
            long,
            short,
        ):
            spent = pair.burn_rate * (pair.long / BASE_WINDOW)
            return replace(known, burn_rate=pair.burn_rate, budget_spent=spent)
    return known  # rules from another table or window: the SLO and windows, but no figures


def burns_of(alert_labels: Iterable[Mapping[str, str]], slos: Sequence[SLO]) -> tuple[SLOBurn, ...]:
    """One burn per SLO and window pair among these alerts, most budget first."""
    found: dict[tuple[str, str, str], SLOBurn] = {}
    for labels in alert_labels:
        burn = burn_of(labels, slos)
        if burn is not None:
            found.setdefault((burn.slo, burn.long, burn.short), burn)
    return tuple(sorted(found.values(), key=lambda b: (b.slo, -(b.budget_spent or 0), b.long)))
