"""`incident-bot config check [FILE]`: every section checked, mistakes as FILE:LINE: key.path: reason."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings, load_settings
from bot.config_file import Problem, Section, mapping, read_config_file
from bot.config_sections import SECTIONS
from bot.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def readme_examples() -> dict[str, str]:
    """The README's config examples by their first key: `severities:` (the config file section),
    `updates:` (scheduled updates and pacing) and `alerts:` (alert intake)."""
    blocks = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)
    examples = {b.split(":", 1)[0]: b for b in blocks if b.startswith(("severities:", "updates:", "alerts:"))}
    assert len(examples) == 3, "the README's config examples moved"
    return examples


def check(capsys, tmp_path: Path, text: str) -> tuple[int, str, str, Path]:
    path = tmp_path / "bot.yml"
    path.write_text(text)
    code = main(["config", "check", str(path)])
    out, err = capsys.readouterr()
    return code, out, err, path


def test_the_readme_config_example_passes_and_the_summary_shows_it(capsys, tmp_path):
    """The README's config file example checks clean (exit 0) and the summary shows its values,
    with left-out keys at their defaults."""
    (tmp_path / "my-templates").mkdir()
    code, out, err, path = check(capsys, tmp_path, readme_examples()["severities"])
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"{path}: OK"
    for expected in (
        "  sev1: Critical — a core service is down for many customers",
        "    responders: U0123ONCALL, U0456LEAD",
        "    status update every: 15m",
        "    declared by alerts: page, critical",
        "  sev3: Minor, with a workaround",
        "default_severity: sev3",
        "announcement_channel: #incidents",
        "resolve_by: commander",
        "services: checkout-api 99.9%",
        "channel_prefix: inc",
        f"templates: {(tmp_path / 'my-templates').resolve()}",
        "alerts: (default)",
        "  declare: page -> sev1, critical -> sev1",
        "updates: (default)",
        "  every: sev1 15m, sev2 30m, sev3 1h",
        "heartbeat_seconds: 5  (default)",
    ):
        assert expected in lines, expected


def test_the_readme_updates_and_alerts_examples_pass(capsys, tmp_path):
    """The README's `updates:`/pacing and `alerts:` examples, together, check clean."""
    examples = readme_examples()
    code, out, err, _ = check(capsys, tmp_path, examples["updates"] + examples["alerts"])
    assert (code, err) == (0, "")
    lines = out.splitlines()
    for expected in (
        "  every: sev1 15m, sev2 30m, sev3 1h, sev4 off",
        "  mitigated_every: 1h",
        "  ack_timeout: 10m",
        "  follow_up_after: 14d",
        "heartbeat_seconds: 5",
        "posts_per_second: 1",
        "  declare: page -> sev1, critical -> sev1",
        "  triage: warning (posted to #alerts-triage)",
    ):
        assert expected in lines, expected


def test_an_empty_file_shows_every_section_at_its_default(capsys, tmp_path):
    """Every registered section appears in the summary; those left out are marked (default)."""
    code, out, _, _ = check(capsys, tmp_path, "# nothing set\n")
    assert code == 0
    for section in SECTIONS:
        assert re.search(rf"^{section.key}: .*\(default\)$", out, re.MULTILINE), section.key
    assert "  sev4: Low: no customer impact yet; internal tooling or a risk to watch" in out
    assert "  every: sev1 15m, sev2 30m, sev3 1h, sev4 off" in out


