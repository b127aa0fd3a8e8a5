"""Every top-level key of the config file, in `SECTIONS`: how it is checked, its default, its summary.

A new section (on-call schedules, a status page, SLOs, runbooks) is one more `Section` in
`SECTIONS`; `incident-bot config check`, `serve` and the report commands then all check it, and
the check prints its summary. Parsers raise `Problem(path, reason)` with the path from the top of
the file, so the message can name the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

from bot.config_file import (
    Context,
    Path_,
    Problem,
    Section,
    kind,
    mapping,
    only_keys,
    positive_number,
    text,
)
from bot.config_oncall import SECTIONS as ONCALL_SECTIONS
from bot.config_oncall import SERVICE_ONCALL_KEYS, SEVERITY_ONCALL_KEYS
from bot.config_runbooks import SECTIONS as RUNBOOK_SECTIONS
from bot.config_slo import SECTIONS as SLO_SECTIONS
from bot.config_status_page import SECTIONS as STATUS_PAGE_SECTIONS
from bot.core.policy import DEFAULT_SEVERITIES, AlertPolicy, Policy, Schedule, SeverityLevel
from bot.core.text import slug

SEVERITY_KEYS = ("description", "responders")
SERVICE_KEYS = ("availability",)
ALERT_KEYS = ("declare", "triage", "triage_channel")
SCHEDULE_KEYS = ("every", "mitigated_every", "ack_timeout", "postmortem_after", "follow_up_after")
RESOLVE_BY = ("commander", "anyone")

_WORD = re.compile(r"[a-z0-9][a-z0-9_-]*")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
# `#incidents`, `incidents`, or a channel id such as C0123456 (no spaces: Slack names have none).
_CHANNEL = re.compile(r"#?[\w.-]+")
_PREFIX = re.compile(r"[a-z0-9][a-z0-9-]{0,19}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "": "minutes"}
_OFF = ("off", "none", "never", "")


def parse_duration(value: object, path: Path_) -> timedelta | None:
    """`90s`, `15m`, `2h`, `2d`, or a bare number of minutes; `off` (or nothing) for none."""
    if value is None or value is False or (isinstance(value, str) and value.strip().lower() in _OFF):
        return None
    match = _DURATION.match(str(value)) if isinstance(value, str | int | float) else None
    if value is True or not match or float(match.group(1)) <= 0:
        raise Problem(path, f"{kind(value)} is not a duration like 30s, 15m, 2h or 2d (or off)")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def format_duration(value: timedelta | None) -> str:
    if value is None:
        return "off"
    seconds = value.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _channel(value: object, path: Path_) -> str:
    channel = text(value, path, 'a channel such as "#incidents" (quoted) or an id such as C0123456')
    if not _CHANNEL.fullmatch(channel):
        raise Problem(path, f'{channel!r} is not a channel such as "#incidents" or an id such as C0123456')
    return channel


# --- severities -----------------------------------------------------------------------------------


def _severities(raw: object, ctx: Context) -> tuple[SeverityLevel, ...]:
    path: Path_ = ("severities",)
    raw = mapping(raw, path, "severity names like sev1 to a description and responders")
    if not raw:
        raise Problem(path, "must name at least one severity")
    levels: list[SeverityLevel] = []
    for name, spec in raw.items():
        here = (*path, str(name))
        lowered = str(name).strip().lower()
        if not _WORD.fullmatch(lowered):
            raise Problem(here, "a severity's name is one word of letters, digits, - and _ (it is typed)")
        if lowered in [level.name for level in levels]:
            raise Problem(here, f"{lowered} is named twice (severity names ignore case)")
        spec = mapping({} if spec is None else spec, here, "description and responders")
        only_keys(spec, (*SEVERITY_KEYS, *SEVERITY_ONCALL_KEYS), here)  # on-call keys: bot.config_oncall
        description = text(spec["description"], (*here, "description")) if "description" in spec else ""
        responders = spec.get("responders") or []
        if not isinstance(responders, list):
            raise Problem((*here, "responders"), f"must be a list of Slack user ids, not {kind(responders)}")
        for index, user in enumerate(responders):
            if not isinstance(user, str) or not _USER_ID.fullmatch(user):
                raise Problem(
                    (*here, "responders", index), f"must be a Slack user id like U0123ABCD, not {kind(user)}"
                )
        levels.append(SeverityLevel(lowered, description, tuple(responders)))
    return tuple(levels)


def _severities_summary(levels: tuple[SeverityLevel, ...], ctx: Context) -> Iterable[str]:
    schedule: Schedule = ctx["updates"]
    alerts: AlertPolicy = ctx["alerts"]
    for level in levels:
        yield f"{level.name}: {level.description or '(no description)'}"
        yield f"  responders: {', '.join(level.responders) or 'none'}"
        yield f"  status update every: {format_duration(schedule.update_every.get(level.name))}"
        paged_by = [label for label, severity in alerts.declare.items() if severity == level.name]
        yield f"  declared by alerts: {', '.join(paged_by) or 'none'}"


def _severity_names(ctx: Context) -> list[str]:
    return [level.name for level in ctx["severities"]]


def _one_of_severities(value: object, path: Path_, ctx: Context) -> str:
    name = text(value, path, "a severity").lower()
    if name not in _severity_names(ctx):
        raise Problem(
            path, f"unknown severity {name!r} (the severities are {', '.join(_severity_names(ctx))})"
        )
    return name


# --- alerts and updates ---------------------------------------------------------------------------


def _alerts(raw: object, ctx: Context) -> AlertPolicy:
    """`alerts: {declare: {page: sev1}, triage: [warning], triage_channel: "#alerts-triage"}`."""
    path: Path_ = ("alerts",)
    raw = mapping(raw, path, ", ".join(ALERT_KEYS))
    only_keys(raw, ALERT_KEYS, path)
    defaults = _default_alerts(ctx)
    declare = dict(defaults.declare)
    if "declare" in raw:
        here = (*path, "declare")
        written = mapping(raw["declare"], here, "alert severities to incident severities, e.g. page: sev1")
        declare = {
            text(label, (*here, str(label))).lower(): _one_of_severities(value, (*here, str(label)), ctx)
            for label, value in written.items()
        }
    triage = list(defaults.triage)
    if "triage" in raw:
        here = (*path, "triage")
        if not isinstance(raw["triage"], list):
            raise Problem(here, f"must be a list of alert severities, not {kind(raw['triage'])}")
        triage = [
            text(label, (*here, index), "an alert severity").lower()
            for index, label in enumerate(raw["triage"])
        ]
        for index, label in enumerate(triage):
            if label in declare:
                raise Problem((*here, index), f"{label!r} is also in alerts.declare, which wins")
    channel = defaults.triage_channel
    if "triage_channel" in raw:
        channel = _channel(raw["triage_channel"], (*path, "triage_channel"))
    return AlertPolicy(declare=declare, triage=tuple(triage), triage_channel=channel)


def _default_alerts(ctx: Context) -> AlertPolicy:
    """The built-in mapping, with its paging labels declaring the most severe level when the team's
    severities have other names (sev1 would name a severity that does not exist)."""
    defaults = AlertPolicy()
    names = _severity_names(ctx)
    declare = {label: sev if sev in names else names[0] for label, sev in defaults.declare.items()}
    return AlertPolicy(declare=declare, triage=defaults.triage, triage_channel=defaults.triage_channel)


def _alerts_summary(alerts: AlertPolicy, ctx: Context) -> Iterable[str]:
    yield "declare: " + (", ".join(f"{label} -> {sev}" for label, sev in alerts.declare.items()) or "none")
    yield f"triage: {', '.join(alerts.triage) or 'none'} (posted to {alerts.triage_channel})"
    yield "anything else: recorded only"


def _updates(raw: object, ctx: Context) -> Schedule:
    path: Path_ = ("updates",)
    raw = mapping(raw, path, ", ".join(SCHEDULE_KEYS))
    only_keys(raw, SCHEDULE_KEYS, path)
    defaults = Schedule()
    every = dict(defaults.update_every)
    if "every" in raw:
        here = (*path, "every")
        written = mapping(raw["every"], here, "severities to durations like 15m")
        every = {}
        for name, value in written.items():
            severity = _one_of_severities(name, (*here, str(name)), ctx)
            duration = parse_duration(value, (*here, str(name)))
            if duration is not None:
                every[severity] = duration
    options = {
        key: parse_duration(raw[key], (*path, key)) for key in SCHEDULE_KEYS if key != "every" and key in raw
    }
    return Schedule(update_every=every, **options)


def _updates_summary(schedule: Schedule, ctx: Context) -> Iterable[str]:
    every = ", ".join(
        f"{name} {format_duration(schedule.update_every.get(name))}" for name in _severity_names(ctx)
    )
    yield f"every: {every}"
    for key in SCHEDULE_KEYS[1:]:
        yield f"{key}: {format_duration(getattr(schedule, key))}"


# --- the rest -------------------------------------------------------------------------------------


def _services(raw: object, ctx: Context) -> dict[str, float]:
    """`services: {checkout: {availability: 99.9}}`: availability targets for error budgets."""
    path: Path_ = ("services",)
    raw = mapping(raw, path, "service names to {availability: 99.9}")
    targets = {}
    for name, spec in raw.items():
        here = (*path, str(name))
        if slug(str(name)) != str(name):
            raise Problem(here, f"incidents record services slugged: write it as {slug(str(name))!r}")
        spec = mapping(spec, here, "availability: 99.9")
        only_keys(spec, (*SERVICE_KEYS, *SERVICE_ONCALL_KEYS), here)  # on-call keys: bot.config_oncall
        if "availability" not in spec and "escalation" in spec:
            continue
        target = spec.get("availability")
        if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target < 100:
            raise Problem((*here, "availability"), f"must be a percentage like 99.9, not {kind(target)}")
        targets[str(name)] = float(target)
    return targets


def _templates(raw: object, ctx: Context) -> Path:
    path: Path_ = ("templates",)
    folder = (ctx.base_dir or Path.cwd()) / text(raw, path, "a folder")
    if not folder.is_dir():
        raise Problem(path, f"the templates folder {folder.resolve()} does not exist")
    return folder.resolve()


def _default_severity(raw: object, ctx: Context) -> str:
    return _one_of_severities(raw, ("default_severity",), ctx)


def _resolve_by(raw: object, ctx: Context) -> str:
    value = text(raw, ("resolve_by",)).lower()
    if value not in RESOLVE_BY:
        raise Problem(("resolve_by",), f"must be {' or '.join(RESOLVE_BY)}, not {value!r}")
    return value


def _channel_prefix(raw: object, ctx: Context) -> str:
    value = text(raw, ("channel_prefix",))
    if not _PREFIX.fullmatch(value):
        raise Problem(
            ("channel_prefix",), f"{value!r} is not lowercase letters, digits and - (at most 20 characters)"
        )
    return value


def _line(value: object, ctx: Context) -> Iterable[str]:
    yield f"{value:g}" if isinstance(value, float) else str(value)


_POLICY = Policy()
# Settings' own defaults for these (bot.config.Settings); a test holds the two equal.
DEFAULT_POSTS_PER_SECOND = 1.0
DEFAULT_HEARTBEAT_SECONDS = 5.0

SECTIONS: tuple[Section, ...] = (
    Section(
        "severities",
        _severities,
        lambda ctx: DEFAULT_SEVERITIES,
        _severities_summary,
        policy_field="severities",
    ),
    Section(
        "default_severity",
        _default_severity,
        # The built-in default while it exists; else the least severe, as the list runs most severe first.
        lambda ctx: next(
            (n for n in _severity_names(ctx) if n == _POLICY.default_severity), _severity_names(ctx)[-1]
        ),
        _line,
        policy_field="default_severity",
        needs=("severities",),
    ),
    Section(
        "announcement_channel",
        lambda raw, ctx: _channel(raw, ("announcement_channel",)),
        lambda ctx: _POLICY.announcement_channel,
        _line,
        policy_field="announcement_channel",
    ),
    Section(
        "channel_prefix",
        _channel_prefix,
        lambda ctx: _POLICY.channel_prefix,
        _line,
        policy_field="channel_prefix",
    ),
    Section("resolve_by", _resolve_by, lambda ctx: _POLICY.resolve_by, _line, policy_field="resolve_by"),
    Section(
        "services",
        _services,
        lambda ctx: {},
        lambda targets, ctx: [", ".join(f"{name} {target:g}%" for name, target in targets.items()) or "none"],
        policy_field="services",
    ),
    Section(
        "alerts",
        _alerts,
        _default_alerts,
        _alerts_summary,
        policy_field="alerts",
        needs=("severities",),
    ),
    Section(
        "updates",
        _updates,
        lambda ctx: Schedule(),
        _updates_summary,
        policy_field="schedule",
        needs=("severities",),
    ),
    Section(
        "templates",
        _templates,
        lambda ctx: None,
        lambda folder, ctx: [str(folder) if folder else "the bot's own"],
        settings_field="template_dir",
    ),
    Section(
        "posts_per_second",
        lambda raw, ctx: positive_number(raw, ("posts_per_second",)),
        lambda ctx: DEFAULT_POSTS_PER_SECOND,
        _line,
        settings_field="posts_per_second",
    ),
    Section(
        "heartbeat_seconds",
        lambda raw, ctx: positive_number(raw, ("heartbeat_seconds",)),
        lambda ctx: DEFAULT_HEARTBEAT_SECONDS,
        _line,
        settings_field="heartbeat_seconds",
    ),
    *ONCALL_SECTIONS,
    *SLO_SECTIONS,
    *STATUS_PAGE_SECTIONS,
    *RUNBOOK_SECTIONS,
)
