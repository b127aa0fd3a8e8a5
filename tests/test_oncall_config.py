"""The config file's on-call sections: the seed's example as written, layers and hours, named policies,
severities' `page`/`escalation`, and each mistake as one `FILE:LINE: key.path: reason` line."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.cli import main
from bot.config import load_config_file, policy_from_mapping
from bot.core import oncall
from bot.core.oncall_config import EscalationLevel, Target

SEED = """\
time_zone: America/New_York          # default zone for schedules that name none
schedules:
  - name: Platform Team Primary
    rotation: {type: weekly, handoff_time: "09:00", timezone: "America/New_York"}
    users: [alice@example.com, bob@example.com, carol@example.com, dave@example.com]
  - name: Platform Team Secondary
    rotation: {type: weekly, handoff_time: "09:00"}
    users: [erin@example.com, frank@example.com]
escalation_policy:
  - level: 1
    targets: [Platform Team Primary]
    timeout: 5min
  - level: 2
    targets: [Platform Team Secondary]
    timeout: 10min
  - level: 3
    targets: [Engineering Manager]
people: {Engineering Manager: U0123ABC}
"""

FOLLOW_THE_SUN = """\
schedules:
  - name: Follow the Sun
    usergroup: S0123ABC
    layers:
      - rotation: {type: daily, handoff_time: 00:00, timezone: Europe/London}
        users: [U0LONDON1, U0LONDON2]
        hours: {from: 00:00, to: 12:00}
      - rotation: {type: weekly, handoff_day: friday, timezone: America/New_York, start: 2026-01-05}
        users: [U0NEWYORK]
        hours: {days: mon-sun, from: 07:00, to: 19:00}
"""

NEW_YORK = ZoneInfo("America/New_York")


def load(tmp_path: Path, text: str):
    path = tmp_path / "bot.yml"
    path.write_text(text)
    return load_config_file(path)["policy"]


def test_the_seeds_example_loads_as_written(tmp_path):
    """The seed's schedules and escalation policy, with a people: entry for its manager, load verbatim:
    weekly Monday 09:00 New York handoffs (the secondary takes time_zone), three levels, and the
    default policy for the two paging severities only."""
    config = load(tmp_path, SEED).oncall
    primary, secondary = config.schedules
    assert primary.name == "Platform Team Primary" and primary.slug == "platform-team-primary"
    assert primary.layers[0].users == (
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "dave@example.com",
    )
    assert primary.layers[0].rotation == oncall.Rotation("weekly", time(9, 0), 0, NEW_YORK)
    assert secondary.layers[0].rotation.timezone == NEW_YORK
    assert secondary.layers[0].users == ("erin@example.com", "frank@example.com")
    assert config.people == {"Engineering Manager": "U0123ABC"}
    policy = config.policies["default"]
    assert policy.levels == (
        EscalationLevel((Target("schedule", "Platform Team Primary"),), timedelta(minutes=5)),
        EscalationLevel((Target("schedule", "Platform Team Secondary"),), timedelta(minutes=10)),
        EscalationLevel((Target("user", "U0123ABC", "Engineering Manager"),), None),
    )
    assert dict(config.severity_policy) == {"sev1": "default", "sev2": "default", "sev3": None, "sev4": None}
    assert config.policy_for("sev1") is policy and config.policy_for("sev3") is None
    assert config.emails()[0] == "alice@example.com" and "U0123ABC" in config.users()
    # 2026-12-01 is a Tuesday: turns since 2024-01-01 (a Monday) number 152 weeks, so alice again.
    held = oncall.on_call(primary, (), datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert held.users == ("alice@example.com",)
    assert held.since == datetime(2026, 11, 30, 14, tzinfo=UTC)  # Monday 09:00 EST


def test_layers_hours_and_unquoted_clock_times(tmp_path):
    """Unquoted 00:00/12:00/19:00 (YAML 1.1 reads 12:00 as the number 720) are read as written;
    layers keep their zones, hours and start; a schedule's usergroup is kept."""
    config = load(tmp_path, FOLLOW_THE_SUN).oncall
    (schedule,) = config.schedules
    london, new_york = schedule.layers
    assert london.rotation.kind == "daily" and london.rotation.timezone == ZoneInfo("Europe/London")
    assert london.hours == oncall.Hours(time(0, 0), time(12, 0))
    assert new_york.rotation.handoff_day == 4 and new_york.rotation.start == date(2026, 1, 5)
    assert new_york.hours == oncall.Hours(time(7, 0), time(19, 0), oncall.EVERY_DAY)
    assert config.usergroups == {"Follow the Sun": "S0123ABC"}
    assert config.schedule("follow-the-sun") is schedule and config.schedule("FOLLOW the sun") is schedule


