"""`incident-bot runbooks check [FOLDER]`, and the config's `runbooks:` key: a folder with problems
stops `config check` and `serve`, naming each runbook file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import check_config_file
from bot.config_file import ConfigFileError
from bot.core.runbook import RunbookLibrary
from tests.test_cli import clean_env, run_cli

ROOT = Path(__file__).resolve().parents[1]
GOOD = "# Cache down\n\n## Mitigation\n\n1. restart it\n\n## Escalation\n\nafter 90m, escalate to @cache\n"
BAD_LINK = "# API\n\n## Investigation\n\n### Look\n\nSee [dash](grafana/d/x).\n"


def folder_with(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    for name, text in files.items():
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    return folder


# The command ------------------------------------------------------------------------------------


def test_runbooks_check_prints_a_line_per_runbook_and_exits_0(tmp_path, capsys):
    folder = folder_with(tmp_path, **{"cache-down": GOOD})
    (folder / "high-error-rate.md").write_text((ROOT / "runbooks/high-error-rate.md").read_text())
    assert main(["runbooks", "check", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines() == [
        f"{folder}: OK (2 runbooks)",
        "cache-down: Cache down; 1 step; escalates to @cache after 90 minutes",
        "high-error-rate: High Error Rate (5xx); 5 steps; escalates to @platform-leads after 20 minutes",
    ]


def test_runbooks_check_prints_each_problem_as_file_line_on_stderr_and_exits_1(tmp_path, capsys):
    folder = folder_with(tmp_path, api=BAD_LINK, empty="# Nothing here\n")
    assert main(["runbooks", "check", str(folder)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{folder}/api.md:7: the link target 'grafana/d/x' is not a URL (http, https or mailto)",
        f"{folder}/empty.md:1: no steps: write them as ### headings or a numbered list under "
        "## Investigation or ## Mitigation",
    ]


def test_runbooks_check_without_a_folder_reads_the_configs_runbooks_key(tmp_path, capsys, monkeypatch):
    """FOLDER defaults to `runbooks:` in $INCIDENT_BOT_CONFIG, relative to the config file's folder."""
    folder = folder_with(tmp_path, api=BAD_LINK)
    (tmp_path / "bot.yml").write_text("runbooks: ./runbooks\n")
    monkeypatch.setenv("INCIDENT_BOT_CONFIG", str(tmp_path / "bot.yml"))
    monkeypatch.chdir(ROOT)  # where ./runbooks would check clean
    assert main(["runbooks", "check"]) == 1
    assert capsys.readouterr().err.startswith(f"{folder}/api.md:7: the link target")


def test_runbooks_check_without_a_folder_or_config_checks_dot_runbooks(capsys, monkeypatch):
    monkeypatch.delenv("INCIDENT_BOT_CONFIG", raising=False)
    monkeypatch.chdir(ROOT)
    assert main(["runbooks", "check"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "runbooks: OK (1 runbook)"


def test_runbooks_check_of_a_missing_folder_exits_1_naming_it(tmp_path, capsys):
    assert main(["runbooks", "check", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err == f"{tmp_path / 'nope'}: no such folder of runbooks\n"


def test_runbooks_check_with_an_unreadable_config_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("INCIDENT_BOT_CONFIG", str(tmp_path / "missing.yml"))
    assert main(["runbooks", "check"]) == 2
    assert str(tmp_path / "missing.yml") in capsys.readouterr().err


# The config key ---------------------------------------------------------------------------------


def test_the_config_runbooks_key_loads_the_library_relative_to_the_config_file(tmp_path):
    folder_with(tmp_path, **{"cache-down": GOOD})
    (tmp_path / "bot.yml").write_text("runbooks: runbooks\n")
    checked = check_config_file(tmp_path / "bot.yml")
    library = checked.values["runbooks"]
    assert library.names == ("cache-down",)
    assert checked.policy_fields()["runbooks"] == library


def test_without_the_runbooks_key_the_library_is_empty(tmp_path):
    (tmp_path / "bot.yml").write_text("resolve_by: anyone\n")
    assert check_config_file(tmp_path / "bot.yml").values["runbooks"] == RunbookLibrary()


def test_config_check_summarises_the_runbooks(tmp_path, capsys):
    folder = folder_with(tmp_path, **{"cache-down": GOOD})
    (tmp_path / "bot.yml").write_text("runbooks: ./runbooks\n")
    assert main(["config", "check", str(tmp_path / "bot.yml")]) == 0
    out = capsys.readouterr().out
    assert (
        f"runbooks:\n  1 runbook in {folder}\n"
        "    cache-down: Cache down; 1 step; escalates to @cache after 90 minutes\n"
    ) in out


def test_a_runbooks_folder_with_problems_fails_the_config_with_each_file_and_line(tmp_path):
    folder = folder_with(tmp_path, api=BAD_LINK, empty="# Nothing\n")
    config = tmp_path / "bot.yml"
    config.write_text("resolve_by: anyone\nrunbooks: ./runbooks\n")
    with pytest.raises(ConfigFileError) as raised:
        check_config_file(config)
    assert raised.value.lines == (
        f"{config}:2: runbooks: 2 problems in the runbooks folder {folder} "
        "(`incident-bot runbooks check` lists them):",
        f"{folder}/api.md:7: the link target 'grafana/d/x' is not a URL (http, https or mailto)",
        f"{folder}/empty.md:1: no steps: write them as ### headings or a numbered list under "
        "## Investigation or ## Mitigation",
    )


def test_a_missing_runbooks_folder_fails_the_config_on_its_line(tmp_path, capsys):
    config = tmp_path / "bot.yml"
    config.write_text("resolve_by: anyone\nrunbooks: ./nope\n")
    assert main(["config", "check", str(config)]) == 2
    assert capsys.readouterr().err == (
        f"{config}:2: runbooks: the runbooks folder {tmp_path / 'nope'} does not exist\n"
    )


def test_config_check_refuses_a_bad_runbook_naming_its_file_and_line(tmp_path, capsys):
    folder = folder_with(tmp_path, api=BAD_LINK)
    config = tmp_path / "bot.yml"
    config.write_text("runbooks: runbooks\n")
    assert main(["config", "check", str(config)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{folder}/api.md:7: the link target 'grafana/d/x' is not a URL" in err.splitlines()[1]


def test_serve_refuses_to_start_naming_the_runbook_file_and_line(tmp_path):
    folder = folder_with(tmp_path, api=BAD_LINK)
    config = tmp_path / "bot.yml"
    config.write_text("runbooks: ./runbooks\n")
    env = clean_env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", INCIDENT_BOT_CONFIG=str(config))
    result = run_cli("serve", env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"incident-bot: {config}:1: runbooks: 1 problem in the runbooks folder {folder} "
        "(`incident-bot runbooks check` lists them):",
        f"{folder}/api.md:7: the link target 'grafana/d/x' is not a URL (http, https or mailto)",
    ]
