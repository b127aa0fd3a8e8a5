"""Service level objectives as error ratios, and the multiwindow, multi-burn-rate rules that watch them.

Every SLO becomes two PromQL templates with the range written `[{{window}}]`: the events that count
(`good` or `errors`) and all events (`total`). An SLI as the seed writes it (a ratio over the SLO's
window) is split at its top-level `/`; a latency quantile (`histogram_quantile(0.99, …_bucket…)` with a
threshold) becomes "the share of requests at or under the threshold": the `le` bucket over `_count`.
Anything that cannot be turned into a ratio honestly is refused with a reason (`SLOError`), never
guessed. The rule file is built here as plain data; the adapter writes it as YAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bot.core.text import slug

WINDOW_SLOT = "{{window}}"
_SLOT = re.compile(r"\{\{\s*window\s*\}\}")
_WINDOW = re.compile(r"^([1-9][0-9]*)([mhdw])$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PROM_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
BASE_WINDOW = timedelta(days=30)
# The shortest range a scaled-down window may give a rate: two scrapes at a 1 s interval.
MIN_RANGE = timedelta(seconds=2)


@dataclass(frozen=True)
class BurnPair:
    """One row of the SRE Workbook's table (for a 30-day window): alert when the error ratio over both
    the long and the short window exceeds `burn_rate` times the error budget."""

    severity: str
    long: timedelta
    short: timedelta
    burn_rate: float


# The SRE Workbook, "Alerting on SLOs", multiwindow multi-burn-rate alerts.
BURN_PAIRS: tuple[BurnPair, ...] = (
    BurnPair("page", timedelta(hours=1), timedelta(minutes=5), 14.4),
    BurnPair("page", timedelta(hours=6), timedelta(minutes=30), 6.0),
    BurnPair("ticket", timedelta(days=1), timedelta(hours=2), 3.0),
    BurnPair("ticket", timedelta(days=3), timedelta(hours=6), 1.0),
)


class SLOError(ValueError):
    """An SLO that cannot become an honest error ratio; `key` names the SLO's key at fault."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class QuantileSource:
    """What a converted latency SLI was: `histogram_quantile(quantile, metric_bucket…)` <= threshold."""

    quantile: float
    threshold: float
    metric: str  # the histogram's name, without _bucket
    le_pattern: str  # an RE2 regex matching the threshold's `le` however the exporter writes it
    buckets_checked: bool  # `buckets:` listed the threshold


@dataclass(frozen=True)
class SLO:
    name: str
    slug: str
    service: str
    objective: float  # the share of good events, 0 < objective < 1
    window: timedelta
    total: str  # PromQL with WINDOW_SLOT
    good: str | None = None  # exactly one of good and errors
    errors: str | None = None
    form: str = "good/total"  # "sli ratio", "good/total", "errors/total", "latency quantile"
    runbook_url: str | None = None
    min_events: float | None = None  # fewer events than this in the short window: no alert
    quantile: QuantileSource | None = None

    @property
    def budget(self) -> float:
        return 1 - self.objective

    @property
    def scale(self) -> float:
        """The SLO's window over the 30 days the Workbook's table is written for."""
        return self.window / BASE_WINDOW


# --- durations ------------------------------------------------------------------------------------


def parse_window(text: str) -> timedelta:
    """`30d`, `4w`, `720h`, `360m`: a whole number of minutes, hours, days or weeks."""
    match = _WINDOW.match(text.strip())
    if not match:
        raise SLOError("window", f"{text!r} is not a window like 30d, 28d, 4w, 720h or 360m")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def prometheus_duration(value: timedelta) -> str:
    """`1h`, `5m`, `2500ms`: the largest unit that divides it (whole milliseconds)."""
    ms = round(value.total_seconds() * 1000)
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def _range_seconds(text: str) -> float | None:
    """A PromQL range such as `30d` or `1h30m` in seconds; None when it is not one."""
    text = text.strip()
    parts = _PROM_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