def test_named_policies_and_severity_and_service_choices(tmp_path):
    """escalation_policies by name with repeat; a severity or a service names one; page: false stops
    paging; a severity naming a policy pages even past the first two."""
    config = load(
        tmp_path,
        SEED
        + """\
escalation_policies:
  - name: payments
    repeat: 2
    levels:
      - {targets: [U0PAY1, pay@example.com], timeout: 30s}
      - {targets: [platform-team-primary]}
severities:
  sev1: {page: false}
  sev2: {}
  sev3: {escalation: payments}
  sev4: {page: true}
services:
  checkout: {escalation: payments}
  search: {availability: 99.5}
""",
    )
    oncall_config = config.oncall
    payments = oncall_config.policies["payments"]
    assert payments.repeat == 2 and payments.levels[0].timeout == timedelta(seconds=30)
    assert payments.levels[0].targets == (Target("user", "U0PAY1"), Target("user", "pay@example.com"))
    assert payments.levels[1].targets == (
        Target("schedule", "Platform Team Primary", "platform-team-primary"),
    )
    assert dict(oncall_config.severity_policy) == {
        "sev1": None,
        "sev2": "default",
        "sev3": "payments",
        "sev4": "default",
    }
    assert oncall_config.policy_for("sev2", service="checkout") is payments
    assert oncall_config.policy_for("sev1", service="checkout") is None
    assert config.services == {"search": 99.5}


def test_no_on_call_config_means_no_schedules_and_no_paging():
    """Left out, the on-call part is empty: nothing pages."""
    config = policy_from_mapping({}).oncall
    assert config.schedules == () and config.policies == {}
    assert config.policy_for("sev1") is None


def test_a_mapping_without_yaml_text_reads_sexagesimal_numbers_as_times():
    """A config passed as a mapping (no YAML text to consult) reads 540 as 09:00, as YAML 1.1 made it."""
    config = policy_from_mapping(
        {"schedules": [{"name": "a", "rotation": {"handoff_time": 540}, "users": ["U0A"]}]}
    ).oncall
    assert config.schedules[0].layers[0].rotation.handoff_time == time(9, 0)


