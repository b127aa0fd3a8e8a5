"""Paging and escalation end to end, on a driven clock: the real bot over signed HTTP, the strict fake
Slack, and the heartbeat called by the test. Who is on call comes from the config's schedules."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import policy_from_mapping
from bot.core import events as ev
from bot.render import ids
from bot.scheduler import heartbeat
from bot.server import build_bot
from tests.clock import DrivenClock
from tests.harness import ALICE, BOB, CAROL, SYNC_TIMEOUT, start_harness, team_policy
from tests.test_manifest import manifest_bot_scopes

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)  # a Wednesday
M = timedelta(minutes=1)
DAVE = "U0DAVE001"
WEEKLY = {"type": "weekly", "handoff_time": "09:00", "timezone": "UTC", "start": "2026-01-05"}
ONCALL = {
    "people": {"Engineering Manager": CAROL},
    "schedules": [
        {"name": "Primary", "rotation": WEEKLY, "users": [BOB]},
        {"name": "Secondary", "rotation": WEEKLY, "users": [DAVE]},
        # Held only at night (UTC): nobody holds it at T0.
        {
            "name": "Nights",
            "layers": [{"rotation": WEEKLY, "users": [ALICE], "hours": {"from": "22:00", "to": "06:00"}}],
        },
    ],
    "escalation_policy": [
        {"targets": ["Primary"], "timeout": "5min"},
        {"targets": ["Secondary"], "timeout": "10min"},
        {"targets": ["Engineering Manager"]},
    ],
    "escalation_policies": [
        {
            "name": "night",
            "repeat": 1,
            "levels": [
                {"targets": ["Nights"], "timeout": "5min"},
                {"targets": ["Primary"], "timeout": "5min"},
            ],
        }
    ],
    "severities": {
        "sev1": {"description": "Critical"},
        "sev2": {"description": "Major", "escalation": "night"},
        "sev3": {"description": "Minor"},
        "sev4": {"description": "Low"},
    },
}


def paging_policy(**overrides):
    oncall = policy_from_mapping(ONCALL).oncall
    return team_policy(oncall=oncall, **overrides)


@pytest.fixture
def clock():
    return DrivenClock(T0)


@pytest.fixture
def h(database_url, clock):
    harness = start_harness(database_url, manifest_bot_scopes(), policy=paging_policy(), clock=clock)
    harness.slack.add_user(DAVE, "dave")
    yield harness
    harness.close()


def beat(bot) -> None:
    heartbeat(bot.service, bot.queue, bot.settings.heartbeat_seconds)
    assert bot.wait_idle(SYNC_TIMEOUT), "Slack sync did not finish"


def beat_at(h, clock, after: timedelta) -> None:
    clock.after(after)
    beat(h.bot)


def pages(h, number: int = 1) -> list[ev.Paged]:
    return [e.payload for e in h.bot.store.load(number) if isinstance(e.payload, ev.Paged)]


def levels(h, number: int = 1) -> list[tuple[int, int, tuple[str, ...]]]:
    return [(p.level, p.round, p.users) for p in pages(h, number)]


def dm_texts(h, user: str) -> list[str]:
    """The pages in `user`'s DM (those with an Acknowledge button); the heartbeat's handoff
    messages ("You are now on call") are there too, and are not pages."""
    dm = h.slack.dm(user)
    return [] if dm is None else [m.text for m in dm.messages if ids.PAGE_ACK in str(m.blocks)]


def nobody_answered(h, number: int = 1) -> list[ev.NoticeDue]:
    return [
        e.payload
        for e in h.bot.store.load(number)
        if isinstance(e.payload, ev.NoticeDue) and e.payload.kind == "paging_exhausted"
    ]


def test_a_sev1_pages_level_one_at_once_by_dm_invite_and_mention(h, clock):
    """Declaring a SEV1 copies the policy into the log and pages Primary's holder within the
    request: a DM with title, severity, channel link and Acknowledge; an invite; a mention."""
    h.command("declare sev1 Checkout is down")
    h.settle()
    started = [e.payload for e in h.bot.store.load(1) if isinstance(e.payload, ev.PagingStarted)]
    assert len(started) == 1 and started[0].policy == "default"
    assert [lv.timeout_seconds for lv in started[0].levels] == [300, 600, 600]
    assert levels(h) == [(1, 0, (BOB,))]
    channel = h.incident_channel()
    (dm,) = h.slack.dm(BOB).messages
    assert "INC-1" in dm.text and "Checkout is down" in dm.text
    blocks_text = str(dm.blocks)
    assert "SEV1" in blocks_text and f"<#{channel}>" in blocks_text and ids.PAGE_ACK in blocks_text
    assert BOB in h.slack.channel(channel).members
    assert any(f"<@{BOB}>" in m.text and "Level 1" in m.text for m in h.slack.channel(channel).messages)


def test_unacknowledged_levels_escalate_on_their_timeouts_and_ack_at_level_two_stops(h, clock):
    """Level 2 after level 1's 5 minutes (not before), level 3 after level 2's 10; an ack at level
    2 stops it there, and the heartbeat never pages again."""
    h.command("declare sev1 Checkout is down")
    h.settle()
    beat_at(h, clock, 4 * M + 59 * timedelta(seconds=1))
    assert levels(h) == [(1, 0, (BOB,))]
    beat_at(h, clock, 5 * M)
    assert levels(h) == [(1, 0, (BOB,)), (2, 0, (DAVE,))]
    assert len(dm_texts(h, DAVE)) == 1
    h.command("ack INC-1", user=DAVE)
    h.settle()
    for minutes in (15, 30, 60):
        beat_at(h, clock, minutes * M)
    assert levels(h) == [(1, 0, (BOB,)), (2, 0, (DAVE,))]
    assert nobody_answered(h) == []


@pytest.mark.parametrize("acked_at_level", [1, 2, 3])
def test_an_ack_at_each_level_stops_the_escalation(h, clock, acked_at_level):
    """Whichever level is answering, /incident ack stops further levels."""
    h.command("declare sev1 Checkout is down")
    h.settle()
    for minutes in (0, 5, 15)[:acked_at_level]:
        beat_at(h, clock, minutes * M)
    assert len(pages(h)) == acked_at_level
    h.command("ack INC-1", user=ALICE)
    h.settle()
    beat_at(h, clock, 120 * M)
    assert len(pages(h)) == acked_at_level


def test_the_dm_acknowledge_button_over_signed_http_stops_paging(h, clock):
    """Pressing Acknowledge in the page's DM (a block action from the DM channel, signed) records
    the acknowledgement by the paged person; level 2 is never paged."""
    h.command("declare sev1 Checkout is down")
    h.settle()
    dm = h.slack.dm(BOB)
    (message,) = dm.messages
    reply = h.sender.block_action(
        ids.PAGE_ACK,
        value="1",
        user_id=BOB,
        channel_id=dm.id,
        message_ts=message.ts,
        response_url=h.slack.response_url(),
        block_id="page.actions",
    )
    assert reply.status == 200
    h.settle()
    assert h.bot.service.state_of(1).facts.acknowledged_by == BOB
    beat_at(h, clock, 30 * M)
    assert levels(h) == [(1, 0, (BOB,))]


def test_resolving_mid_escalation_stops_it(h, clock):
    h.command("declare sev1 Checkout is down")
    h.settle()
    beat_at(h, clock, 5 * M)
    channel = h.incident_channel()
    h.command("resolve Rolled back", user=ALICE, channel=channel)
    h.settle()
    beat_at(h, clock, 60 * M)
    assert [p.level for p in pages(h)] == [1, 2]
    assert nobody_answered(h) == []


def test_nobody_on_call_is_recorded_and_the_next_level_paged_at_once_then_repeat_then_nobody_answered(
    h, clock
):
    """The `night` policy (SEV2): Nights is held by nobody at T0, so level 1 is recorded as unfilled
    (said in the channel) and level 2 is paged at once; after level 2's timeout the policy repeats
    once; after that, the announcement channel hears that nobody answered, once."""
    h.command("declare sev2 Search is slow")
    h.settle()
    assert levels(h) == [(1, 0, ()), (2, 0, (BOB,))]
    assert pages(h)[0].unfilled == ("Nights",)
    channel = h.incident_channel()
    assert any("Nobody is on call for Nights" in m.text for m in h.slack.channel(channel).messages)
    beat_at(h, clock, 5 * M)
    assert levels(h) == [(1, 0, ()), (2, 0, (BOB,)), (1, 1, ()), (2, 1, (BOB,))]
    assert len(dm_texts(h, BOB)) == 2
    assert nobody_answered(h) == []
    beat_at(h, clock, 10 * M)
    beat_at(h, clock, 11 * M)
    assert len(nobody_answered(h)) == 1
    said = [m.text for m in h.slack.channel(h.announcements).messages if "Nobody answered" in m.text]
    assert len(said) == 1 and "INC-1" in said[0]
    beat_at(h, clock, 60 * M)
    assert len(pages(h)) == 4


def test_a_private_incident_pages_by_dm_but_never_tells_the_announcement_channel(h, clock):
    """A private SEV2 still pages (the paged person gets the DM and becomes a member), but when
    nobody answers it is said in its own channel, never in the shared announcement channel."""
    from tests.test_private_incidents_http import declare_private, shared_texts

    number, channel = declare_private(h, title="Leaked credentials", severity="sev2")
    assert levels(h, number) == [(1, 0, ()), (2, 0, (BOB,))]
    assert "Leaked credentials" in dm_texts(h, BOB)[0]
    assert BOB in h.slack.channel(channel).members
    for minutes in (5, 10, 11, 30):
        beat_at(h, clock, minutes * M)
    assert len(nobody_answered(h, number)) == 1
    assert any("Nobody answered" in m.text for m in h.slack.channel(channel).messages)
    assert not any("Leaked credentials" in t or "Nobody answered" in t for t in shared_texts(h))


def test_severity_raised_to_a_paging_one_starts_paging_and_page_false_never_pages(h, clock):
    """SEV3 does not page (page: false by default); raised to SEV1 it pages level 1 at once."""
    h.command("declare sev3 Reports are late")
    h.settle()
    beat_at(h, clock, 30 * M)
    assert pages(h) == []
    channel = h.incident_channel()
    h.command("severity sev1 customers affected", user=ALICE, channel=channel)
    h.settle()
    assert levels(h) == [(1, 0, (BOB,))]


def test_page_by_hand_a_person_or_a_schedule(h, clock):
    """/incident page @user and /incident page <schedule> [INC-N] message: DM, invite, mention."""
    h.command("declare sev3 Reports are late")
    h.settle()
    channel = h.incident_channel()
    reply = h.command(f"page <@{CAROL}> INC-1 please look at the exports", user=ALICE)
    assert "Paged" in reply.text
    reply = h.command("page secondary need a DBA", user=ALICE, channel=channel)
    assert f"<@{DAVE}>" in reply.text
    h.settle()
    assert [(p.level, p.users, p.message) for p in pages(h)] == [
        (0, (CAROL,), "please look at the exports"),
        (0, (DAVE,), "need a DBA"),
    ]
    assert "please look at the exports" in str(h.slack.dm(CAROL).messages[0].blocks)
    members = h.slack.channel(channel).members
    assert CAROL in members and DAVE in members
    reply = h.command("page nights", user=ALICE, channel=channel)
    assert "Nobody is on call for Nights" in reply.text


def test_after_downtime_the_escalation_resumes_where_due_without_replaying_levels(h, clock):
    """No heartbeat for an hour: the next beat pages level 2 once (not 2 and 3 together); level 3
    waits level 2's full timeout from then."""
    h.command("declare sev1 Checkout is down")
    h.settle()
    beat_at(h, clock, 60 * M)
    assert [p.level for p in pages(h)] == [1, 2]
    beat_at(h, clock, 69 * M)
    assert [p.level for p in pages(h)] == [1, 2]
    beat_at(h, clock, 70 * M)
    assert [p.level for p in pages(h)] == [1, 2, 3]
    assert levels(h)[-1] == (3, 0, (CAROL,))