def scaled(value: timedelta, slo: SLO) -> timedelta:
    """A Workbook window for this SLO: the same share of its window (whole milliseconds)."""
    return timedelta(milliseconds=round(value.total_seconds() * 1000 * slo.scale))


def check_window_scales(window: timedelta) -> None:
    shortest = min(p.short for p in BURN_PAIRS) * (window / BASE_WINDOW)
    if shortest < MIN_RANGE:
        need = MIN_RANGE * (BASE_WINDOW / min(p.short for p in BURN_PAIRS))
        raise SLOError(
            "window",
            f"{prometheus_duration(window)} is too short: the burn-rate windows scale with it, and the "
            f"Workbook's 5m window would become {prometheus_duration(shortest)}, too short for a rate "
            f"(two scrapes); use a window of at least {round(need.total_seconds() / 60)}m",
        )


# --- reading PromQL just enough ------------------------------------------------------------------


def _spans(query: str) -> Iterator[tuple[int, str, int]]:
    """(position, character, nesting depth) for every character outside string literals."""
    depth = 0
    i = 0
    while i < len(query):
        ch = query[i]
        if ch in "\"'`":
            end = i + 1
            while end < len(query) and query[end] != ch:
                end += 2 if query[end] == "\\" and ch != "`" else 1
            i = end + 1
            continue
        if ch in ")]}":
            depth -= 1
        yield i, ch, depth
        if ch in "([{":
            depth += 1
        i += 1


def _ranges(query: str) -> list[tuple[int, int]]:
    """The (start, end) of the inside of every `[...]` outside strings."""
    out = []
    start = -1
    for i, ch, _ in _spans(query):
        if ch == "[":
            start = i + 1
        elif ch == "]" and start >= 0:
            out.append((start, i))
            start = -1
    return out


def _strip_parens(query: str) -> str:
    query = query.strip()
    while query.startswith("(") and query.endswith(")"):
        closing = next((i for i, ch, depth in _spans(query) if ch == ")" and depth == 0), None)
        if closing != len(query) - 1:
            break
        query = query[1:-1].strip()
    return query


def _with_slot(query: str, window: timedelta, key: str) -> str:
    """The query with every range that is the SLO's window written `[{{window}}]`; any other range
    is refused, as the rules rewrite each range to each burn-rate window."""
    out = query
    for start, end in reversed(_ranges(query)):
        inside = query[start:end]
        if _SLOT.fullmatch(inside.strip()):
            out = out[:start] + WINDOW_SLOT + out[end:]
            continue
        if ":" in inside:
            raise SLOError(key, f"the subquery [{inside}] cannot be rewritten per window; use a plain range")
        seconds = _range_seconds(inside)
        if seconds != window.total_seconds():
            raise SLOError(
                key,
                f"the range [{inside}] is not the SLO's window {prometheus_duration(window)}: every range "
                f"must be the window (written [{WINDOW_SLOT}] or [{prometheus_duration(window)}]), as the "
                "rules rewrite it for each burn-rate window",
            )
        out = out[:start] + WINDOW_SLOT + out[end:]
    if WINDOW_SLOT not in out:
        raise SLOError(key, f"has no range: write the range as [{WINDOW_SLOT}] (e.g. rate(x[{WINDOW_SLOT}]))")
    return " ".join(line.strip() for line in out.splitlines() if line.strip())


def explicit_query(query: str, window: timedelta, key: str) -> str:
    """A `good:`, `errors:` or `total:` query: ranges as `[{{window}}]` (or the window itself)."""
    if "histogram_quantile" in query:
        raise SLOError(key, "counts events; a histogram_quantile is not a count (see the sli: conversion)")
    return _with_slot(query, window, key)


_OPERATORS = re.compile(r"(?<![=!<>~])(\*|\+|-|%|\^|==|!=|<=|>=|<|>|\band\b|\bor\b|\bunless\b|\batan2\b)")


