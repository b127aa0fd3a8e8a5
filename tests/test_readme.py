"""The README documents the whole public interface: every command, option, verb and variable."""

from __future__ import annotations

import re
from pathlib import Path

from bot.core.commands import VERBS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_slash_command_verb_is_documented():
    """Each /incident verb has a row in the README's command table."""
    for verb in VERBS:
        assert re.search(rf"^\| `{verb}\b", README, re.MULTILINE), verb


def test_every_cli_option_and_environment_variable_is_documented():
    """serve and demo with their options, and every environment variable the bot reads."""
    for text in [
        "incident-bot serve",
        "incident-bot demo",
        "--host",
        "--port",
        "--threads",
        "--db",
        "python -m bot",
    ]:
        assert text in README, text
    source = "".join(p.read_text() for p in (Path(__file__).resolve().parents[1] / "bot").rglob("*.py"))
    variables = set(re.findall(r"\"((?:SLACK|DATABASE|INCIDENT_BOT)_[A-Z_]+)\"", source))
    assert variables >= {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DATABASE_URL", "SLACK_API_URL"}
    for name in variables:
        assert f"`{name}`" in README, name


def test_every_config_file_key_is_documented():
    """Each key the YAML config accepts appears in the README's examples."""
    from bot.config import ADAPTER_KEYS, KNOWN_KEYS, SCHEDULE_KEYS

    for key in KNOWN_KEYS | ADAPTER_KEYS | SCHEDULE_KEYS | {"templates"}:
        assert re.search(rf"^\s*{key}:", README, re.MULTILINE), key
