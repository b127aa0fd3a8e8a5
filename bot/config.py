"""Settings, read once at start-up from the environment and an optional YAML file, then passed down."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.core.errors import ConfigError
from bot.core.policy import DEFAULT_SEVERITIES, AlertPolicy, Policy, Schedule, SeverityLevel

DEFAULT_DATABASE_URL = "sqlite:///incidents.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


@dataclass(frozen=True)
class Settings:
    bot_token: str
    signing_secret: str
    database_url: str = DEFAULT_DATABASE_URL
    slack_api_url: str = DEFAULT_SLACK_API_URL
    policy: Policy = field(default_factory=Policy)
    template_dir: Path | None = None
    # Slack allows about one message a second per channel; bursts of a few are tolerated.
    posts_per_second: float = 1.0
    heartbeat_seconds: float = 5.0
    alertmanager_token: str | None = None
    # Socket Mode: Slack's requests arrive over a WebSocket opened with the app-level token.
    socket_mode: bool = False
    app_token: str | None = None


def load_settings(env: Mapping[str, str] | None = None, *, socket_mode: bool = False) -> Settings:
    """Read settings from `env` (default: the process environment); raise ConfigError naming what is wrong.
    In Socket Mode the app-level token replaces the signing secret (nothing arrives over HTTP to verify)."""
    env = os.environ if env is None else env
    required = (
        ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN") if socket_mode else ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    )
    missing = [name for name in required if not env.get(name)]
    if missing:
        raise ConfigError(f"missing environment variable {' and '.join(missing)}")
    if socket_mode:
        check_app_token(env["SLACK_APP_TOKEN"])
    config_path = env.get("INCIDENT_BOT_CONFIG")
    file_settings = load_config_file(Path(config_path)) if config_path else {}
    api_url = env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    return Settings(
        bot_token=env["SLACK_BOT_TOKEN"],
        signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
        alertmanager_token=env.get("ALERTMANAGER_TOKEN") or None,
        socket_mode=socket_mode,
        app_token=env["SLACK_APP_TOKEN"] if socket_mode else None,
        **file_settings,
    )


def check_app_token(token: str) -> None:
    """Socket Mode connects with an app-level token, `xapp-...`; a bot or user token cannot open
    the connection. The message names the token's kind, never the token."""
    if not token.startswith("xapp-"):
        kind = token.split("-", 1)[0] + "-" if token[:4] in ("xoxb", "xoxp") else "something else"
        raise ConfigError(
            "SLACK_APP_TOKEN must be an app-level token starting with xapp- (the app's Basic Information "
            f"-> App-Level Tokens, with the connections:write scope), not {kind}"
        )