def split_ratio(sli: str, window: timedelta) -> tuple[str, str]:
    """`good / total` at the top level into (good, total) with the ranges as `[{{window}}]`."""
    body = _strip_parens(sli)
    # characters inside strings are absent from _spans: pad them back so positions line up
    flat = [" "] * len(body)
    for i, ch, depth in _spans(body):
        flat[i] = ch if depth == 0 else " "
    top = "".join(flat)
    slashes = [i for i, ch in enumerate(top) if ch == "/"]
    rest = top.replace("/", " ")
    operator = _OPERATORS.search(
        re.sub(r"\b(by|without|on|ignoring|group_left|group_right|bool)\b", "", rest)
    )
    if len(slashes) != 1 or operator:
        raise SLOError(
            "sli",
            "must be a ratio of good events to all events, `good / total` (e.g. sum(rate(ok[30d])) / "
            "sum(rate(all[30d]))), or a histogram_quantile; for anything else write good: and total: "
            "(or errors: and total:)",
        )
    good, total = body[: slashes[0]].strip(), body[slashes[0] + 1 :].strip()
    if re.match(r"(on|ignoring|bool)\b", total):
        raise SLOError("sli", "a ratio with on()/ignoring() matching: write good: and total: instead")
    return _with_slot(good, window, "sli"), _with_slot(total, window, "sli")


_QUANTILE = re.compile(r"^histogram_quantile\s*\(\s*([0-9.eE+-]+)\s*,(.*)\)$", re.DOTALL)
_RATE = r"(?:rate|increase)\s*\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)_bucket\s*(\{[^{}]*\})?\s*\[([^\]]+)\]\s*\)"
_INNER = (
    re.compile(rf"^{_RATE}$"),
    re.compile(rf"^sum\s*\(\s*{_RATE}\s*\)\s*by\s*\(\s*le\s*\)$"),
    re.compile(rf"^sum\s+by\s*\(\s*le\s*\)\s*\(\s*{_RATE}\s*\)$"),
)


