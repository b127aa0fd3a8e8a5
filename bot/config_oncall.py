"""The config file's on-call sections: time_zone, people, schedules, handoff_channel, escalation_policy
and escalation_policies (plus `page`/`escalation` under severities and `escalation` under services).

Each is a `Section` in `bot.config_sections.SECTIONS`. `escalation_policies` comes last and puts the
whole on-call part together as `Policy.oncall` (a `bot.core.oncall_config.OnCallConfig`), checking
the names that point across sections: a severity's or service's policy, a level's targets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.config_file import Context, Path_, Problem, Section, kind, mapping, only_keys, text
from bot.core import oncall
from bot.core.oncall import Hours, Layer, OnCallSchedule, Rotation
from bot.core.oncall_config import (
    DEFAULT_POLICY,
    PAGING_SEVERITIES,
    EscalationLevel,
    EscalationPolicy,
    OnCallConfig,
    Target,
)

SCHEDULE_ITEM_KEYS = ("name", "rotation", "users", "layers", "usergroup")
LAYER_KEYS = ("rotation", "users", "hours")
ROTATION_KEYS = ("type", "handoff_time", "handoff_day", "timezone", "start", "every")
HOURS_KEYS = ("days", "from", "to")
POLICY_KEYS = ("name", "levels", "repeat")
LEVEL_KEYS = ("level", "targets", "timeout")
# Keys the on-call work adds to sections parsed in bot.config_sections.
SEVERITY_ONCALL_KEYS = ("page", "escalation")
SERVICE_ONCALL_KEYS = ("escalation",)

USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
USERGROUP = re.compile(r"S[A-Z0-9]{2,}")
_CHANNEL = re.compile(r"#?[\w.-]+")


def _zone(value: object, path: Path_) -> str:
    name = text(value, path, "an IANA time zone like America/New_York")
    try:
        oncall.parse_zone(name)
    except ValueError as exc:
        raise Problem(path, str(exc)) from None
    return name


def _clock(value: object, path: Path_, ctx: Context, *, allow_24: bool = False) -> time:
    """`"09:00"`; also unquoted `19:00`, which YAML 1.1 reads as the number 1140 (sexagesimal)."""
    if isinstance(value, int) and not isinstance(value, bool):
        written = ctx.written_as(path)
        if written is not None:
            value = written
        elif ctx.located is None or not ctx.located.lines:  # a mapping without its YAML text
            value = f"{value // 60:02d}:{value % 60:02d}"
    if not isinstance(value, str):
        raise Problem(path, f"{kind(value)} is not a time of day like 09:00 (write it in quotes)")
    try:
        return oncall.parse_clock(value, allow_24=allow_24)
    except ValueError as exc:
        raise Problem(path, str(exc)) from None


def _duration(value: object, path: Path_) -> timedelta:
    try:
        return oncall.parse_duration(value if isinstance(value, str) else repr(value))
    except ValueError:
        raise Problem(path, f"{kind(value)} is not a duration like 30s, 5min, 15m, 2h, 2d or 1w") from None


def _person(value: object, path: Path_, ctx: Context, *, people: bool = True) -> str:
    """A Slack user id or an email as written, or a `people:` name turned into one."""
    written = text(value, path, "a Slack user id, an email or a name from people:")
    if USER_ID.fullmatch(written) or EMAIL.fullmatch(written):
        return written
    known: Mapping[str, str] = ctx.values.get("people", {}) if people else {}
    if written in known:
        return known[written]
    what = "a Slack user id like U0123ABCD, an email" + (" or a name from people:" if people else "")
    raise Problem(path, f"{written!r} is not {what}")


# --- time_zone, people, handoff_channel ---------------------------------------------------------------


def _time_zone(raw: object, ctx: Context) -> str:
    return _zone(raw, ("time_zone",))


def _people(raw: object, ctx: Context) -> dict[str, str]:
    path: Path_ = ("people",)
    raw = mapping(raw, path, "names to a Slack user id or an email, e.g. Engineering Manager: U0123ABC")
    return {str(name): _person(value, (*path, str(name)), ctx, people=False) for name, value in raw.items()}


def _handoff_channel(raw: object, ctx: Context) -> str:
    path: Path_ = ("handoff_channel",)
    channel = text(raw, path, 'a channel such as "#oncall" (quoted) or an id such as C0123456')
    if not _CHANNEL.fullmatch(channel):
        raise Problem(path, f'{channel!r} is not a channel such as "#oncall" or an id such as C0123456')
    return channel


# --- schedules ----------------------------------------------------------------------------------------


def _schedules(raw: object, ctx: Context) -> tuple[OnCallSchedule, ...]:
    path: Path_ = ("schedules",)
    if not isinstance(raw, list):
        raise Problem(
            path,
            f"must be a list of schedules ({{name, rotation, users}} or {{name, layers}}), not {kind(raw)}",
        )
    out: list[OnCallSchedule] = []
    for index, item in enumerate(raw):
        here = (*path, index)
        item = mapping(item, here, "name, rotation and users, or name and layers")
        only_keys(item, SCHEDULE_ITEM_KEYS, here)
        name = text(item.get("name"), (*here, "name"), "the schedule's name")
        if not oncall.slug_for(name):
            raise Problem((*here, "name"), f"{name!r} needs at least one letter or digit")
        if any(s.slug == oncall.slug_for(name) for s in out):
            raise Problem(
                (*here, "name"), f"{name!r} is a second schedule with the slug {oncall.slug_for(name)!r}"
            )
        if "layers" in item:
            for key in ("rotation", "users"):
                if key in item:
                    raise Problem((*here, key), "a schedule has rotation and users, or layers, not both")
            layers_raw = item["layers"]
            if not isinstance(layers_raw, list) or not layers_raw:
                raise Problem(
                    (*here, "layers"), f"must be a list of {{rotation, users, hours}}, not {kind(layers_raw)}"
                )
            layers = tuple(
                _layer(layer, (*here, "layers", n), ctx, LAYER_KEYS) for n, layer in enumerate(layers_raw)
            )
        else:
            for key in ("rotation", "users"):
                if key not in item:
                    raise Problem((*here, key), "missing: a schedule has rotation and users, or layers")
            layers = (_layer({"rotation": item["rotation"], "users": item["users"]}, here, ctx, LAYER_KEYS),)
        out.append(OnCallSchedule(name, layers))
    _usergroups(raw)
    return tuple(out)


def _usergroups(raw: object) -> dict[str, str]:
    """Each schedule's optional Slack user group (checked here; `schedules` has already checked the rest)."""
    groups: dict[str, str] = {}
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        if isinstance(item, dict) and "usergroup" in item:
            path: Path_ = ("schedules", index, "usergroup")
            group = text(item["usergroup"], path, "a Slack user group id like S0123ABC")
            if not USERGROUP.fullmatch(group):
                raise Problem(path, f"{group!r} is not a Slack user group id like S0123ABC")
            groups[str(item["name"]).strip()] = group
    return groups


