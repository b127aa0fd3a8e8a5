"""`/incident oncall` over signed HTTP on a driven clock, against the strict local Slack: who is on call
in the reader's zone, overrides (added, taken, removed) that win in Slack, in `incident-bot oncall
--json` and in the ICS feed, clear errors, and handoffs told once each (two replicas, a restart)
with the schedule's user group kept equal to who is on call."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import UTC, datetime

import pytest
from icalendar import Calendar

from bot.cli import main
from bot.config import load_config_file
from bot.core.oncall_events import HandoffNoticed, HandoffSent, OverrideAdded, OverrideRemoved
from bot.oncall_feed import make_oncall_feed
from bot.scheduler import heartbeat
from bot.server import ServerThread, build_bot
from bot.store.names import NameStore
from bot.store.oncall_emails import OnCallEmailStore
from bot.store.oncall_events import OnCallEventStore
from tests.clock import DrivenClock
from tests.harness import ALICE, BOB, CAROL, Harness, start_harness
from tests.test_manifest import manifest_bot_scopes

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # a Tuesday: alice's week (from Monday 09:00 UTC)
GROUP = "S0PRIMARY"
FEED_TOKEN = "feed-token"
CONFIG = f"""\
schedules:
  - name: Platform Primary
    rotation: {{type: weekly, handoff_time: "09:00", timezone: UTC, start: 2026-11-30}}
    users: [{ALICE}, {BOB}, {CAROL}]
    usergroup: {GROUP}
handoff_channel: "#oncall"
"""


@pytest.fixture
def config_path(tmp_path):
    path = tmp_path / "bot.yml"
    path.write_text(CONFIG)
    return path


def harness_for(database_url: str, config_path, clock: DrivenClock) -> Harness:
    policy = load_config_file(config_path)["policy"]
    h = start_harness(database_url, manifest_bot_scopes(), policy=policy, clock=clock)
    h.slack.add_user(ALICE, "alice", tz="Europe/Berlin")
    h.slack.add_usergroup(GROUP, "platform-oncall", [BOB])
    h.slack.add_channel("oncall", members=[ALICE])
    return h


@pytest.fixture
def clock():
    return DrivenClock(T0)


@pytest.fixture
def h(database_url, config_path, clock):
    harness = harness_for(database_url, config_path, clock)
    yield harness
    harness.close()


def said(h: Harness, text: str, user: str = ALICE) -> str:
    reply = h.command(text, user=user)
    assert reply.status == 200
    return reply.text


def beat(h: Harness) -> None:
    heartbeat(h.bot.service, h.bot.queue, h.bot.settings.heartbeat_seconds)


def test_oncall_says_who_since_until_and_next_in_the_readers_zone(h):
    """Alice's Slack zone is Europe/Berlin (UTC+1 in December); Bob has none, so he reads UTC, told so."""
    text = said(h, "oncall")
    assert f"<@{ALICE}> on call since Mon 30 Nov 10:00 until Mon 7 Dec 10:00" in text
    assert f"Next: <@{BOB}> from Mon 7 Dec 10:00" in text
    assert "Times in Europe/Berlin, your Slack time zone." in text
    text = said(h, "oncall platform-primary", user=BOB)
    assert "since Mon 30 Nov 09:00 until Mon 7 Dec 09:00" in text
    assert "Times in UTC: Slack gave no time zone for you." in text
    assert [c.params["user"] for c in h.slack.calls("users.info")][-2:] == [ALICE, BOB]