def test_a_config_change_does_not_rewrite_a_running_escalation(h, clock, database_url):
    """A restart with a policy whose level 2 waits 1 minute still escalates on the copy in the log."""
    h.command("declare sev1 Checkout is down")
    h.settle()
    changed = dict(ONCALL, escalation_policy=[{"targets": ["Secondary"], "timeout": "1min"}])
    policy = team_policy(oncall=policy_from_mapping(changed).oncall)
    other = build_bot(replace(h.bot.settings, policy=policy), clock=clock)
    try:
        clock.after(2 * M)
        beat(other)
        assert levels(h) == [(1, 0, (BOB,))]
        clock.after(5 * M)
        beat(other)
        assert levels(h) == [(1, 0, (BOB,)), (2, 0, (DAVE,))]
    finally:
        other.close()


def decide_together(*bots) -> None:
    """Both instances decide paging for INC-1 at the same moment, past the scheduler lease (as a
    declaration on one and the heartbeat on the other would)."""
    start = threading.Barrier(len(bots))
    errors = []

    def run(bot) -> None:
        start.wait()
        try:
            bot.service.page_if_due(1)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(bot,)) for bot in bots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SYNC_TIMEOUT)
    assert not errors, errors


def test_two_instances_page_each_level_exactly_once(h, clock):
    """Two bots on one database beat together at each instant, both decide paging at once past the
    lease, and both sync: each level is one event and one DM."""
    from tests.test_scheduled_leases import beat_together

    other = build_bot(h.bot.settings, clock=clock)
    try:
        h.command("declare sev1 Checkout is down")
        h.settle()
        for minutes in (1, 5, 5, 10, 15, 15, 20, 30):
            clock.after(minutes * M)
            beat_together(h.bot, other)
            decide_together(h.bot, other)
            other.queue.request(1)
            h.bot.queue.request(1)
            assert other.wait_idle(SYNC_TIMEOUT) and h.bot.wait_idle(SYNC_TIMEOUT)
        assert [p.level for p in pages(h)] == [1, 2, 3]
        assert len(dm_texts(h, BOB)) == 1 and len(dm_texts(h, DAVE)) == 1 and len(dm_texts(h, CAROL)) == 1
    finally:
        other.close()