def test_settings_sections_default_to_what_settings_uses():
    """The defaults the summary prints for Settings fields are Settings' own defaults."""
    defaults = {f.name: f.default for f in dataclasses.fields(Settings)}
    for section in SECTIONS:
        if section.settings_field:
            assert section.default(None) == defaults[section.settings_field], section.key


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        pytest.param(
            "severities:\n  sev1:\n    description: x\n    responders: U0ALICE\n",
            "4: severities.sev1.responders: must be a list of Slack user ids, not 'U0ALICE'",
            id="wrong type",
        ),
        pytest.param(
            "severities:\n  sev1:\n    responders:\n      - U0ALICE\n      - '@bob'\n",
            "5: severities.sev1.responders[1]: must be a Slack user id like U0123ABCD, not '@bob'",
            id="wrong item in a list",
        ),
        pytest.param(
            "posts_per_second: fast\n",
            "1: posts_per_second: must be a positive number, not 'fast'",
            id="not a number",
        ),
        pytest.param(
            "updates:\n  ack_timeout: 10m\n  every:\n    sev1: 15m\n    sev2: soon\n",
            "5: updates.every.sev2: 'soon' is not a duration like 30s, 15m, 2h or 2d (or off)",
            id="bad duration",
        ),
        pytest.param(
            "severities:\n  sev1: {}\n  sev2: {}\nalerts:\n  declare:\n    page: sev1\n    critical: SEV9\n",
            "7: alerts.declare.critical: unknown severity 'sev9' (the severities are sev1, sev2)",
            id="unknown severity in an alert route",
        ),
        pytest.param(
            "alerts:\n  triage:\n    - warning\n    - page\n",
            "4: alerts.triage[1]: 'page' is also in alerts.declare, which wins",
            id="a list item's index",
        ),
        pytest.param(
            "channel_prefix: inc\nseverites:\n  sev1: {}\n",
            "2: severites: unknown key 'severites' (did you mean 'severities'?)",
            id="unknown top-level key",
        ),
        pytest.param(
            "updates:\n  every: {sev1: 15m}\n  ack_timout: 5m\n",
            "3: updates.ack_timout: unknown key 'ack_timout' (did you mean 'ack_timeout'?)",
            id="unknown nested key",
        ),
        pytest.param(
            "resolve_by: commander\nannouncement_channel: #incidents\n",
            '2: announcement_channel: must be a channel such as "#incidents" (quoted) or an id such as '
            "C0123456, not nothing (unquoted, a value starting with # is a comment: quote it)",
            id="unquoted channel is a comment",
        ),
        pytest.param(
            "severities:\n  sev1: {}\n  sev2: {}\n  SEV1: {}\n",
            "4: severities.SEV1: sev1 is named twice (severity names ignore case)",
            id="the same severity twice",
        ),
        pytest.param(
            "updates:\n  ack_timeout: 5m\n  ack_timeout: 10m\n",
            "3: updates.ack_timeout: written twice in the same mapping (the later one would win)",
            id="a key written twice",
        ),
        pytest.param(
            "severities:\n  sev1: {description: x\nchannel_prefix: inc\n",
            "3: not valid YAML: expected ',' or '}', but got ':' (while parsing a flow mapping at line 2)",
            id="YAML syntax error",
        ),
        pytest.param(
            "templates: ./nowhere\n",
            "1: templates: the templates folder {dir}/nowhere does not exist",
            id="templates folder missing",
        ),
    ],
)
def test_each_mistake_exits_2_with_its_path_and_line(capsys, tmp_path, yaml_text, expected):
    """The one line printed names the file, the line where YAML has the key, the key's path, and why."""
    code, out, err, path = check(capsys, tmp_path, yaml_text)
    assert code == 2 and out == ""
    assert err.splitlines() == [f"{path}:" + expected.replace("{dir}", str(tmp_path.resolve()))]


def test_every_section_reports_its_first_mistake_in_line_order(capsys, tmp_path):
    """Mistakes in several sections are all reported at once, sorted by line."""
    code, _, err, path = check(
        capsys,
        tmp_path,
        "heartbeat_seconds: 0\nupdates:\n  every: {sev1: never ever}\nchanel_prefix: inc\n",
    )
    assert code == 2
    assert err.splitlines() == [
        f"{path}:1: heartbeat_seconds: must be a positive number, not 0",
        f"{path}:3: updates.every.sev1: 'never ever' is not a duration like 30s, 15m, 2h or 2d (or off)",
        f"{path}:4: chanel_prefix: unknown key 'chanel_prefix' (did you mean 'channel_prefix'?)",
    ]


def test_a_broken_template_is_reported_at_the_templates_line(capsys, tmp_path):
    """Templates the folder changes are rendered as serve renders them; a broken one names its file."""
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "status.mrkdwn.j2").write_text("{{ broken\n")
    code, _, err, path = check(capsys, tmp_path, "channel_prefix: inc\ntemplates: mine\n")
    assert code == 2
    assert err.startswith(f"{path}:2: templates: template status.mrkdwn.j2 failed")


def test_merge_keys_are_read_as_yaml_reads_them(capsys, tmp_path):
    """Anchors and `<<` merges work as in yaml.safe_load (a key written next to a merge overrides
    it, and is no duplicate); a mistake next to a merge keeps its own line."""
    ok = (
        "severities:\n"
        "  sev1: &base {description: Shared, responders: [U0ALICE]}\n"
        "  sev2:\n"
        "    <<: *base\n"
        "    description: Other\n"
    )
    code, out, _, _ = check(capsys, tmp_path, ok)
    assert code == 0 and out.count("responders: U0ALICE") == 2
    assert "  sev2: Other" in out.splitlines()
    code, _, err, path = check(capsys, tmp_path, ok + "    respnders: [U0BOB]\n")
    assert code == 2
    assert err.splitlines() == [
        f"{path}:6: severities.sev2.respnders: unknown key 'respnders' (did you mean 'responders'?)"
    ]


