"""Settings, read once at start-up from the environment and an optional YAML file, then passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.policy import DEFAULT_SEVERITIES, Policy, SeverityLevel
from bot.errors import ConfigError

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


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from `env` (default: the process environment); raise ConfigError naming what is wrong."""
    env = os.environ if env is None else env
    missing = [name for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET") if not env.get(name)]
    if missing:
        raise ConfigError(f"missing environment variable {' and '.join(missing)}")
    config_path = env.get("INCIDENT_BOT_CONFIG")
    policy, template_dir = load_config_file(Path(config_path)) if config_path else (Policy(), None)
    api_url = env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    return Settings(
        bot_token=env["SLACK_BOT_TOKEN"],
        signing_secret=env["SLACK_SIGNING_SECRET"],
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        slack_api_url=api_url if api_url.endswith("/") else api_url + "/",
        policy=policy,
        template_dir=template_dir,
    )


def load_config_file(path: Path) -> tuple[Policy, Path | None]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read INCIDENT_BOT_CONFIG {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"INCIDENT_BOT_CONFIG {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"INCIDENT_BOT_CONFIG {path} must be a mapping of settings")
    template_dir = raw.get("templates")
    return policy_from_mapping(raw, where=str(path)), (
        (path.parent / template_dir).resolve() if template_dir else None
    )


KNOWN_KEYS = {"severities", "default_severity", "announcement_channel", "channel_prefix"}


def policy_from_mapping(raw: Mapping[str, object], where: str = "config") -> Policy:
    unknown = set(raw) - KNOWN_KEYS - {"templates"}
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    severities = _severities(raw.get("severities"), where) if "severities" in raw else DEFAULT_SEVERITIES
    kwargs: dict[str, object] = {"severities": severities}
    for key in ("default_severity", "announcement_channel", "channel_prefix"):
        if key in raw:
            kwargs[key] = (
                str(raw[key]).strip().lower() if key == "default_severity" else str(raw[key]).strip()
            )
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
        responders = spec.get("responders") or []
        if not isinstance(responders, list) or not all(isinstance(r, str) for r in responders):
            raise ConfigError(f"{where}: responders of {name} must be a list of Slack user ids")
        levels.append(SeverityLevel(str(name).lower(), str(spec.get("description", "")), tuple(responders)))
    return tuple(levels)