def _layer(raw: object, path: Path_, ctx: Context, keys: tuple[str, ...]) -> Layer:
    raw = mapping(raw, path, "rotation, users and hours")
    only_keys(raw, keys, path)
    if "rotation" not in raw:
        raise Problem((*path, "rotation"), "missing: a layer needs a rotation")
    rotation = _rotation(raw["rotation"], (*path, "rotation"), ctx)
    users_raw = raw.get("users")
    if not isinstance(users_raw, list) or not users_raw:
        raise Problem(
            (*path, "users"), f"the rotation is empty: list at least one user, not {kind(users_raw)}"
        )
    users = tuple(_person(user, (*path, "users", n), ctx) for n, user in enumerate(users_raw))
    hours = _hours(raw["hours"], (*path, "hours"), ctx) if "hours" in raw else None
    return Layer(rotation, users, hours)


def _rotation(raw: object, path: Path_, ctx: Context) -> Rotation:
    raw = mapping(raw, path, "type, handoff_time, handoff_day, timezone, start, every")
    only_keys(raw, ROTATION_KEYS, path)
    kind_ = text(raw.get("type", "weekly"), (*path, "type"), "daily, weekly or custom").lower()
    if kind_ not in oncall.KINDS:
        raise Problem((*path, "type"), f"{kind_!r} is not a rotation type (daily, weekly or custom)")
    options: dict[str, Any] = {"kind": kind_}
    if "handoff_time" in raw:
        options["handoff_time"] = _clock(raw["handoff_time"], (*path, "handoff_time"), ctx)
    if "handoff_day" in raw:
        if kind_ != "weekly":
            raise Problem(
                (*path, "handoff_day"), f"only a weekly rotation has a handoff day, not a {kind_} one"
            )
        try:
            options["handoff_day"] = oncall.parse_weekday(raw["handoff_day"])
        except ValueError as exc:
            raise Problem((*path, "handoff_day"), str(exc)) from None
    zone = _zone(raw["timezone"], (*path, "timezone")) if "timezone" in raw else ctx.values.get("time_zone")
    options["timezone"] = oncall.parse_zone(zone or "UTC")
    if "start" in raw:
        options["start"] = _date(raw["start"], (*path, "start"))
    if "every" in raw:
        if kind_ != "custom":
            raise Problem((*path, "every"), f"only a custom rotation has every, not a {kind_} one")
        options["every"] = _duration(raw["every"], (*path, "every"))
    elif kind_ == "custom":
        raise Problem((*path, "every"), "missing: a custom rotation needs every, e.g. every: 2w")
    try:
        return Rotation(**options)
    except ValueError as exc:
        raise Problem((*path, "every") if "every" in options else path, str(exc)) from None