def test_pages_and_escalations_are_in_metrics_and_the_postmortem(h, clock):
    """Level 1, level 2 after 5 minutes, acknowledged at 7: two pages, one escalation, one
    acknowledgement at level 2, 7 minutes from the first page; both levels in the postmortem and
    in /incident metrics."""
    h.command("declare sev1 Checkout is down")
    h.settle()
    beat_at(h, clock, 5 * M)
    clock.after(7 * M)
    h.command("ack INC-1", user=DAVE)
    h.settle()
    metrics = h.bot.service.metrics(T0 - M, T0 + 60 * M).as_dict()
    assert metrics["pages_sent"] == 2 and metrics["escalations"] == 1
    assert metrics["acknowledged_by_level"] == {"2": 1}
    assert metrics["time_to_acknowledge_from_page"]["median_seconds"] == 7 * 60
    assert metrics["time_to_acknowledge"]["count"] == 1  # the existing fields stay
    text = h.command("metrics 1d").text
    assert "Pages sent: 2 · escalations: 1 · acknowledged at level 2: 1" in text
    postmortem = h.bot.service.messages.postmortem(h.bot.service.state_of(1))
    assert f"Level 1: paged {BOB} (Primary)" in postmortem
    assert f"Level 2: paged {DAVE} (Secondary)" in postmortem


def test_an_override_decides_who_is_paged(h, clock):
    """Dave takes Primary for two hours with `/incident oncall override`: a SEV1 declared then
    pages Dave, not Bob, whom the rotation would have paged."""
    reply = h.command(f"oncall override Primary <@{DAVE}|dave> 2h")
    assert reply.status == 200
    h.command("declare sev1 Checkout is down")
    h.settle()
    assert levels(h) == [(1, 0, (DAVE,))]
    assert dm_texts(h, BOB) == [] and len(dm_texts(h, DAVE)) == 1