def test_an_override_wins_in_slack_the_cli_and_the_ics_feed(
    h, config_path, database_url, monkeypatch, capsys
):
    text = said(h, f"oncall override Platform Primary <@{CAROL}|carol> until 2026-12-01 16:00")
    assert re.search(
        rf"Override (\d+): <@{CAROL}> is on call for Platform Primary from Tue 1 Dec 13:00 to Tue 1 Dec 16:00 \(Europe/Berlin\)",
        text,
    ), text
    (added,) = [
        e for e in OnCallEventStore(h.bot.store.engine).load() if isinstance(e.payload, OverrideAdded)
    ]
    assert added.actor == ALICE and added.at == T0
    assert added.payload.end == datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
    override_id = added.payload.override_id
    text = said(h, "oncall")
    assert f"<@{CAROL}> on call since Tue 1 Dec 13:00 until Tue 1 Dec 16:00" in text
    assert f"Next: <@{ALICE}> from Tue 1 Dec 16:00" in text
    assert (
        f"Override {override_id}: <@{CAROL}> from Tue 1 Dec 13:00 to Tue 1 Dec 16:00 (added by <@{ALICE}>"
        in text
    )

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("INCIDENT_BOT_CONFIG", str(config_path))
    assert main(["oncall", "--json", "--at", "2026-12-01T14:00Z"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["schedules"] == [
        {
            "name": "Platform Primary",
            "on_call": [CAROL],
            "since": "2026-12-01T12:00:00Z",
            "until": "2026-12-01T15:00:00Z",
        }
    ]

    # The feed over the same database (the harness's bot serves none: it has no feed token).
    feed = make_oncall_feed(
        h.bot.settings.policy.oncall,
        OnCallEmailStore(h.bot.store.engine),
        NameStore(h.bot.store.engine),
        FEED_TOKEN,
        lambda: T0,
    )
    feed_server = ServerThread(feed).start()
    try:
        with urllib.request.urlopen(f"{feed_server.url}/oncall/platform-primary.ics?token={FEED_TOKEN}") as r:
            events = list(Calendar.from_ical(r.read()).walk("VEVENT"))
    finally:
        feed_server.stop()
    spans = [(e.decoded("dtstart"), e.decoded("dtend"), str(e["description"])) for e in events[:3]]
    assert spans == [
        (T0, datetime(2026, 12, 1, 15, tzinfo=UTC), f"Platform Primary: {CAROL}"),
        (
            datetime(2026, 12, 1, 15, tzinfo=UTC),
            datetime(2026, 12, 7, 9, tzinfo=UTC),
            f"Platform Primary: {ALICE}",
        ),
        (
            datetime(2026, 12, 7, 9, tzinfo=UTC),
            datetime(2026, 12, 14, 9, tzinfo=UTC),
            f"Platform Primary: {BOB}",
        ),
    ]


def test_take_holds_the_shift_until_its_end_and_remove_gives_it_back(h, clock):
    text = said(h, "oncall take platform primary", user=BOB)
    assert f"<@{BOB}> is on call for Platform Primary from Tue 1 Dec 12:00 to Mon 7 Dec 09:00 (UTC)" in text
    # His own week follows: one holding until the 14th.
    assert f"<@{BOB}> on call since Tue 1 Dec 12:00 until Mon 14 Dec 09:00" in said(h, "oncall", user=BOB)
    taken = said(h, "oncall take Platform Primary 30m", user=CAROL)
    assert "from Tue 1 Dec 12:00 to Tue 1 Dec 12:30 (UTC)" in taken
    (first, second) = [e.payload for e in OnCallEventStore(h.bot.store.engine).load()]
    assert isinstance(first, OverrideAdded) and isinstance(second, OverrideAdded)
    assert f"Removed override {second.override_id} (<@{CAROL}> on Platform Primary)." in said(
        h, f"oncall override remove {second.override_id}", user=BOB
    )
    assert said(h, "oncall override remove 99").startswith("There is no override 99 in force.")
    text = said(h, "oncall", user=BOB)
    assert f"<@{BOB}> on call since Tue 1 Dec 12:00" in text and f"Override {second.override_id}:" not in text
    removed = OnCallEventStore(h.bot.store.engine).load()[-1]
    assert isinstance(removed.payload, OverrideRemoved) and removed.actor == BOB


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "oncall platfrom primary",
            "There is no schedule `platfrom primary`. Did you mean `Platform Primary`?",
        ),
        (f"oncall override nightly <@{BOB}> 2h", "There is no schedule `nightly`."),
        (f"oncall override Platform Primary <@{BOB}> 3x", "'3x' is not a duration"),
        (f"oncall override Platform Primary <@{BOB}> until 2026-11-30 09:00", "is in the past"),
        (
            f"oncall override Platform Primary <@{BOB}> until 2026-02-30 09:00",
            "is not a date like 2026-12-02",
        ),
        ("oncall override Platform Primary 2h", "Mention exactly one person"),
        (f"oncall override Platform Primary <@{BOB}>", "Until when?"),
        ("oncall override remove seven", "Which override?"),
    ],
)
def test_mistakes_get_a_clear_ephemeral_answer_and_record_nothing(h, text, expected):
    reply = h.command(text)
    assert reply.status == 200 and reply.json()["response_type"] == "ephemeral"
    assert expected in reply.text, reply.text
    assert OnCallEventStore(h.bot.store.engine).load() == []


def handoff_dms(h: Harness, user: str) -> list[str]:
    dm = h.slack.dm(user)
    return [m.text for m in dm.messages] if dm is not None else []


def test_each_handoff_is_told_once_and_the_usergroup_follows(h, clock):
    """The first heartbeat notices alice's current shift (DM, #oncall, group := alice); more beats
    change nothing; at Monday 09:00 bob is told; an override to carol is a handoff too."""
    oncall_channel = h.slack.channel_by_name("oncall").id
    beat(h)
    beat(h)
    assert len(handoff_dms(h, ALICE)) == 1
    assert "You are now on call for *Platform Primary*" in handoff_dms(h, ALICE)[0]
    assert "No incidents are open." in handoff_dms(h, ALICE)[0]
    assert len(h.slack.channel(oncall_channel).messages) == 1
    assert h.slack.usergroup(GROUP).users == [ALICE]
    clock.set(datetime(2026, 12, 7, 9, 0, 5, tzinfo=UTC))
    beat(h)
    beat(h)
    assert len(handoff_dms(h, BOB)) == 1 and len(handoff_dms(h, ALICE)) == 1
    assert h.slack.usergroup(GROUP).users == [BOB]
    said(h, f"oncall override Platform Primary <@{CAROL}> 1h", user=BOB)
    beat(h)
    assert len(handoff_dms(h, CAROL)) == 1 and h.slack.usergroup(GROUP).users == [CAROL]
    assert "Handoffs:" in said(h, "oncall", user=BOB)
    keys = [
        e.payload.key
        for e in OnCallEventStore(h.bot.store.engine).load()
        if isinstance(e.payload, HandoffNoticed)
    ]
    assert len(keys) == len(set(keys)) == 3


