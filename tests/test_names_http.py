"""People and channels by name outside Slack, end to end: signed slash commands, users.info and
conversations.info on the strict local Slack, the name cache in the database, the published
postmortem file and `incident-bot postmortem`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.cli import main
from bot.store.names import NameStore
from tests.clock import DrivenClock
from tests.harness import ALICE, BOB, CAROL, ONCALL, start_harness
from tests.test_manifest import manifest_bot_scopes

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GHOST = "U0GHOST01"  # mentioned, but not a member of the workspace: users.info says user_not_found


@pytest.fixture
def clock():
    return DrivenClock(T0)


@pytest.fixture
def h(database_url, clock):
    harness = start_harness(database_url, manifest_bot_scopes(), clock=clock)
    # Slack's three names: the display name (may be empty), the full name, the username.
    harness.slack.add_user(ALICE, "alice", real_name="Alice Liddell", display_name="Ally")
    harness.slack.add_user(BOB, "bob", real_name="Bob Builder", display_name="")
    harness.slack.add_user(CAROL, "carol", real_name="", display_name="")
    yield harness
    harness.close()


def names_asked(h, method="users.info", key="user") -> list[str]:
    return [c.params[key] for c in h.slack.calls(method)]


def cli_postmortem(monkeypatch, capsys, database_url, *args) -> str:
    """`incident-bot postmortem INC-1` as an operator runs it: the database only, no Slack credentials."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "INCIDENT_BOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    capsys.readouterr()
    assert main(["postmortem", "INC-1", *args]) == 0
    return capsys.readouterr().out