def _date(value: object, path: Path_) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Problem(path, f"{kind(value)} is not a date like 2026-01-05")


def _hours(raw: object, path: Path_, ctx: Context) -> Hours:
    raw = mapping(raw, path, 'days, from and to, e.g. {days: mon-fri, from: "07:00", to: "19:00"}')
    only_keys(raw, HOURS_KEYS, path)
    for key in ("from", "to"):
        if key not in raw:
            raise Problem((*path, key), f'missing: hours need from and to, e.g. {key}: "09:00"')
    from_time = _clock(raw["from"], (*path, "from"), ctx)
    to_time = _clock(raw["to"], (*path, "to"), ctx, allow_24=True)
    if "days" not in raw:
        return Hours(from_time, to_time)
    try:
        days = oncall.parse_days(raw["days"])
    except (ValueError, TypeError):
        raise Problem(
            (*path, "days"), f"{kind(raw['days'])} is not a set of days like mon-fri or sat,sun"
        ) from None
    return Hours(from_time, to_time, days)


# --- escalation ---------------------------------------------------------------------------------------


def _target(value: object, path: Path_, ctx: Context) -> Target:
    written = text(value, path, "a schedule, a Slack user id, an email or a name from people:")
    schedules: tuple[OnCallSchedule, ...] = ctx.values.get("schedules", ())
    for schedule in schedules:
        if schedule.name == written or schedule.slug == written:
            return Target("schedule", schedule.name, written)
    people: Mapping[str, str] = ctx.values.get("people", {})
    if written in people:
        return Target("user", people[written], written)
    if USER_ID.fullmatch(written) or EMAIL.fullmatch(written):
        return Target("user", written)
    raise Problem(
        path, f"unknown target {written!r}: not a schedule, a Slack user id, an email or a name from people:"
    )