def test_two_replicas_and_a_restart_tell_each_handoff_once(database_url, config_path, clock):
    """Two bots on one database, both beating (whoever holds the lease does the work); one stops
    and the other takes over after the lease lapses; a handoff missed in downtime is told once,
    and only the shift in force, not every missed one."""
    first = harness_for(database_url, config_path, clock)
    second_settings = first.bot.settings
    second = build_bot(second_settings, clock=clock)
    try:
        beat(first)
        heartbeat(second.service, second.queue, second_settings.heartbeat_seconds)
        assert len(handoff_dms(first, ALICE)) == 1
        first.bot.service.release_scheduler_lease()
        # Downtime over two handoffs (bob on the 7th, carol on the 14th): only carol is told.
        clock.set(datetime(2026, 12, 15, 10, tzinfo=UTC))
        heartbeat(second.service, second.queue, second_settings.heartbeat_seconds)
        beat(first)
        assert handoff_dms(first, BOB) == []
        assert len(handoff_dms(first, CAROL)) == 1
        assert first.slack.usergroup(GROUP).users == [CAROL]
        sent = [
            e.payload
            for e in OnCallEventStore(first.bot.store.engine).load()
            if isinstance(e.payload, HandoffSent)
        ]
        assert len(sent) == len({(s.key, s.to) for s in sent}) == 4  # alice, carol: DM and #oncall each
    finally:
        second.close()
        first.close()


DAY_DESK = f"""\
schedules:
  - name: Day Desk
    layers:
      - rotation: {{type: daily, handoff_time: "09:00", timezone: UTC}}
        users: [{ALICE}]
        hours: {{from: "09:00", to: "17:00"}}
    usergroup: {GROUP}
"""


def test_an_empty_schedule_disables_the_group_and_a_holder_enables_it_again(database_url, tmp_path, clock):
    """Slack refuses an empty user group: out of hours the group is disabled, and enabled again
    (then filled) when someone holds the schedule."""
    path = tmp_path / "day.yml"
    path.write_text(DAY_DESK)
    h = harness_for(database_url, path, clock)
    try:
        beat(h)  # 12:00: alice holds the desk
        assert h.slack.usergroup(GROUP).users == [ALICE]
        clock.set(datetime(2026, 12, 1, 18, tzinfo=UTC))
        beat(h)
        beat(h)
        assert h.slack.usergroup(GROUP).date_delete != 0
        clock.set(datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
        beat(h)
        group = h.slack.usergroup(GROUP)
        assert group.date_delete == 0 and group.users == [ALICE]
        assert [c.method for c in h.slack.calls() if c.method.startswith("usergroups.")] == [
            "usergroups.users.update",
            "usergroups.disable",
            "usergroups.enable",
            "usergroups.users.update",
        ]
        assert len(handoff_dms(h, ALICE)) == 2  # each day's shift, once
    finally:
        h.close()


def declare_private(h: Harness, title: str, user: str) -> None:
    h.command("declare", user=user)
    h.settle()
    form = {
        "title": {"title": {"type": "plain_text_input", "value": title}},
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": "sev1"}}},
        "private": {"private": {"type": "checkboxes", "selected_options": [{"value": "private"}]}},
    }
    assert h.sender.view_submission(h.slack.views()[-1], form, user_id=user).status == 200
    h.settle()


def test_private_incidents_are_counted_not_named_to_non_members(h):
    """Alice inherits a public incident (named), her own private one (named to her: a member) and
    carol's private one (counted); the shared #oncall channel names only the public one."""
    said(h, "declare sev2 Checkout is slow")
    declare_private(h, "Alice's secret breach", ALICE)
    declare_private(h, "Carol's secret breach", CAROL)
    h.settle()
    beat(h)
    (dm,) = handoff_dms(h, ALICE)
    assert "INC-1" in dm and "Checkout is slow" in dm
    assert "INC-2" in dm and "secret breach" in dm.replace("Alice&#x27;s", "Alice's")
    assert "Carol" not in dm and "INC-3" not in dm and "1 private incident" in dm
    (posted,) = h.slack.channel(h.slack.channel_by_name("oncall").id).messages
    assert "INC-1" in posted.text and "breach" not in posted.text and "INC-2" not in posted.text
    assert "2 private incidents" in posted.text