def test_a_missing_file_exits_2_naming_it(capsys, tmp_path):
    """A path that does not exist is one line naming it, exit 2."""
    missing = tmp_path / "nope.yml"
    assert main(["config", "check", str(missing)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{missing}: cannot read the config file: No such file or directory"
    ]


def test_without_file_it_checks_incident_bot_config(capsys, tmp_path, monkeypatch):
    """With no FILE it checks the file INCIDENT_BOT_CONFIG names; with neither it says so."""
    path = tmp_path / "bot.yml"
    path.write_text("resolve_by: anyone\n")
    monkeypatch.setenv("INCIDENT_BOT_CONFIG", str(path))
    assert main(["config", "check"]) == 0
    assert "resolve_by: anyone" in capsys.readouterr().out.splitlines()
    monkeypatch.delenv("INCIDENT_BOT_CONFIG")
    assert main(["config", "check"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "incident-bot: config check needs a FILE (or INCIDENT_BOT_CONFIG naming one)"
    ]


def test_serve_settings_fail_with_the_same_file_line_and_path(tmp_path):
    """load_settings (serve) runs the same checks: its ConfigError carries FILE:LINE: key.path."""
    path = tmp_path / "bot.yml"
    path.write_text("updates:\n  every:\n    sev1: 15 minutes\n")
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "INCIDENT_BOT_CONFIG": str(path)}
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert str(caught.value) == (
        f"{path}:3: updates.every.sev1: '15 minutes' is not a duration like 30s, 15m, 2h or 2d (or off)"
    )


def test_a_section_added_later_plugs_into_the_registry(tmp_path):
    """A new top-level section is one more Section: its key is known, its mistakes carry their line,
    and its summary is printed with the rest."""

    def parse_dashboards(raw, ctx):
        links = mapping(raw, ("dashboards",), "service names to URLs")
        for name, url in links.items():
            if not str(url).startswith("https://"):
                raise Problem(("dashboards", name), "must be an https:// link")
        return links

    dashboards = Section(
        "dashboards", parse_dashboards, lambda ctx: {}, lambda links, ctx: [f"{len(links)} dashboard(s)"]
    )
    path = tmp_path / "bot.yml"
    path.write_text("dashboards:\n  checkout: https://wiki/checkout\n  search: wiki/search\n")
    with pytest.raises(
        ConfigError, match=re.escape(f"{path}:3: dashboards.search: must be an https:// link")
    ):
        read_config_file(path, (*SECTIONS, dashboards))
    with pytest.raises(ConfigError, match=re.escape(f"{path}:1: dashboards: unknown key 'dashboards'")):
        read_config_file(path, SECTIONS)
    path.write_text("dashboards:\n  checkout: https://wiki/checkout\n")
    assert (
        "dashboards: 1 dashboard(s)" in read_config_file(path, (*SECTIONS, dashboards)).summary().splitlines()
    )


def test_python_m_bot_config_check_runs_as_a_process(tmp_path):
    """`python -m bot config check FILE` as an operator runs it: exit 0 and the summary, or exit 2
    and the mistake's line on stderr."""
    good, bad = tmp_path / "good.yml", tmp_path / "bad.yml"
    good.write_text("default_severity: sev2\n")
    bad.write_text("default_severity: sev2\nsevrities: {}\n")
    env = {"PATH": "/usr/bin:/bin"}
    ran = subprocess.run(
        [sys.executable, "-m", "bot", "config", "check", str(good)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert (ran.returncode, ran.stderr) == (0, "")
    assert "default_severity: sev2" in ran.stdout.splitlines()
    ran = subprocess.run(
        [sys.executable, "-m", "bot", "config", "check", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert (ran.returncode, ran.stdout) == (2, "")
    assert ran.stderr.splitlines() == [
        f"{bad}:2: sevrities: unknown key 'sevrities' (did you mean 'severities'?)"
    ]


def test_a_reader_that_stops_early_is_not_an_error(tmp_path):
    """`incident-bot config check FILE | head -1`: the summary meets a closed pipe (here `| true`, which reads nothing); the command
    still exits 0, with no traceback."""
    good = tmp_path / "good.yml"
    good.write_text("default_severity: sev2\n")
    ran = subprocess.run(
        f"'{sys.executable}' -m bot config check '{good}' | true; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert (ran.returncode, ran.stderr) == (0, "")
