"""manifest.yml creates the Slack app the code needs: valid per Slack's schema, exact scopes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

from bot.server import EVENTS_PATH
from bot.slack.app import SLASH_COMMAND
from bot.slack.notifier import EXTRA_SCOPES, METHOD_SCOPES

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests" / "slack_specs" / "manifest.schema.1.0.0.json"
SHARED_SCHEMA = ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"


def load_manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def manifest_bot_scopes() -> set[str]:
    return set(load_manifest()["oauth_config"]["scopes"]["bot"])


def test_manifest_validates_against_slacks_schema():
    """manifest.yml passes Slack's published app manifest JSON Schema (the copy in tests/slack_specs/)."""
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(load_manifest()), key=str)
    assert errors == [], [e.message for e in errors]


def test_manifest_schema_copy_is_unchanged_from_the_shared_one():
    """The committed schema is byte for byte the one in ../shared/slack/, where that exists."""
    if not SHARED_SCHEMA.exists():
        pytest.skip(f"Slack's manifest schema is not at {SHARED_SCHEMA}: nothing to compare the copy with")
    assert SCHEMA.read_bytes() == SHARED_SCHEMA.read_bytes()


def test_manifest_declares_the_slash_command_the_code_listens_to():
    """Exactly one slash command, /incident, pointed at the bot's events path, with escaping on."""
    commands = load_manifest()["features"]["slash_commands"]
    assert [c["command"] for c in commands] == [SLASH_COMMAND]
    assert commands[0]["url"].endswith(EVENTS_PATH)
    assert commands[0]["should_escape"] is True  # mentions arrive as <@U…>, which `role` needs


def test_manifest_scopes_are_exactly_what_the_code_calls():
    """No scope missing for a Web API method the bot calls, and none granted that it does not use."""
    needed = {scope for scopes in METHOD_SCOPES.values() for scope in scopes}
    assert manifest_bot_scopes() == needed | EXTRA_SCOPES


def test_manifest_interactivity_and_events_match_the_code():
    """Interactivity and event URLs point at the bot's endpoint; the bot events are the ones it handles."""
    from bot.render import ids

    settings = load_manifest()["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith(EVENTS_PATH)
    assert settings["event_subscriptions"]["request_url"].endswith(EVENTS_PATH)
    assert sorted(settings["event_subscriptions"]["bot_events"]) == sorted(ids.EVENTS)


def manifest_from_cli(*args: str) -> tuple[str, dict]:
    """`incident-bot manifest ARGS` run as a person would, with no credentials in the environment."""
    from tests.test_cli import clean_env, run_cli

    result = run_cli("manifest", *args, env=clean_env())
    assert result.returncode == 0, result.stderr
    return result.stdout, yaml.safe_load(result.stdout)


def schema_errors(manifest: dict) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    return sorted(e.message for e in Draft7Validator(schema).iter_errors(manifest))


def urls_in(value) -> list[str]:
    if isinstance(value, dict):
        return [u for item in value.values() for u in urls_in(item)]
    if isinstance(value, list):
        return [u for item in value for u in urls_in(item)]
    return [value] if isinstance(value, str) and value.startswith(("http://", "https://")) else []


def what_the_app_asks_for(manifest: dict) -> tuple:
    """Scopes, slash commands (all but their URL), bot events, interactivity: the same in every mode."""
    commands = [{k: v for k, v in c.items() if k != "url"} for c in manifest["features"]["slash_commands"]]
    settings = manifest["settings"]
    return (
        sorted(manifest["oauth_config"]["scopes"]["bot"]),
        commands,
        sorted(settings["event_subscriptions"]["bot_events"]),
        settings["interactivity"]["is_enabled"],
        manifest["display_information"],
        manifest["features"]["bot_user"],
    )


def test_manifest_command_without_flags_prints_manifest_yml():
    """`incident-bot manifest` needs no credentials and prints what manifest.yml holds."""
    text, printed = manifest_from_cli()
    assert printed == load_manifest()
    assert text.startswith("# Paste into https://api.slack.com/apps")


def test_manifest_command_with_url_points_every_url_at_that_host():
    """--url replaces the placeholder host in every URL (a path prefix is kept) and stays valid."""
    _, printed = manifest_from_cli("--url", "https://incidents.acme.test/bot/")
    assert schema_errors(printed) == []
    urls = urls_in(printed)
    assert len(urls) == len(urls_in(load_manifest())) == 3
    assert urls == [f"https://incidents.acme.test/bot{EVENTS_PATH}"] * 3
    assert what_the_app_asks_for(printed) == what_the_app_asks_for(load_manifest())
    assert printed["settings"]["socket_mode_enabled"] is False


@pytest.mark.parametrize("extra", [[], ["--url", "https://bot.acme.test"]])
def test_socket_mode_manifest_is_valid_has_no_request_urls_and_asks_for_the_same(extra):
    """--socket-mode: socket_mode_enabled, no request URL anywhere (Slack sends it all over the
    WebSocket), and the same scopes, command, events and interactivity as the HTTP manifest."""
    text, printed = manifest_from_cli("--socket-mode", *extra)
    assert schema_errors(printed) == []
    assert printed["settings"]["socket_mode_enabled"] is True
    assert urls_in(printed) == []
    assert what_the_app_asks_for(printed) == what_the_app_asks_for(load_manifest())
    assert "connections:write" in text and "SLACK_APP_TOKEN" in text  # how to make the app token


def test_manifest_command_refuses_a_url_that_is_not_a_base_url():
    """A URL with a query, or no scheme, is an error naming the expected shape (exit 2)."""
    from tests.test_cli import clean_env, run_cli

    for bad in ("bot.acme.test", "https://bot.acme.test/?x=1"):
        result = run_cli("manifest", "--url", bad, env=clean_env())
        assert result.returncode == 2 and "--url must be the bot's public base URL" in result.stderr
        assert result.stdout == ""