def _levels(raw: object, path: Path_, ctx: Context) -> tuple[EscalationLevel, ...]:
    if not isinstance(raw, list) or not raw:
        raise Problem(path, f"must be a list of levels ({{targets, timeout}}), not {kind(raw)}")
    levels = []
    for index, item in enumerate(raw):
        here = (*path, index)
        item = mapping(item, here, "targets and timeout")
        only_keys(item, LEVEL_KEYS, here)
        targets_raw = item.get("targets")
        if isinstance(targets_raw, str):
            targets_raw = [targets_raw]
        if not isinstance(targets_raw, list) or not targets_raw:
            raise Problem(
                (*here, "targets"), f"must be a list of schedules or people, not {kind(targets_raw)}"
            )
        targets = tuple(_target(t, (*here, "targets", n), ctx) for n, t in enumerate(targets_raw))
        timeout = _duration(item["timeout"], (*here, "timeout")) if "timeout" in item else None
        if timeout is None and index < len(raw) - 1:
            raise Problem((*here, "timeout"), "missing: every level but the last needs a timeout, e.g. 5min")
        levels.append(EscalationLevel(targets, timeout))
    return tuple(levels)


def _escalation_policy(raw: object, ctx: Context) -> EscalationPolicy:
    """The seed's single list: the default policy of every severity that pages and names no other."""
    return EscalationPolicy(DEFAULT_POLICY, _levels(raw, ("escalation_policy",), ctx))


def _escalation_policies(raw: object, ctx: Context) -> OnCallConfig:
    """The named policies, then the whole on-call part with every name that points across sections."""
    path: Path_ = ("escalation_policies",)
    policies: dict[str, EscalationPolicy] = {}
    default = ctx.values.get("escalation_policy")
    if default is not None:
        policies[DEFAULT_POLICY] = default
    if not isinstance(raw, list):
        raise Problem(path, f"must be a list of {{name, levels, repeat}}, not {kind(raw)}")
    for index, item in enumerate(raw):
        here = (*path, index)
        item = mapping(item, here, "name, levels and repeat")
        only_keys(item, POLICY_KEYS, here)
        name = text(item.get("name"), (*here, "name"), "the policy's name")
        if name in policies:
            clash = " (the name of escalation_policy:)" if name == DEFAULT_POLICY and default else ""
            raise Problem((*here, "name"), f"{name!r} names a second policy{clash}")
        repeat = item.get("repeat", 0)
        if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 0:
            raise Problem((*here, "repeat"), f"must be a whole number, 0 or more, not {kind(repeat)}")
        policies[name] = EscalationPolicy(name, _levels(item.get("levels"), (*here, "levels"), ctx), repeat)
    return _assemble(policies, ctx)


def _policy_name(value: object, path: Path_, policies: Mapping[str, EscalationPolicy]) -> str:
    name = text(value, path, "an escalation policy's name")
    if name not in policies:
        known = ", ".join(policies) or "none: add escalation_policy or escalation_policies"
        raise Problem(path, f"unknown escalation policy {name!r} (the policies are {known})")
    return name


def _assemble(policies: dict[str, EscalationPolicy], ctx: Context) -> OnCallConfig:
    severity_policy: dict[str, str | None] = {}
    written_severities = ctx.raw.get("severities")
    written = {str(k).strip().lower(): (str(k), v) for k, v in (written_severities or {}).items()}
    for index, level in enumerate(ctx["severities"]):
        key, spec = written.get(level.name, (level.name, None))
        spec = spec if isinstance(spec, dict) else {}
        here: Path_ = ("severities", key)
        page = spec.get("page", index < PAGING_SEVERITIES or "escalation" in spec)
        if not isinstance(page, bool):
            raise Problem((*here, "page"), f"must be true or false, not {kind(page)}")
        name = (
            _policy_name(spec["escalation"], (*here, "escalation"), policies)
            if "escalation" in spec
            else None
        )
        if name is None and DEFAULT_POLICY in policies:
            name = DEFAULT_POLICY
        severity_policy[level.name] = name if page else None
    service_policy: dict[str, str] = {}
    for service, spec in (ctx.raw.get("services") or {}).items():
        if isinstance(spec, dict) and "escalation" in spec:
            here = ("services", str(service), "escalation")
            service_policy[str(service)] = _policy_name(spec["escalation"], here, policies)
    return OnCallConfig(
        time_zone=ctx.values.get("time_zone"),
        people=ctx.values.get("people", {}),
        schedules=ctx.values.get("schedules", ()),
        usergroups=_usergroups(ctx.raw.get("schedules")),
        policies=policies,
        severity_policy=severity_policy,
        service_policy=service_policy,
        handoff_channel=ctx.values.get("handoff_channel"),
    )


