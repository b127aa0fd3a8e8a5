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
