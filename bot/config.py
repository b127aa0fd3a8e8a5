"""Settings, read once at start-up from the environment and an optional YAML file, then passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config_file import CheckedConfig, check_mapping, read_config_file
from bot.config_sections import SECTIONS
from bot.core.errors import ConfigError
from bot.core.policy import Policy

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
    oncall_feed_token: str | None = None  # ONCALL_FEED_TOKEN: the ICS feed is off without it
    # Socket Mode: Slack's requests arrive over a WebSocket opened with the app-level token.
    socket_mode: bool = False
    app_token: str | None = None
    # PAGERDUTY_ROUTING_KEY (an Events API v2 integration key): pages also go to PagerDuty.
    pagerduty_routing_key: str | None = None
    pagerduty_events_url: str | None = None  # PAGERDUTY_EVENTS_URL, default PagerDuty's own
    # STATUSPAGE_API_KEY: with status_page.statuspage, publications are mirrored to Statuspage.io.
    statuspage_api_key: str | None = None
    statuspage_api_url: str | None = None  # STATUSPAGE_API_URL (with /v1), default Statuspage's own
    # PROMETHEUS_URL: live error budgets (/incident slo, slo_channel) from its HTTP API.
    prometheus_url: str | None = None


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
        oncall_feed_token=env.get("ONCALL_FEED_TOKEN") or None,
        socket_mode=socket_mode,
        app_token=env["SLACK_APP_TOKEN"] if socket_mode else None,
        pagerduty_routing_key=env.get("PAGERDUTY_ROUTING_KEY", "").strip() or None,
        pagerduty_events_url=env.get("PAGERDUTY_EVENTS_URL", "").strip() or None,
        statuspage_api_key=env.get("STATUSPAGE_API_KEY", "").strip() or None,
        statuspage_api_url=env.get("STATUSPAGE_API_URL", "").strip() or None,
        prometheus_url=env.get("PROMETHEUS_URL", "").strip() or None,
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
    """The Settings fields the YAML file sets (policy, template_dir, posts_per_second, ...), checked
    section by section as `incident-bot config check` does: a mistake is a ConfigError whose lines
    read `FILE:LINE: key.path: reason`."""
    return settings_from_checked(check_config_file(path))


def check_config_file(path: Path) -> CheckedConfig:
    """Read and check every section of the file at `path` (`incident-bot config check`)."""
    checked = read_config_file(path, SECTIONS)
    settings_from_checked(checked)
    return checked


def settings_from_checked(checked: CheckedConfig) -> dict[str, Any]:
    try:
        policy = Policy(**checked.policy_fields())
    except ValueError as exc:
        raise ConfigError(f"{checked.source}: {exc}") from exc
    return {"policy": policy, **checked.settings_fields()}


def policy_from_mapping(raw: Mapping[str, object], where: str = "config") -> Policy:
    """The Policy a config mapping (already parsed, so without lines) describes."""
    policy = settings_from_checked(check_mapping(dict(raw), SECTIONS, where))["policy"]
    assert isinstance(policy, Policy)
    return policy


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
