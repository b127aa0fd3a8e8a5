"""The config file's `slos:` section: a list of service level objectives (bot.core.slo.SLO).

Each item has a name, a target and a window, and its events in one of three forms: `sli:` (a ratio
over the window, or a histogram_quantile the core converts), `good:` and `total:`, or `errors:`
and `total:`. The core decides what can become an error ratio; this module reads the YAML and
turns the core's SLOError into a Problem at the right key (so the message names its line).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from bot.config_file import Context, Path_, Problem, Section, kind, mapping, only_keys, text
from bot.core.slo import BURN_PAIRS, SLO, SLOError, make_slo, number, prometheus_duration, scaled
from bot.core.text import slug

SLO_KEYS = (
    "name",
    "service",
    "sli",
    "good",
    "errors",
    "total",
    "target",
    "window",
    "runbook_url",
    "buckets",
    "min_events",
)
_URL = re.compile(r"https?://\S+")


def _slos(raw: object, ctx: Context) -> tuple[SLO, ...]:
    path: Path_ = ("slos",)
    if not isinstance(raw, list):
        raise Problem(path, f"must be a list of SLOs ({{name, sli, target, window}}), not {kind(raw)}")
    out: list[SLO] = []
    for index, item in enumerate(raw):
        slo = _slo(item, (*path, index))
        if any(other.slug == slo.slug for other in out):
            raise Problem((*path, index, "name"), f"{slo.name!r} is a second SLO with the slug {slo.slug!r}")
        out.append(slo)
    return tuple(out)


def _slo(item: object, here: Path_) -> SLO:
    item = mapping(item, here, "name, sli (or good/errors and total), target and window")
    only_keys(item, SLO_KEYS, here)
    for key in ("name", "target", "window"):
        if key not in item:
            raise Problem((*here, key), "missing: an SLO has a name, a target and a window")
    queries = {
        key: text(item[key], (*here, key), "a PromQL query")
        for key in ("sli", "good", "errors", "total")
        if key in item
    }
    service = None
    if "service" in item:
        service = text(item["service"], (*here, "service"), "a service name")
        if slug(service) != service:
            raise Problem(
                (*here, "service"), f"incidents record services slugged: write it as {slug(service)!r}"
            )
    runbook = None
    if "runbook_url" in item:
        runbook = text(item["runbook_url"], (*here, "runbook_url"), "a URL")
        if not _URL.fullmatch(runbook):
            raise Problem((*here, "runbook_url"), f"{runbook!r} is not an http(s) URL")
    try:
        return make_slo(
            name=text(item["name"], (*here, "name"), "the SLO's name"),
            target=item["target"],
            window=text(item["window"], (*here, "window"), "a window like 30d"),
            service=service,
            runbook_url=runbook,
            min_events=_min_events(item, here),
            buckets=_buckets(item, here),
            **queries,
        )
    except SLOError as exc:
        raise Problem((*here, exc.key), exc.reason) from None


def _buckets(item: dict[Any, Any], here: Path_) -> tuple[float, ...] | None:
    if "buckets" not in item:
        return None
    raw = item["buckets"]
    if not isinstance(raw, list) or not raw:
        raise Problem(
            (*here, "buckets"), f"must be a list of bucket boundaries like [0.1, 0.5, 1], not {kind(raw)}"
        )
    for index, value in enumerate(raw):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise Problem((*here, "buckets", index), f"must be a bucket boundary like 0.5, not {kind(value)}")
    return tuple(float(v) for v in raw)


def _min_events(item: dict[Any, Any], here: Path_) -> float | None:
    if "min_events" not in item:
        return None
    value = item["min_events"]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise Problem((*here, "min_events"), f"must be a positive number of events, not {kind(value)}")
    return float(value)


def describe(slo: SLO) -> Iterator[str]:
    """`config check`'s lines for one SLO."""
    yield f"{slo.name} ({slo.slug}, service {slo.service}):"
    yield (
        f"  objective {number(slo.objective * 100)}% over {prometheus_duration(slo.window)}, "
        f"error budget {number(round((slo.window * slo.budget).total_seconds() / 60, 2))} minutes"
    )
    if slo.quantile is not None:
        q = slo.quantile
        checked = (
            "a listed bucket"
            if q.buckets_checked
            else "assumed a bucket boundary; SLOBucketMissing says if not"
        )
        yield (
            f"  from histogram_quantile({q.quantile:g}) <= {q.threshold:g}: "
            f"requests in {q.metric}_bucket le={q.threshold:g} ({checked}) over {q.metric}_count"
        )
    counted = slo.good if slo.good is not None else slo.errors
    yield f"  {'good' if slo.good is not None else 'errors'}: {counted}"
    yield f"  total: {slo.total}"
    if slo.scale != 1:
        pairs = ", ".join(
            f"{prometheus_duration(scaled(p.long, slo))}/{prometheus_duration(scaled(p.short, slo))}"
            for p in BURN_PAIRS
        )
        yield f"  burn windows scaled x{slo.scale:.4g}: {pairs}"
    if slo.min_events is not None:
        yield f"  alerts need at least {number(slo.min_events)} events in the short window"
    if slo.runbook_url:
        yield f"  runbook: {slo.runbook_url}"


def _summary(slos: tuple[SLO, ...], ctx: Context) -> Iterable[str]:
    if not slos:
        yield "none"
    for slo in slos:
        yield from describe(slo)


_CHANNEL = re.compile(r"#?[\w.-]+")


def _slo_channel(raw: object, ctx: Context) -> str:
    path: Path_ = ("slo_channel",)
    channel = text(raw, path, 'a channel such as "#releases" (quoted) or an id such as C0123456')
    if not _CHANNEL.fullmatch(channel):
        raise Problem(path, f'{channel!r} is not a channel such as "#releases" or an id such as C0123456')
    return channel


def _slo_channel_summary(channel: str | None, ctx: Context) -> Iterable[str]:
    if channel is None:
        yield "none: exhausted error budgets are not announced"
    else:
        yield f"{channel}: told once per window when an SLO's error budget is exhausted (needs PROMETHEUS_URL)"


SECTIONS: tuple[Section, ...] = (
    Section("slos", _slos, lambda ctx: (), _summary, policy_field="slos"),
    Section("slo_channel", _slo_channel, lambda ctx: None, _slo_channel_summary, policy_field="slo_channel"),
)
