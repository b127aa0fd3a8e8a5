"""The Slack app manifest for either way of reaching the bot, from the one `manifest.yml`.

`manifest.yml` is the HTTP manifest with the placeholder host; the others are derived from it, so
the scopes, the slash command and the bot events are the same in every mode.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from bot.core.errors import ConfigError

PLACEHOLDER_URL = "https://bot.example.com"
_BASE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?")


def manifest_path() -> Path:
    """`manifest.yml` of a source checkout, or the copy packed into the wheel."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "manifest.yml", here / "_manifest.yml"):
        if candidate.is_file():
            return candidate
    raise ConfigError("cannot find manifest.yml")


def http_manifest() -> dict[str, Any]:
    data = yaml.safe_load(manifest_path().read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ConfigError("manifest.yml is not a mapping")
    return data


def app_manifest(*, socket_mode: bool = False, url: str | None = None) -> dict[str, Any]:
    """The manifest for HTTP (request URLs under `url`, default the placeholder host) or for Socket
    Mode (no request URLs at all: Slack sends everything over the WebSocket)."""
    manifest = http_manifest()
    if socket_mode:
        return _socket_mode(manifest)
    if url is not None:
        return _with_base_url(manifest, normalise_url(url))
    return manifest


def normalise_url(url: str) -> str:
    """`https://host[:port][/prefix]`, without a trailing slash; ConfigError otherwise."""
    url = url.strip().rstrip("/")
    if not _BASE_URL.fullmatch(url):
        raise ConfigError(
            f"--url must be the bot's public base URL, like https://bot.example.com or "
            f"https://example.com/incident-bot (no query or fragment), not {url!r}"
        )
    return url


def _with_base_url(value: Any, base: str) -> Any:
    if isinstance(value, dict):
        return {key: _with_base_url(item, base) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_base_url(item, base) for item in value]
    if isinstance(value, str) and (value == PLACEHOLDER_URL or value.startswith(PLACEHOLDER_URL + "/")):
        return base + value.removeprefix(PLACEHOLDER_URL)
    return value


def _socket_mode(manifest: dict[str, Any]) -> dict[str, Any]:
    """Slack wants no request URL in Socket Mode: the slash command's `url`, interactivity's and
    event subscriptions' `request_url` are optional there and would go unused."""
    out = copy.deepcopy(manifest)
    for command in out.get("features", {}).get("slash_commands", []):
        command.pop("url", None)
    settings = out.setdefault("settings", {})
    for section in ("interactivity", "event_subscriptions"):
        if section in settings:
            settings[section].pop("request_url", None)
    settings["socket_mode_enabled"] = True
    return out


def render_manifest(manifest: dict[str, Any]) -> str:
    """YAML to paste into api.slack.com/apps -> Create New App -> From an app manifest."""
    socket_mode = manifest.get("settings", {}).get("socket_mode_enabled") is True
    if socket_mode:
        header = [
            "# Socket Mode: no public URL needed. After creating the app, add an app-level token with the",
            "# connections:write scope (Basic Information -> App-Level Tokens) and run the bot with",
            "# SLACK_APP_TOKEN=xapp-... incident-bot serve --socket-mode",
        ]
    elif PLACEHOLDER_URL in yaml.safe_dump(manifest):
        header = [
            "# Replace bot.example.com with the public address where `incident-bot serve` listens,",
            "# or print it with your address: incident-bot manifest --url https://your-host",
        ]
    else:
        header = ["# Slack sends its requests to the bot's /slack/events at this address."]
    intro = "# Paste into https://api.slack.com/apps -> Create New App -> From an app manifest."
    body = yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
    return "\n".join([intro, *header, body])
