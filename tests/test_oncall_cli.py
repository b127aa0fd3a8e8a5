"""`incident-bot oncall` and `incident-bot oncall coverage`: the config and the database only, no Slack
credentials; JSON in the issue's shapes; the follow-the-sun pair's DST gaps; emails from the cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.cli import main
from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.oncall_emails import OnCallEmailStore
from tests.test_oncall_config import SEED

FOLLOW_THE_SUN = """\
schedules:
  - name: Follow the Sun
    layers:
      - rotation: {type: daily, handoff_time: "00:00", timezone: Europe/London}
        users: [U0LONDON1, U0LONDON2]
        hours: {from: "00:00", to: "12:00"}
      - rotation: {type: weekly, timezone: America/New_York}
        users: [U0NEWYORK]
        hours: {from: "07:00", to: "19:00"}
"""


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Runs `incident-bot ARGS` in-process with only a config file and a database (no Slack variables)."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'bot.db'}")

    def run(config: str, *args: str) -> tuple[int, str, str]:
        path = tmp_path / "bot.yml"
        path.write_text(config)
        monkeypatch.setenv("INCIDENT_BOT_CONFIG", str(path))
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_oncall_json_at_an_instant_is_the_issues_shape(cli):
    """--json: {"at", "schedules": [{"name", "on_call", "since", "until"}]}, UTC instants."""
    code, out, _ = cli(SEED, "oncall", "--at", "2026-12-01T07:00:00-05:00", "--json")
    assert code == 0
    assert json.loads(out) == {
        "at": "2026-12-01T12:00:00Z",
        "schedules": [
            {
                "name": "Platform Team Primary",
                "on_call": ["alice@example.com"],
                "since": "2026-11-30T14:00:00Z",
                "until": "2026-12-07T14:00:00Z",
            },
            {
                "name": "Platform Team Secondary",
                "on_call": ["erin@example.com"],
                "since": "2026-11-30T14:00:00Z",
                "until": "2026-12-07T14:00:00Z",
            },
        ],
    }


def test_oncall_text_for_one_schedule_by_slug_or_name(cli):
    """--schedule takes the name or the slug; the text names the holder and the shift's bounds."""
    for name in ("platform-team-secondary", "Platform Team Secondary"):
        code, out, _ = cli(SEED, "oncall", "--schedule", name, "--at", "2026-12-08T12:00Z")
        assert code == 0
        assert out.splitlines() == [
            "On call at 2026-12-08T12:00:00Z:",
            "Platform Team Secondary: frank@example.com (since 2026-12-07T14:00:00Z, until 2026-12-14T14:00:00Z)",
        ]


def test_an_unknown_schedule_or_a_bad_instant_exits_2(cli):
    code, _, err = cli(SEED, "oncall", "--schedule", "nightly")
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "incident-bot: no on-call schedule 'nightly' (the schedules are Platform Team Primary, "
        "Platform Team Secondary)"
    )
    code, _, err = cli(SEED, "oncall", "--at", "yesterday")
    assert code == 2 and "not an ISO 8601 instant" in err


def test_nobody_on_call_shows_an_empty_list_bounded_by_the_gap(cli):
    """Outside the follow-the-sun hours while the DST dates differ, on_call is empty and since/until
    bound the one-hour gap."""
    code, out, _ = cli(FOLLOW_THE_SUN, "oncall", "--at", "2026-03-10T23:30Z", "--json")
    assert code == 0
    assert json.loads(out)["schedules"] == [
        {
            "name": "Follow the Sun",
            "on_call": [],
            "since": "2026-03-10T23:00:00Z",
            "until": "2026-03-11T00:00:00Z",
        }
    ]


def _nightly_gaps(first: int, last: int, month: int) -> list[dict[str, str]]:
    return [
        {
            "schedule": "Follow the Sun",
            "start": f"2026-{month:02d}-{day:02d}T23:00:00Z",
            "end": (datetime(2026, month, day, tzinfo=UTC) + timedelta(days=1)).strftime(
                "%Y-%m-%dT00:00:00Z"
            ),
        }
        for day in range(first, last + 1)
    ]