def load_config_file(path: Path) -> dict[str, Any]:
    """The Settings fields the YAML file sets: policy, template_dir, posts_per_second, heartbeat_seconds."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read INCIDENT_BOT_CONFIG {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"INCIDENT_BOT_CONFIG {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"INCIDENT_BOT_CONFIG {path} must be a mapping of settings")
    where = str(path)
    out: dict[str, Any] = {"policy": policy_from_mapping(raw, where=where)}
    if raw.get("templates"):
        out["template_dir"] = (path.parent / str(raw["templates"])).resolve()
    for key in ADAPTER_KEYS:
        if key in raw:
            out[key] = _positive_number(raw[key], f"{where}: {key}")
    return out


def _positive_number(value: object, where: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = 0.0
    if number <= 0:
        raise ConfigError(f"{where} must be a positive number, not {value!r}")
    return number


KNOWN_KEYS = {
    "severities",
    "default_severity",
    "announcement_channel",
    "channel_prefix",
    "updates",
    "resolve_by",
    "services",
    "alerts",
}
ADAPTER_KEYS = {"posts_per_second", "heartbeat_seconds"}
SEVERITY_KEYS = {"description", "responders"}
SERVICE_KEYS = {"availability"}
SCHEDULE_KEYS = {"every", "mitigated_every", "ack_timeout", "postmortem_after", "follow_up_after"}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "": "minutes"}


def policy_from_mapping(raw: Mapping[str, object], where: str = "config") -> Policy:
    unknown = set(raw) - KNOWN_KEYS - ADAPTER_KEYS - {"templates"}
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    severities = _severities(raw.get("severities"), where) if "severities" in raw else DEFAULT_SEVERITIES
    kwargs: dict[str, object] = {"severities": severities}
    for key in ("default_severity", "announcement_channel", "channel_prefix", "resolve_by"):
        if key in raw:
            kwargs[key] = (
                str(raw[key]).strip().lower() if key == "default_severity" else str(raw[key]).strip()
            )
    if "alerts" in raw:
        kwargs["alerts"] = _alerts(raw["alerts"], [s.name for s in severities], where)
    if "services" in raw:
        kwargs["services"] = _services(raw["services"], where)
    if "updates" in raw:
        kwargs["schedule"] = _schedule(raw["updates"], [s.name for s in severities], where)
    if "default_severity" not in kwargs and "sev3" not in [s.name for s in severities]:
        kwargs["default_severity"] = severities[-1].name
    try:
        return Policy(**kwargs)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _severities(raw: object, where: str) -> tuple[SeverityLevel, ...]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{where}: `severities` must map names like sev1 to a description and responders")
    levels = []
    for name, spec in raw.items():
        spec = spec or {}
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: severity {name} must be a mapping")
        unknown = set(spec) - SEVERITY_KEYS
        if unknown:
            raise ConfigError(
                f"{where}: unknown setting(s) {', '.join(sorted(map(str, unknown)))} in severity {name} "
                f"(it takes {', '.join(sorted(SEVERITY_KEYS))})"
            )
        responders = spec.get("responders") or []
        if not isinstance(responders, list) or not all(isinstance(r, str) for r in responders):
            raise ConfigError(f"{where}: responders of {name} must be a list of Slack user ids")
        levels.append(SeverityLevel(str(name).lower(), str(spec.get("description", "")), tuple(responders)))
    return tuple(levels)


def _schedule(raw: object, severities: list[str], where: str) -> Schedule:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: `updates` must be a mapping ({', '.join(sorted(SCHEDULE_KEYS))})")
    unknown = set(raw) - SCHEDULE_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown updates setting(s) {', '.join(sorted(unknown))}")
    defaults = Schedule()
    every = dict(defaults.update_every)
    if "every" in raw:
        if not isinstance(raw["every"], dict):
            raise ConfigError(f"{where}: updates.every must map severities to durations like 15m")
        every = {}
        for name, value in raw["every"].items():
            if str(name).lower() not in severities:
                raise ConfigError(f"{where}: updates.every names unknown severity {name}")
            duration = parse_duration(value, f"{where}: updates.every.{name}")
            if duration is not None:
                every[str(name).lower()] = duration
    options = {}
    for key in ("mitigated_every", "ack_timeout", "postmortem_after", "follow_up_after"):
        if key in raw:
            options[key] = parse_duration(raw[key], f"{where}: updates.{key}")
    return Schedule(update_every=every, **options)


def parse_duration(value: object, where: str) -> timedelta | None:
    """`90s`, `15m`, `2h`, `2d`, or a bare number of minutes; `off` or empty for none."""
    if value is None or value is False or str(value).strip().lower() in ("off", "none", "never", ""):
        return None
    match = _DURATION.match(str(value))
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"{where}: {value!r} is not a duration like 30s, 15m, 2h or 2d (or off)")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def load_report_settings(env: Mapping[str, str] | None = None) -> tuple[str, Policy | None, Path | None]:
    """What the report commands (postmortem, metrics) need: the database, and the config file's
    policy and templates if one is set. No Slack credentials."""
    env = os.environ if env is None else env
    config_path = env.get("INCIDENT_BOT_CONFIG")
    file_settings = load_config_file(Path(config_path)) if config_path else {}
    policy = file_settings.get("policy")
    template_dir = file_settings.get("template_dir")
    return (
        env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        policy if isinstance(policy, Policy) else None,
        template_dir if isinstance(template_dir, Path) else None,
    )


def _services(raw: object, where: str) -> dict[str, float]:
    """`services: {checkout: {availability: 99.9}}`: availability targets for error budgets."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: `services` must map service names to {{availability: 99.9}}")
    targets = {}
    for name, spec in raw.items():
        if isinstance(spec, dict) and set(spec) - SERVICE_KEYS:
            unknown = ", ".join(sorted(map(str, set(spec) - SERVICE_KEYS)))
            raise ConfigError(
                f"{where}: unknown setting(s) {unknown} in services.{name} (it takes availability)"
            )
        value = spec.get("availability") if isinstance(spec, dict) else None
        try:
            target = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            target = -1.0
        if not 0 < target < 100:
            raise ConfigError(f"{where}: services.{name}.availability must be a percentage like 99.9")
        targets[str(name)] = target
    return targets


def _alerts(raw: object, severities: list[str], where: str) -> AlertPolicy:
    """`alerts: {declare: {page: sev1}, triage: [warning], triage_channel: "#alerts-triage"}`."""
    if not isinstance(raw, dict) or set(raw) - {"declare", "triage", "triage_channel"}:
        raise ConfigError(f"{where}: `alerts` takes declare, triage and triage_channel")
    defaults = AlertPolicy()
    declare = raw.get("declare", defaults.declare)
    if not isinstance(declare, dict) or not all(str(v).lower() in severities for v in declare.values()):
        raise ConfigError(f"{where}: alerts.declare must map alert severities to one of {severities}")
    triage = raw.get("triage", list(defaults.triage))
    if not isinstance(triage, list):
        raise ConfigError(f"{where}: alerts.triage must be a list of alert severities")
    return AlertPolicy(
        declare={str(k).lower(): str(v).lower() for k, v in declare.items()},
        triage=tuple(str(t).lower() for t in triage),
        triage_channel=str(raw.get("triage_channel", defaults.triage_channel)),
    )