# --- summaries ----------------------------------------------------------------------------------------


def _clock_text(at: time) -> str:
    return at.strftime("%H:%M")


def _rotation_text(rotation: Rotation) -> str:
    when = _clock_text(rotation.handoff_time)
    if rotation.kind == "weekly":
        when = f"{oncall.WEEKDAYS[rotation.handoff_day]} {when}"
    every = f"every {rotation.turn_days}d" if rotation.kind == "custom" else rotation.kind
    return f"{every}, handoff {when} {rotation.timezone.key}, from {rotation.start.isoformat()}"


def _schedules_summary(schedules: tuple[OnCallSchedule, ...], ctx: Context) -> Iterable[str]:
    if not schedules:
        yield "none"
    for schedule in schedules:
        yield f"{schedule.name} ({schedule.slug}):"
        for number, layer in enumerate(schedule.layers, 1):
            hours = ""
            if layer.hours is not None:
                days = ",".join(oncall.WEEKDAYS[d] for d in sorted(layer.hours.days))
                days = "every day" if layer.hours.days == oncall.EVERY_DAY else days
                hours = f"; {days} {_clock_text(layer.hours.from_time)}-{_clock_text(layer.hours.to_time)}"
            label = f"layer {number}: " if len(schedule.layers) > 1 else ""
            yield f"  {label}{_rotation_text(layer.rotation)}{hours}: {', '.join(layer.users)}"


def _levels_text(policy: EscalationPolicy) -> Iterable[str]:
    for number, level in enumerate(policy.levels, 1):
        targets = ", ".join(
            t.written if t.written == t.value else f"{t.written} ({t.value})" for t in level.targets
        )
        then = f", then after {_duration_text(level.timeout)}" if level.timeout else ""
        yield f"level {number}: {targets}{then}"


def _duration_text(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _policies_summary(config: OnCallConfig, ctx: Context) -> Iterable[str]:
    for policy in config.policies.values():
        if policy.name == DEFAULT_POLICY and "escalation_policy" in ctx.written:
            continue  # shown under escalation_policy
        yield f"{policy.name}" + (f" (repeat {policy.repeat})" if policy.repeat else "") + ":"
        yield from (f"  {line}" for line in _levels_text(policy))
    paging = ", ".join(f"{sev} -> {name or 'no paging'}" for sev, name in config.severity_policy.items())
    yield f"severities: {paging}"
    if config.service_policy:
        yield "services: " + ", ".join(f"{svc} -> {name}" for svc, name in config.service_policy.items())


def _default_config(ctx: Context) -> OnCallConfig:
    return _assemble(
        {DEFAULT_POLICY: ctx["escalation_policy"]} if ctx.values.get("escalation_policy") else {}, ctx
    )


SECTIONS: tuple[Section, ...] = (
    Section("time_zone", _time_zone, lambda ctx: None, lambda zone, ctx: [zone or "UTC"]),
    Section(
        "people",
        _people,
        lambda ctx: {},
        lambda people, ctx: [f"{n} -> {u}" for n, u in people.items()] or ["none"],
    ),
    Section(
        "schedules",
        _schedules,
        lambda ctx: (),
        _schedules_summary,
        needs=("time_zone", "people"),
    ),
    Section("handoff_channel", _handoff_channel, lambda ctx: None, lambda channel, ctx: [channel or "none"]),
    Section(
        "escalation_policy",
        _escalation_policy,
        lambda ctx: None,
        lambda policy, ctx: list(_levels_text(policy)) if policy else ["none"],
        needs=("people", "schedules"),
    ),
    Section(
        "escalation_policies",
        _escalation_policies,
        _default_config,
        _policies_summary,
        policy_field="oncall",
        needs=("severities", "services", "people", "schedules", "escalation_policy", "handoff_channel"),
    ),
)