def test_coverage_shows_the_follow_the_sun_dst_gap_in_march_and_october(cli):
    """The pair leaves 23:00-24:00 UTC uncovered every night from 8 to 28 March and 25 to 31 October
    2026, and nowhere else; hours per person add up to the time covered."""
    code, out, _ = cli(
        FOLLOW_THE_SUN, "oncall", "coverage", "--from", "2026-03-01T00:00Z", "--weeks", "5", "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert (report["from"], report["to"]) == ("2026-03-01T00:00:00Z", "2026-04-05T00:00:00Z")
    assert report["gaps"] == _nightly_gaps(8, 28, 3)
    assert report["overlaps"] == []
    assert sum(report["hours"].values()) == 5 * 7 * 24 - 21
    code, out, _ = cli(
        FOLLOW_THE_SUN, "oncall", "coverage", "--from", "2026-10-18T00:00Z", "--weeks", "3", "--json"
    )
    assert json.loads(out)["gaps"] == _nightly_gaps(25, 31, 10)
    code, out, _ = cli(FOLLOW_THE_SUN, "oncall", "coverage", "--from", "2026-06-01", "--json")
    assert json.loads(out)["gaps"] == []


def test_coverage_text_lists_gaps_overlaps_and_hours(cli):
    """The text report: the window, each gap, overlaps (one person on two schedules), hours."""
    config = SEED.replace("users: [erin@example.com, frank@example.com]", "users: [alice@example.com]")
    code, out, _ = cli(config, "oncall", "coverage", "--from", "2026-11-30T14:00Z", "--weeks", "1")
    assert code == 0
    assert out.splitlines() == [
        "On-call coverage from 2026-11-30T14:00:00Z to 2026-12-07T14:00:00Z (1 week):",
        "Gaps (nobody on call): none",
        "Overlaps (one person on several schedules at once): 1",
        "  alice@example.com on Platform Team Primary, Platform Team Secondary: "
        "2026-11-30T14:00:00Z to 2026-12-07T14:00:00Z",
        "Hours on call:",
        "  alice@example.com: 336h",
    ]


def test_emails_show_as_the_user_id_serve_cached_and_an_unknown_one_is_a_gap(cli, tmp_path):
    """An email serve resolved shows as its Slack user id; one Slack did not know holds nothing (a gap,
    listed); one never looked up shows as the email."""
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    upgrade(engine)
    emails = OnCallEmailStore(engine)
    at = datetime(2026, 11, 30, tzinfo=UTC)
    emails.record("Alice@Example.com", "U0ALICE", at)
    emails.record("erin@example.com", None, at)
    engine.dispose()
    code, out, _ = cli(SEED, "oncall", "--at", "2026-12-01T12:00Z", "--json")
    held = {s["name"]: s for s in json.loads(out)["schedules"]}
    assert held["Platform Team Primary"]["on_call"] == ["U0ALICE"]
    assert held["Platform Team Secondary"] == {
        "name": "Platform Team Secondary",
        "on_call": [],
        "since": "2026-11-30T14:00:00Z",
        "until": "2026-12-07T14:00:00Z",
    }
    code, out, _ = cli(SEED, "oncall", "coverage", "--from", "2026-11-30T14:00Z", "--weeks", "2", "--json")
    report = json.loads(out)
    assert report["gaps"] == [
        {
            "schedule": "Platform Team Secondary",
            "start": "2026-11-30T14:00:00Z",
            "end": "2026-12-07T14:00:00Z",
        }
    ]
    assert report["unknown_emails"] == ["erin@example.com"]
    assert report["hours"] == {"U0ALICE": 168, "bob@example.com": 168, "frank@example.com": 168}