def test_config_check_summarises_the_on_call_sections(capsys, tmp_path):
    """config check prints the schedules, people, levels and which severities page."""
    path = tmp_path / "bot.yml"
    path.write_text(SEED)
    assert main(["config", "check", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    for expected in (
        "time_zone: America/New_York",
        "people: Engineering Manager -> U0123ABC",
        "  Platform Team Primary (platform-team-primary):",
        "    weekly, handoff mon 09:00 America/New_York, from 2024-01-01: alice@example.com, "
        "bob@example.com, carol@example.com, dave@example.com",
        "  level 1: Platform Team Primary, then after 5m",
        "  level 3: Engineering Manager (U0123ABC)",
        "escalation_policies: severities: sev1 -> default, sev2 -> default, sev3 -> no paging, "
        "sev4 -> no paging  (default)",
    ):
        assert expected in lines, expected


ONE = "schedules:\n  - name: Ops\n    rotation: {type: daily}\n    users: [U0OPS]\n"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        pytest.param(
            SEED.replace("[Engineering Manager]", "[Engineering Director]"),
            "17: escalation_policy[2].targets[0]: unknown target 'Engineering Director': not a schedule, "
            "a Slack user id, an email or a name from people:",
            id="unknown target",
        ),
        pytest.param(
            SEED.replace('timezone: "America/New_York"', "timezone: America/New_Yrok"),
            "4: schedules[0].rotation.timezone: 'America/New_Yrok' is not an IANA time zone like "
            "America/New_York",
            id="bad zone",
        ),
        pytest.param(
            "time_zone: Mars/Olympus\n",
            "1: time_zone: 'Mars/Olympus' is not an IANA time zone like America/New_York",
            id="bad top-level zone",
        ),
        pytest.param(
            SEED.replace(
                'handoff_time: "09:00"}\n    users: [erin', 'handoff_time: "25:00"}\n    users: [erin'
            ),
            "7: schedules[1].rotation.handoff_time: '25:00' is not a time of day like 09:00",
            id="bad time",
        ),
        pytest.param(
            "schedules:\n  - name: Ops\n    rotation: {handoff_time: 9}\n    users: [U0OPS]\n",
            "3: schedules[0].rotation.handoff_time: 9 is not a time of day like 09:00 (write it in quotes)",
            id="a bare number is not a time",
        ),
        pytest.param(
            "schedules:\n  - name: Ops\n    rotation: {type: weekly}\n    users: []\n",
            "4: schedules[0].users: the rotation is empty: list at least one user, not a list",
            id="empty rotation",
        ),
        pytest.param(
            "schedules:\n  - name: Ops\n    layers:\n      - rotation: {type: daily}\n"
            "        users: [U0OPS]\n        hours: {days: mon-fry, from: '07:00', to: '19:00'}\n",
            "6: schedules[0].layers[0].hours.days: 'mon-fry' is not a set of days like mon-fri or sat,sun",
            id="bad days",
        ),
        pytest.param(
            ONE + "severities:\n  sev1: {escalation: nightly}\n  sev2: {}\n",
            "6: severities.sev1.escalation: unknown escalation policy 'nightly' (the policies are none: "
            "add escalation_policy or escalation_policies)",
            id="unknown policy name",
        ),
        pytest.param(
            ONE + "escalation_policies:\n  - name: ops\n    levels: [{targets: [Ops]}]\n"
            "services:\n  checkout: {escalation: opz}\n",
            "9: services.checkout.escalation: unknown escalation policy 'opz' (the policies are ops)",
            id="unknown policy name for a service",
        ),
        pytest.param(
            ONE + "escalation_policy:\n  - targets: [Ops]\n  - targets: [U0BOSS]\n",
            "6: escalation_policy[0].timeout: missing: every level but the last needs a timeout, e.g. 5min",
            id="missing timeout",
        ),
        pytest.param(
            ONE + "escalation_policy:\n  - {targets: [Ops], timeout: soon}\n  - targets: [U0BOSS]\n",
            "6: escalation_policy[0].timeout: 'soon' is not a duration like 30s, 5min, 15m, 2h, 2d or 1w",
            id="bad duration",
        ),
        pytest.param(
            "schedules:\n  - name: Ops\n    rotation: {type: custom}\n    users: [U0OPS]\n",
            "3: schedules[0].rotation.every: missing: a custom rotation needs every, e.g. every: 2w",
            id="custom without every",
        ),
        pytest.param(
            "people:\n  Boss: the boss\n",
            "2: people.Boss: 'the boss' is not a Slack user id like U0123ABCD, an email",
            id="a person who is neither an id nor an email",
        ),
        pytest.param(
            ONE + "  - name: OPS\n    rotation: {type: daily}\n    users: [U0OPS]\n",
            "5: schedules[1].name: 'OPS' is a second schedule with the slug 'ops'",
            id="two schedules with one slug",
        ),
        pytest.param(
            ONE.replace("users: [U0OPS]", "users: [U0OPS]\n    usergroup: oncall"),
            "5: schedules[0].usergroup: 'oncall' is not a Slack user group id like S0123ABC",
            id="bad usergroup",
        ),
        pytest.param(
            "schedules:\n  - name: Ops\n    rotation: {type: daily, start: next monday}\n    users: [U0OPS]\n",
            "3: schedules[0].rotation.start: 'next monday' is not a date like 2026-01-05",
            id="bad start",
        ),
        pytest.param(
            ONE + "severities:\n  sev1: {page: sometimes}\n",
            "6: severities.sev1.page: must be true or false, not 'sometimes'",
            id="page is true or false",
        ),
    ],
)
def test_each_on_call_mistake_is_one_line_with_its_path(capsys, tmp_path, yaml_text, expected):
    """config check exits 2 with FILE:LINE: key.path: reason naming the bad value."""
    path = tmp_path / "bot.yml"
    path.write_text(yaml_text)
    code = main(["config", "check", str(path)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"{path}:{expected}"]


def test_the_readme_on_call_example_checks_clean_and_its_output_is_real(tmp_path, monkeypatch, capsys):
    """The README's on-call config passes config check, and the oncall output it shows is what the
    command prints for it."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (example,) = [
        b for b in re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL) if b.startswith("time_zone:")
    ]
    path = tmp_path / "oncall.yml"
    path.write_text(example)
    assert main(["config", "check", str(path)]) == 0
    capsys.readouterr()
    monkeypatch.setenv("INCIDENT_BOT_CONFIG", str(path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")
    assert main(["oncall", "--at", "2026-03-10T23:30Z"]) == 0
    shown = capsys.readouterr().out.strip()
    assert "$ incident-bot oncall --at 2026-03-10T23:30Z\n" + shown + "\n" in readme
