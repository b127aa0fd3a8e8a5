"""The `incident-bot` command as an operator runs it: real processes, real ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bot.local_slack import LocalSlack
from tests.events import N
from tests.processes import Serve

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, env=None, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
    )


def clean_env(**extra) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_BOT_", "DATABASE_URL"))
    }
    env.update(extra)
    return env


def test_serve_without_slack_credentials_exits_2_with_one_line():
    """Missing SLACK_BOT_TOKEN / SLACK_SIGNING_SECRET: a one-line error and exit status 2."""
    result = run_cli("serve", env=clean_env())
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "incident-bot: missing environment variable SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"
    ]


def test_serve_with_bad_config_exits_2_naming_the_problem(tmp_path):
    """An unknown setting in INCIDENT_BOT_CONFIG is reported in one line at start-up."""
    config = tmp_path / "bot.yml"
    config.write_text("severities:\n  sev1: {description: x}\nescalate_to: nobody\n")
    env = clean_env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", INCIDENT_BOT_CONFIG=str(config))
    result = run_cli("serve", env=env)
    assert result.returncode == 2
    assert f"incident-bot: {config}:3: escalate_to: unknown key 'escalate_to'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_reports_a_broken_template_at_start_up(tmp_path):
    """A team's folder holding just one template, broken, stops the bot at start-up naming it
    (`templates:` is relative to the config file; the other templates come from the defaults)."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "topic.txt.j2").write_text("{{ incident.no_such_field }}")
    config = tmp_path / "bot.yml"
    config.write_text("templates: templates\n")
    env = clean_env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", INCIDENT_BOT_CONFIG=str(config))
    result = run_cli("serve", env=env)
    assert result.returncode == 2
    assert "template topic.txt.j2 failed" in result.stderr and "no_such_field" in result.stderr


def test_serve_answers_healthz_and_stops_on_sigterm(tmp_path):
    """`incident-bot serve --port 0` serves /healthz (200 with the database up) until SIGTERM."""
    with LocalSlack() as slack:
        env = clean_env(
            SLACK_BOT_TOKEN=slack.token,
            SLACK_SIGNING_SECRET="secret",
            SLACK_API_URL=slack.base_url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        )
        serve = Serve(env)
        try:
            with urllib.request.urlopen(f"{serve.url}/healthz", timeout=5) as response:
                assert response.status == 200
                assert json.loads(response.read()) == {"ok": True, "database": "ok"}
            assert [c.method for c in slack.calls()] == ["auth.test"]
        finally:
            code = serve.terminate(timeout=20)
        assert code == 0


def test_demo_plays_an_incident_and_leaves_the_log(tmp_path):
    """`incident-bot demo` needs no workspace: it prints both channels and names the SQLite log."""
    db = tmp_path / "demo.db"
    result = run_cli("demo", "--db", str(db), env=clean_env())
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "=== What the incident channel shows ===" in out
    assert "#inc-1-api-error-rate-above-5 (topic: SEV1 · Resolved" in out
    assert "*Resolved* by <@U0ALICE01> at 15:20 UTC after 48m" in out
    assert "=== What the announcement channel shows ===" in out and "↳" in out
    assert f"Event log: {db} (" in out and db.exists()


@pytest.mark.parametrize("entry", [[sys.executable, "-m", "bot"], ["incident-bot"]])
def test_both_entry_points_show_help(entry):
    """`incident-bot` and `python -m bot` are the same program."""
    if entry == ["incident-bot"]:
        exe = Path(sys.executable).parent / "incident-bot"
        if not exe.exists():
            pytest.skip("incident-bot is not installed next to this Python")
        entry = [str(exe)]
    result = subprocess.run([*entry, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "serve" in result.stdout and "demo" in result.stdout


def test_postmortem_and_metrics_commands_read_the_database(tmp_path):
    """`incident-bot postmortem INC-1 --output F` and `metrics --json` work from a shell, no Slack needed."""
    from datetime import UTC, datetime

    from bot.core import events as ev
    from bot.store.db import make_engine
    from bot.store.event_store import EventStore

    url = f"sqlite:///{tmp_path / 'log.db'}"
    store = EventStore(make_engine(url))
    store.create_schema()
    now = datetime.now(UTC)
    store.declare(N(ev.IncidentDeclared.TYPE, "U1", now, {"title": "Disk full", "severity": "sev2"}))
    store.engine.dispose()
    out = tmp_path / "pm.md"
    env = clean_env(DATABASE_URL=url)
    result = run_cli("postmortem", "INC-1", "--output", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("# INC-1: Disk full\n")
    assert run_cli("postmortem", "INC-1", env=env).stdout == out.read_text()
    missing = run_cli("postmortem", "INC-9", env=env)
    assert missing.returncode == 2 and "no incident INC-9" in missing.stderr
    metrics = run_cli("metrics", "--since", "7d", "--json", env=env)
    assert metrics.returncode == 0, metrics.stderr
    data = json.loads(metrics.stdout)
    assert data["incidents"] == 1 and data["by_severity"] == {"sev2": 1}
    assert "Incidents: *1*" in run_cli("metrics", env=env).stdout
