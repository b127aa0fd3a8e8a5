"""The README documents the whole public interface: every command, option, verb and variable."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bot.cli import build_parser
from bot.core.commands import VERBS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_slash_command_verb_is_documented():
    """Each /incident verb has a row in the README's command table."""
    for verb in VERBS:
        assert re.search(rf"^\| `{verb}\b", README, re.MULTILINE), verb


def cli_subcommands() -> dict[str, list[str]]:
    """Each `incident-bot` subcommand with its options, read from the real argparse parser."""
    (subparsers,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return {
        name: [flag for action in sub._actions for flag in action.option_strings if flag.startswith("--")]
        for name, sub in subparsers.choices.items()
    }


def test_every_cli_subcommand_and_option_is_documented():
    """Each subcommand of the real parser appears as `incident-bot <sub>`, and each of its options
    (other than --help) in a README paragraph that names that subcommand."""
    paragraphs = re.split(r"\n\s*\n", README)
    commands = cli_subcommands()
    assert "--port" in commands["serve"], "the walk does not see the parser's options"
    for name, flags in commands.items():
        about = [p for p in paragraphs if f"incident-bot {name}" in p]
        assert about, f"incident-bot {name}"
        for flag in flags:
            if flag != "--help":
                assert any(flag in p for p in about), f"incident-bot {name} {flag}"


def test_python_m_bot_and_every_environment_variable_are_documented():
    """`python -m bot`, and every environment variable the bot reads."""
    assert "python -m bot" in README
    source = "".join(p.read_text() for p in (Path(__file__).resolve().parents[1] / "bot").rglob("*.py"))
    variables = set(re.findall(r"\"((?:SLACK|DATABASE|INCIDENT_BOT|LOG)_[A-Z_]+)\"", source))
    assert variables >= {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DATABASE_URL", "SLACK_API_URL"}
    for name in variables:
        assert f"`{name}`" in README, name


def test_every_config_file_key_is_documented():
    """Each key the YAML config accepts (every registered section) appears in the README's examples."""
    from bot.config_sections import ALERT_KEYS, SCHEDULE_KEYS, SECTIONS, SERVICE_KEYS, SEVERITY_KEYS

    for key in {s.key for s in SECTIONS} | {*SCHEDULE_KEYS, *ALERT_KEYS, *SEVERITY_KEYS, *SERVICE_KEYS}:
        assert re.search(rf"^\s*{key}:", README, re.MULTILINE), key
    from bot import config_oncall as oc

    on_call = (
        *oc.SCHEDULE_ITEM_KEYS, *oc.LAYER_KEYS, *oc.ROTATION_KEYS, *oc.HOURS_KEYS, *oc.POLICY_KEYS,
        *oc.LEVEL_KEYS, *oc.SEVERITY_ONCALL_KEYS, *oc.SERVICE_ONCALL_KEYS,
    )  # fmt: skip
    for key in on_call:
        assert re.search(rf"^\s*(- )?{key}:", README, re.MULTILINE), key


def test_ci_runs_the_readme_test_command():
    """CI runs exactly what the README tells a user to run for the whole suite."""
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    tests_section = README.split("## Tests", 1)[1]
    assert re.search(r"```sh\nbin/test\n```", tests_section)
    assert re.search(r"^exec bin/test$", ci, re.MULTILINE)
    for script in ("setup", "demo", "test"):
        assert f"bin/{script}" in README