def le_pattern(threshold: float) -> str:
    """A regex for the `le` label of this bucket boundary however it is written: 0.5, 0.50, 1, 1.0."""
    decimal = Decimal(repr(threshold)).normalize()
    sign, digits, exponent = decimal.as_tuple()
    if not isinstance(exponent, int) or not 0.0001 <= threshold < 1e15:
        raise SLOError("target", f"{threshold!r} is outside the bucket boundaries this can match (0.0001 up)")
    text = format(decimal, "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}[.]{fraction}0*" if fraction else f"{whole}([.]0*)?"


def convert_quantile(
    sli: str, threshold: object, window: timedelta, buckets: Sequence[float] | None
) -> tuple[float, str, str, QuantileSource]:
    """`histogram_quantile(q, rate(x_bucket[w]))` under `threshold` -> (objective q, good, total)."""
    match = _QUANTILE.match(_strip_parens(sli))
    if not match:
        raise SLOError(
            "sli",
            "uses histogram_quantile in a form that cannot be converted: write it as "
            "histogram_quantile(0.99, rate(x_bucket[30d])) or with sum(...) by (le), "
            "or give good: and total: queries",
        )
    try:
        quantile = float(match.group(1))
    except ValueError:
        quantile = -1.0
    if not 0 < quantile < 1:
        raise SLOError("sli", f"the quantile {match.group(1)} must be between 0 and 1, e.g. 0.99")
    inner = _strip_parens(match.group(2))
    found = next((m for pattern in _INNER if (m := pattern.match(inner))), None)
    if found is None:
        raise SLOError(
            "sli",
            "the histogram must be rate(x_bucket[window]), optionally summed by (le) alone: a quantile per "
            "group, or any other expression, cannot become one ratio; give good: and total: queries",
        )
    metric, selector, written_range = found.group(1), found.group(2) or "", found.group(3)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
        raise SLOError(
            "target",
            f"for a latency quantile, the target is the threshold in the histogram's unit "
            f"(e.g. 0.5 for 500 ms), not {threshold!r}",
        )
    value = float(threshold)
    if "le" in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", selector):
        raise SLOError("sli", "selects on le itself: the conversion picks the threshold's bucket")
    if buckets is not None and value not in buckets:
        listed = ", ".join(f"{b:g}" for b in buckets)
        raise SLOError(
            "target",
            f"{value:g} is not one of the histogram's buckets ({listed}): the share of requests under "
            "it cannot be counted, only estimated; pick a bucket boundary as the target",
        )
    pattern = le_pattern(value)
    labels = selector.strip()[1:-1].strip().rstrip(",") if selector else ""
    good_selector = "{" + (labels + ", " if labels else "") + f'le=~"{pattern}"' + "}"
    range_ = f"[{written_range}]"
    good = _with_slot(f"sum(rate({metric}_bucket{good_selector}{range_}))", window, "sli")
    total = _with_slot(f"sum(rate({metric}_count{selector}{range_}))", window, "sli")
    source = QuantileSource(quantile, value, metric, pattern, buckets is not None)
    return quantile, good, total, source


def objective_from(target: object) -> float:
    if isinstance(target, bool) or not isinstance(target, int | float):
        raise SLOError("target", f"must be the share of good events, e.g. 0.999, not {target!r}")
    if 1 < target < 100:
        raise SLOError("target", f"is a share between 0 and 1: write {target / 100:g} for {target:g}%")
    if not 0 < target < 1:
        raise SLOError("target", f"must be between 0 and 1 (e.g. 0.999 for 99.9%), not {target!r}")
    return float(target)


def make_slo(
    *,
    name: str,
    target: object,
    window: str,
    service: str | None = None,
    sli: str | None = None,
    good: str | None = None,
    errors: str | None = None,
    total: str | None = None,
    runbook_url: str | None = None,
    min_events: float | None = None,
    buckets: Sequence[float] | None = None,
) -> SLO:
    """An SLO from its keys as written (SLOError names the key at fault)."""
    length = parse_window(window)
    check_window_scales(length)
    named = slug(name)
    if not named:
        raise SLOError("name", f"{name!r} needs at least one letter or digit")
    common: dict[str, Any] = dict(
        name=name,
        slug=named,
        service=service or named,
        window=length,
        runbook_url=runbook_url,
        min_events=min_events,
    )
    if sli is not None:
        if good is not None or errors is not None or total is not None:
            raise SLOError("sli", "an SLO has sli:, or good: and total:, or errors: and total:, not both")
        if "histogram_quantile" in sli:
            objective, good_q, total_q, source = convert_quantile(sli, target, length, buckets)
            return SLO(
                objective=objective,
                good=good_q,
                total=total_q,
                form="latency quantile",
                quantile=source,
                **common,
            )
        if buckets is not None:
            raise SLOError("buckets", "is for a histogram_quantile SLI only")
        good_q, total_q = split_ratio(sli, length)
        return SLO(objective=objective_from(target), good=good_q, total=total_q, form="sli ratio", **common)
    if buckets is not None:
        raise SLOError("buckets", "is for a histogram_quantile SLI only")
    if total is None or (good is None) == (errors is None):
        missing = "total" if total is None and (good or errors) else "sli"
        raise SLOError(
            missing, "an SLO needs sli:, or good: and total:, or errors: and total: (exactly one form)"
        )
    objective = objective_from(target)
    total_q = explicit_query(total, length, "total")
    if good is not None:
        return SLO(
            objective=objective,
            good=explicit_query(good, length, "good"),
            total=total_q,
            form="good/total",
            **common,
        )
    assert errors is not None
    return SLO(
        objective=objective,
        errors=explicit_query(errors, length, "errors"),
        total=total_q,
        form="errors/total",
        **common,
    )


# --- the rules ------------------------------------------------------------------------------------


def at_range(query: str, window: timedelta) -> str:
    return query.replace(WINDOW_SLOT, prometheus_duration(window))


def error_ratio_query(slo: SLO, window: timedelta) -> str:
    total = at_range(slo.total, window)
    if slo.errors is not None:
        return f"({at_range(slo.errors, window)}) / ({total})"
    assert slo.good is not None
    return f"1 - (({at_range(slo.good, window)}) / ({total}))"


def record_name(kind: str, pair_window: timedelta) -> str:
    """`slo:error_ratio:rate1h`: named after the Workbook's window, whichever range it was scaled to."""
    return f"slo:{kind}:rate{prometheus_duration(pair_window)}"


def number(value: float) -> str:
    return f"{value:.10g}"


def slo_labels(slo: SLO) -> dict[str, str]:
    return {"slo": slo.slug, "service": slo.service}


def _selector(name: str, slo: SLO) -> str:
    return f'{name}{{slo="{slo.slug}", service="{slo.service}"}}'


BURN_ALERT = "SLOErrorBudgetBurn"
BUCKET_ALERT = "SLOBucketMissing"
# The annotations (summary, description) of an alert, by its name, SLO and pair (None for the
# bucket check): words a person reads, so written by the adapter.
Annotate = Callable[[str, SLO, "BurnPair | None"], dict[str, str]]


def burn_alert(slo: SLO, pair: BurnPair, annotate: Annotate) -> dict[str, Any]:
    long, short = scaled(pair.long, slo), scaled(pair.short, slo)
    limit = f"{number(pair.burn_rate)} * {number(slo.budget)}"
    expr = (
        f"{_selector(record_name('error_ratio', pair.long), slo)} > {limit}\n"
        f"and\n{_selector(record_name('error_ratio', pair.short), slo)} > {limit}"
    )
    if slo.min_events is not None:
        events = f"{_selector(record_name('events', pair.short), slo)} * {number(short.total_seconds())}"
        expr += f"\nand\n{events} >= {number(slo.min_events)}"
    labels = {
        "severity": pair.severity,
        **slo_labels(slo),
        "long": prometheus_duration(long),
        "short": prometheus_duration(short),
    }
    if slo.runbook_url:
        labels["runbook_url"] = slo.runbook_url
    return {
        "alert": BURN_ALERT,
        "expr": expr,
        "labels": labels,
        "annotations": annotate(BURN_ALERT, slo, pair),
    }


def bucket_missing_alert(slo: SLO, annotate: Annotate) -> dict[str, Any]:
    """A converted latency SLO counts the threshold's bucket; if no such bucket exists the ratio is
    empty and no burn alert could fire, so say so instead of staying silent."""
    assert slo.quantile is not None and slo.good is not None
    window = scaled(BURN_PAIRS[0].long, slo)
    labels = {"severity": "ticket", **slo_labels(slo)}
    if slo.runbook_url:
        labels["runbook_url"] = slo.runbook_url
    return {
        "alert": BUCKET_ALERT,
        "expr": f"({at_range(slo.total, window)}) > 0\nunless\n({at_range(slo.good, window)})",
        "labels": labels,
        "annotations": annotate(BUCKET_ALERT, slo, None),
    }


def rule_groups(slos: Sequence[SLO], annotate: Annotate) -> list[dict[str, Any]]:
    """One group per SLO: its recording rules for each window, then one alert per burn pair."""
    groups = []
    for slo in slos:
        rules: list[dict[str, Any]] = []
        windows = sorted({w for p in BURN_PAIRS for w in (p.short, p.long)})
        for window in windows:
            rules.append(
                {
                    "record": record_name("error_ratio", window),
                    "expr": error_ratio_query(slo, scaled(window, slo)),
                    "labels": slo_labels(slo),
                }
            )
        if slo.min_events is not None:
            for window in sorted({p.short for p in BURN_PAIRS}):
                rules.append(
                    {
                        "record": record_name("events", window),
                        "expr": at_range(slo.total, scaled(window, slo)),
                        "labels": slo_labels(slo),
                    }
                )
        rules.extend(burn_alert(slo, pair, annotate) for pair in BURN_PAIRS)
        if slo.quantile is not None:
            rules.append(bucket_missing_alert(slo, annotate))
        groups.append({"name": f"slo-{slo.slug}", "rules": rules})
    return groups
