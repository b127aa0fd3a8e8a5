"""Two bot instances on one database (as two `serve` processes would be), on a driven clock: the
scheduler lease and each incident's sync lease keep them from doing the same work twice, and
let one take over when the other stops."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

import tests.test_scheduled_http as scheduled
from bot.core import events as ev
from bot.scheduler import heartbeat, lease_ttl
from bot.server import build_bot
from bot.service.base import SYNC_LEASE
from tests.events import data_of
from tests.harness import ALICE, SYNC_TIMEOUT
from tests.test_scheduled_http import M, S, beat, notices, status_updates

# The same driven clock and harness as the scheduled HTTP tests.
clock = scheduled.clock
h = scheduled.h


@pytest.fixture
def other(h, clock):
    """A second instance on the same database, Slack and clock, with its own lease identity."""
    bot = build_bot(h.bot.settings, clock=clock)
    assert bot.service.instance_id != h.bot.service.instance_id
    yield bot
    bot.close()


def scheduler_holder(bot) -> str | None:
    with bot.store.engine.connect() as conn:
        return conn.execute(text("SELECT holder FROM leases WHERE name = 'scheduler'")).scalar()


def beat_together(*bots) -> None:
    """Every instance's heartbeat at the same moment, in threads, as separate processes would."""
    start = threading.Barrier(len(bots))
    errors = []

    def run(bot) -> None:
        start.wait()
        try:
            heartbeat(bot.service, bot.queue, bot.settings.heartbeat_seconds)
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(bot,)) for bot in bots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SYNC_TIMEOUT)
    assert not errors, errors
    for bot in bots:
        assert bot.wait_idle(SYNC_TIMEOUT)


def sync_together(*bots) -> None:
    """Every instance asks to sync INC-1 at once (as a command on one and a heartbeat on the
    other would)."""
    for bot in bots:
        bot.queue.request(1)
    for bot in bots:
        assert bot.wait_idle(SYNC_TIMEOUT)