def run_incident(h) -> str:
    h.command("declare sev2 Checkout errors", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    h.command(f"role comms <@{CAROL}|carol>", channel=inc)
    h.command("ack", user=BOB, channel=inc)
    general = h.general
    h.command(
        f"note <@{BOB}|bob> saw it first in <#{general}|general>; someone typed &lt;@U0CAROL01&gt; by hand",
        user=CAROL,
        channel=inc,
    )
    h.command(f"action add Page the owner <@{GHOST}|ghost>", channel=inc)
    h.command(f"action add Add a pool alert <@{BOB}|bob>", channel=inc)
    h.command("resolve Pool resized", channel=inc)
    h.settle()
    return inc


def test_names_are_fetched_and_shown_in_the_published_file_and_the_cli(h, monkeypatch, capsys, database_url):
    """Everyone the incident shows is looked up once (display name, else full name, else username)
    and cached; the uploaded postmortem and `incident-bot postmortem` show names, no `<@`, and
    messages in Slack keep their mentions."""
    inc = run_incident(h)
    assert sorted(names_asked(h)) == sorted({ALICE, BOB, CAROL, GHOST})  # once each: then cached
    assert names_asked(h, "conversations.info", "channel") == [h.general]
    cached = NameStore(h.bot.store.engine).cached([ALICE, BOB, CAROL, GHOST, h.general, ONCALL])
    assert {i: c.name for i, c in cached.items()} == {
        ALICE: "Ally",
        BOB: "Bob Builder",
        CAROL: "carol",
        GHOST: None,  # Slack had no name: kept a day like a name, shown as the id
        h.general: "general",
    }
    assert all(c.fetched_at == T0 for c in cached.values())

    h.command("postmortem", channel=inc)
    h.settle()
    (file,) = h.slack.files()
    published = h.slack.file_content(file["id"]).decode()
    assert "| Commander | Ally |" in published and "| Comms | carol |" in published
    assert "| Ally | Declared SEV2: Checkout errors |" in published
    assert "| Ally | carol is comms |" in published
    assert "| Bob Builder | Acknowledged |" in published
    # A real mention and channel link become names; text typed to look like one stays as typed.
    assert "| carol | Note: Bob Builder saw it first in #general; someone typed <@U0CAROL01> by hand |" in (
        published
    )
    assert "| 1 | Page the owner | U0GHOST01 | — | open |" in published
    assert "| 2 | Add a pool alert | Bob Builder | — | open |" in published
    assert "<@U" not in published.replace("<@U0CAROL01>", "") and "<#" not in published

    assert cli_postmortem(monkeypatch, capsys, database_url) == published
    # In Slack, the timeline keeps real mentions.
    texts = [m.text for m in h.slack.channel(inc).messages]
    assert any(f"<@{CAROL}>" in t and "comms" in t for t in texts)


def test_an_id_never_fetched_prints_plainly_in_the_cli(h, monkeypatch, capsys, database_url):
    """With nothing in the name cache (users.info rate limited), the CLI prints bare ids."""
    h.slack.fail_next("users.info", status=429, retry_after=60)
    h.command("declare sev3 Search slow", user=ALICE)
    h.settle()
    assert names_asked(h) == [ALICE]  # asked once, told to wait: nothing more is asked meanwhile
    text = cli_postmortem(monkeypatch, capsys, database_url)
    assert "| Commander | U0ALICE01 |" in text
    assert "| U0ALICE01 | Declared SEV3: Search slow |" in text
    assert "<@" not in text


def test_a_failing_users_info_never_holds_up_the_incident(h, clock):
    """A 429 on users.info: the channel, summary, announcement and posts all happen; names are
    not asked again until Retry-After has passed, then they are."""
    h.slack.fail_next("users.info", status=429, retry_after=60)
    h.command("declare sev2 Login broken", user=ALICE)
    h.settle()
    state = h.bot.service.state_of(1)
    assert state.slack.channel_id and state.slack.summary_ts and state.slack.announcement_ts
    assert h.bot.store.with_slack_owed() == []
    inc = h.incident_channel()
    clock.after(timedelta(seconds=30))
    assert "Noted" in h.command("note still failing", channel=inc).text
    h.settle()
    assert names_asked(h) == [ALICE]  # still inside Retry-After
    assert any("still failing" in m.text for m in h.slack.channel(inc).messages)
    clock.after(timedelta(seconds=61))
    h.command("note now better", channel=inc)
    h.settle()
    assert names_asked(h) == [ALICE, ALICE]
    assert NameStore(h.bot.store.engine).known([ALICE]) == {ALICE: "Ally"}


def test_a_name_is_fetched_again_once_a_day_old(h, clock):
    """A cached name younger than a day is used as it is; an older one is fetched again."""
    h.command("declare sev2 Checkout errors", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    assert names_asked(h) == [ALICE]
    h.slack.add_user(ALICE, "alice", real_name="Alice Liddell", display_name="Alice L.")
    clock.after(timedelta(hours=23))
    h.command("note a day, nearly", channel=inc)
    h.settle()
    assert names_asked(h) == [ALICE]
    assert NameStore(h.bot.store.engine).known([ALICE]) == {ALICE: "Ally"}
    clock.after(timedelta(days=1, minutes=1))
    h.command("note over a day", channel=inc)
    h.settle()
    assert names_asked(h) == [ALICE, ALICE]
    cached = NameStore(h.bot.store.engine).cached([ALICE])[ALICE]
    assert (cached.name, cached.fetched_at) == ("Alice L.", T0 + timedelta(days=1, minutes=1))
    assert "| Commander | Alice L. |" in h.bot.service.postmortem_markdown(1)


def test_without_users_read_the_incident_runs_and_people_show_as_ids(database_url):
    """A workspace that installed the app before users:read: users.info answers missing_scope,
    which is logged and kept like any answer without a name; the incident's Slack work is done."""
    h = start_harness(database_url, manifest_bot_scopes() - {"users:read"})
    try:
        h.command("declare sev2 Checkout errors", user=ALICE)
        h.settle()
        assert [c.error for c in h.slack.calls("users.info")] == ["missing_scope"]
        assert h.bot.store.with_slack_owed() == []
        text = h.bot.service.postmortem_markdown(1)
        assert re.search(r"\| Commander \| U0ALICE01 \|", text)
    finally:
        h.close()