def test_two_instances_post_each_notice_once(h, clock, other):
    """Both instances' heartbeats run at the same moments, and both sync the incident at once
    after notices are recorded: every notice is decided once, with a unique key, and reaches
    Slack once, in the channel and in the thread."""
    h.command("declare sev1 Payments failing", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    for minutes in (10, 10, 15, 15, 20, 30, 30, 45, 60, 60):
        clock.after(minutes * M)
        beat_together(h.bot, other)
    for minutes in (75, 90, 105):
        clock.after(minutes * M)
        h.bot.service.run_schedule()  # recorded, not yet posted
        sync_together(h.bot, other)
    keys = [data_of(n)["key"] for n in notices(h)]
    assert len(keys) == len(set(keys))
    assert len(notices(h, "status_update")) == 7
    assert len(status_updates(h, inc)) == len(status_updates(h, h.announcements, in_thread=True)) == 7
    posted = [n for n in notices(h) if not data_of(n).get("superseded")]
    channel_posts = h.slack.channel(inc).messages[1:]  # after the summary
    announcement_posts = [m for m in h.slack.channel(h.announcements).messages if not m.thread_ts][1:]
    assert len(posted) == len(channel_posts) + len(announcement_posts)


def test_the_scheduler_lease_keeps_a_second_instance_idle_until_it_lapses(h, clock, other):
    """While one instance holds the scheduler lease (renewed by each of its heartbeats), the
    other's heartbeat does no scheduled work, even with an update due. When the holder stops
    beating, the other takes over once the lease's TTL has passed, and posts the update once."""
    ttl = lease_ttl(h.bot.settings.heartbeat_seconds)
    h.command("declare sev1 Payments failing", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    h.command("ack", channel=inc)
    h.settle()
    renewed_at = clock.after(15 * M - S)
    beat(h.bot)  # the holder's last heartbeat: nothing is due yet
    assert scheduler_holder(h.bot) == h.bot.service.instance_id
    clock.after(15 * M)
    beat(other)
    clock.set(renewed_at + ttl - S)
    beat(other)
    assert notices(h) == [] and status_updates(h, inc) == []
    clock.set(renewed_at + ttl + S)
    beat(other)
    assert scheduler_holder(h.bot) == other.service.instance_id
    assert len(notices(h, "status_update")) == 1 and len(status_updates(h, inc)) == 1
    beat(h.bot)  # the first instance is back, but the lease is the other's now
    assert scheduler_holder(h.bot) == other.service.instance_id
    assert len(status_updates(h, inc)) == 1


def test_a_sync_lease_keeps_others_off_that_incident_until_it_lapses(h, clock, other):
    """An instance stopped in the middle of a Slack step still holds that incident's sync lease:
    the other instance's syncs leave the incident's work owed until the lease lapses
    (SYNC_LEASE), then do it once."""
    h.command("declare sev1 Payments failing", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    h.bot.service.handle_command("note Looking at the database", ALICE, inc)  # owed, not yet synced
    in_step, finish = threading.Event(), threading.Event()

    class StuckSlack:
        """Stands in for a process frozen (or killed) mid-call: it never completes the step."""

        def perform(self, step, state, now):
            in_step.set()
            finish.wait(SYNC_TIMEOUT)
            raise ConnectionError("the process died mid-call")

    def stuck_sync() -> None:
        with pytest.raises(ConnectionError):
            other.service.sync_slack(1, StuckSlack())

    stuck = threading.Thread(target=stuck_sync)
    stuck.start()
    try:
        assert in_step.wait(SYNC_TIMEOUT)
        leased_at = clock()
        h.bot.queue.request(1)  # what a command or the heartbeat asks for
        h.settle()
        clock.set(leased_at + SYNC_LEASE - S)
        beat(h.bot)
        assert not any("Looking at the database" in m.text for m in h.slack.channel(inc).messages)
        assert h.bot.store.with_slack_owed() == [1]
        clock.set(leased_at + SYNC_LEASE + S)
        beat(h.bot)
    finally:
        finish.set()
        stuck.join(SYNC_TIMEOUT)
    assert [m.text for m in h.slack.channel(inc).messages].count(
        f":pushpin: Note from <@{ALICE}>: Looking at the database"
    ) == 1
    thread = [m for m in h.slack.channel(h.announcements).messages if m.thread_ts]
    assert sum("Looking at the database" in m.text for m in thread) == 1
    assert h.bot.store.with_slack_owed() == []
    assert [e.type for e in h.bot.store.load(1)].count(ev.SlackChannelMessagePosted.TYPE) == 1


def test_a_stopped_instance_gives_up_the_scheduler_lease_and_the_other_takes_over_at_once(h, clock, other):
    """Clean shutdown (what SIGTERM leads to): the stopping instance releases the scheduler lease,
    so the other's very next heartbeat, at the same moment, does the scheduled work; it does not
    wait for the lease's TTL as it must after a crash (the test above)."""
    h.command("declare sev1 Payments failing", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    h.command("ack", channel=inc)
    h.settle()
    clock.after(15 * M - S)
    beat(h.bot)
    assert scheduler_holder(h.bot) == h.bot.service.instance_id
    clock.after(15 * M)  # an update is due now, well inside the lease's TTL
    beat(other)
    assert notices(h) == [], "the lease is still held: the other instance must stay idle"
    h.bot.close()
    assert scheduler_holder(h.bot) is None
    beat(other)
    assert scheduler_holder(other) == other.service.instance_id
    assert len(notices(h, "status_update")) == 1 and len(status_updates(h, inc)) == 1


def test_stopping_finishes_the_slack_step_in_progress_and_leaves_the_rest_owed(h, clock, other):
    """A sync that is mid-step when shutdown begins completes and records that step, takes no
    further one, and gives back the incident's lease: the other instance does the rest at once."""
    h.command("declare sev1 Payments failing", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    for text_ in ("First note", "Second note", "Third note"):
        h.bot.service.handle_command(f"note {text_}", ALICE, inc)  # owed, not yet synced
    in_step, finish = threading.Event(), threading.Event()
    performed = []

    class SlowSlack:
        """The real transport, but its first step waits until shutdown has begun."""

        def perform(self, step, state, now):
            performed.append(step.kind)
            if len(performed) == 1:
                in_step.set()
                finish.wait(SYNC_TIMEOUT)
            return h.bot.service.slack.perform(step, state, now)

    bot_events = lambda: [e for e in h.bot.store.load(1) if e.actor == "bot"]  # noqa: E731
    recorded_before = len(bot_events())
    syncing = threading.Thread(target=h.bot.service.sync_slack, args=(1, SlowSlack()))
    syncing.start()
    assert in_step.wait(SYNC_TIMEOUT)
    h.bot.service.stopping.set()  # what Bot.close does once requests in flight are answered
    finish.set()
    syncing.join(SYNC_TIMEOUT)
    assert len(performed) == 1, "a step was started after shutdown began"
    assert len(bot_events()) == recorded_before + 1, "the step in progress was not finished and recorded"
    assert h.bot.store.with_slack_owed() == [1]
    with h.bot.store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM leases WHERE name = 'incident:1'")).scalar() == 0
    other.queue.request(1)
    assert other.wait_idle(SYNC_TIMEOUT)
    notes = [m.text for m in h.slack.channel(inc).messages if m.text.startswith(":pushpin: Note")]
    assert len(notes) == 3 and h.bot.store.with_slack_owed() == []
