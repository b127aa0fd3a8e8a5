"""Scheduled notices end to end on a driven clock: the test sets the bot's `now`, calls the
heartbeat and watches the strict fake Slack. No test waits on a cadence."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from slack_sdk.http_retry import builtin_handlers

from bot.core import events as ev
from bot.core.policy import Schedule
from bot.scheduler import heartbeat
from bot.server import build_bot
from bot.slack.notifier import MAX_PACING_WAIT, SlackNotifier, make_client
from bot.slack.pacing import ChannelPacer
from bot.sync_queue import SyncQueue
from tests.clock import DrivenClock
from tests.events import data_of
from tests.harness import ALICE, ONCALL, SYNC_TIMEOUT, start_harness, team_policy
from tests.test_manifest import manifest_bot_scopes

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)
M = timedelta(minutes=1)
S = timedelta(seconds=1)
SCHEDULE = Schedule(
    update_every={"sev1": 15 * M},
    mitigated_every=45 * M,
    ack_timeout=10 * M,
    postmortem_after=timedelta(days=2),
)


@pytest.fixture
def clock():
    return DrivenClock(T0)


@pytest.fixture
def h(database_url, clock):
    harness = start_harness(
        database_url, manifest_bot_scopes(), policy=team_policy(schedule=SCHEDULE), clock=clock
    )
    yield harness
    harness.close()


def beat(bot) -> None:
    """One heartbeat of `bot` at its clock's time, then wait for the Slack work it queued."""
    heartbeat(bot.service, bot.queue, bot.settings.heartbeat_seconds)
    assert bot.wait_idle(SYNC_TIMEOUT), "Slack sync did not finish"


def beat_at(h, clock, after: timedelta) -> None:
    clock.after(after)
    beat(h.bot)


def texts(h, channel):
    return [m.text for m in h.slack.channel(channel).messages]


def status_updates(h, channel, *, in_thread: bool = False):
    return [
        m
        for m in h.slack.channel(channel).messages
        if m.text.startswith(":rotating_light: *Incident INC-1") and bool(m.thread_ts) == in_thread
    ]


def reannouncements(h):
    return [t for t in texts(h, h.announcements) if "still not acknowledged" in t]


def notices(h, kind: str | None = None):
    return [
        e
        for e in h.bot.store.load(1)
        if e.type == ev.NoticeDue.TYPE and (kind is None or data_of(e)["kind"] == kind)
    ]


def test_status_updates_reminders_and_reannouncement_arrive_on_cadence(h, clock):
    """SEV1 on a 15-minute cadence: nothing early; the unacknowledged incident is re-announced at
    10 minutes mentioning its responders; each cadence brings a status update, in the channel and
    the thread, saying when the next is due; the commander is reminded, then the channel gets @here."""
    h.command("declare sev1 API error rate above 5%", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    beat_at(h, clock, 10 * M - S)
    assert notices(h) == [] and len(h.slack.channel(inc).messages) == 1  # only the summary
    beat_at(h, clock, 10 * M)
    (reannounced,) = reannouncements(h)
    assert f"<@{ONCALL}>" in reannounced and f"<@{ALICE}>" in reannounced
    beat_at(h, clock, 15 * M - S)
    assert status_updates(h, inc) == []
    beat_at(h, clock, 15 * M)
    (update,) = status_updates(h, inc)
    assert "Status: Investigating · Severity: SEV1" in update.text
    assert "Started: 2026-02-04 14:32 UTC" in update.text and "Next update: 15:02 UTC" in update.text
    assert any(t.startswith(f":alarm_clock: <@{ALICE}>, an update on *INC-1* is due") for t in texts(h, inc))
    assert not any("<!here>" in t for t in texts(h, inc))
    beat_at(h, clock, 30 * M)
    assert "Next update: 15:17 UTC" in status_updates(h, inc)[-1].text
    assert any(t.startswith("<!here> :alarm_clock: *INC-1* has had no update") for t in texts(h, inc))
    beat_at(h, clock, 45 * M)
    assert len(status_updates(h, inc)) == 3
    assert len(status_updates(h, h.announcements, in_thread=True)) == 3
    assert len(reannouncements(h)) == 1


def test_each_notice_is_posted_once_and_recorded_with_a_unique_key(h, clock):
    """Heartbeats repeated at the same moment add nothing: every NoticeDue has a unique key and
    exactly one message in Slack, and status updates are one cadence apart."""
    h.command("declare sev1 Checkout down", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    for minutes in (5, 10, 10, 15, 15, 20, 30, 30, 45, 45, 50):
        beat_at(h, clock, minutes * M)
    keys = [data_of(n)["key"] for n in notices(h)]
    assert len(keys) == len(set(keys))
    posted = [n for n in notices(h) if not data_of(n).get("superseded")]
    channel_posts = h.slack.channel(inc).messages[1:]  # after the summary
    announcement_posts = [m for m in h.slack.channel(h.announcements).messages if not m.thread_ts][1:]
    assert len(posted) == len(channel_posts) + len(announcement_posts)
    updates = notices(h, "status_update")
    assert [datetime.fromisoformat(data_of(n)["due_at"]) for n in updates] == [
        T0 + 15 * M,
        T0 + 30 * M,
        T0 + 45 * M,
    ]
    assert len({m.text for m in status_updates(h, inc)}) == len(status_updates(h, inc)) == 3
    assert len(status_updates(h, h.announcements, in_thread=True)) == 3


def test_after_downtime_one_catch_up_update_and_no_overtaken_reminder(h, clock):
    """No heartbeat for over an hour after a human update: one catch-up update, not one per missed
    slot; the reminder its @here follow-up overtook is recorded as superseded and not posted; then
    the cadence resumes from the catch-up."""
    h.command("declare sev1 Queue stuck", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    h.command("ack", channel=inc)
    clock.after(2 * M)
    h.command("update identified Draining the queue", channel=inc)
    h.settle()
    beat_at(h, clock, 80 * M)  # slots at 17, 32, 47, 62 and 77 minutes were missed
    (update,) = status_updates(h, inc)
    assert "Next update: 16:07 UTC" in update.text
    assert [(data_of(n)["kind"], bool(data_of(n).get("superseded"))) for n in notices(h)] == [
        ("status_update", False),
        ("update_reminder", True),
        ("update_escalation", False),
    ]
    assert not any("an update on *INC-1* is due" in t for t in texts(h, inc))
    assert sum("<!here>" in t for t in texts(h, inc)) == 1
    beat_at(h, clock, 95 * M - S)
    assert len(status_updates(h, inc)) == 1
    beat_at(h, clock, 95 * M)
    assert len(status_updates(h, inc)) == 2


def test_resolve_stops_updates_and_the_postmortem_reminder_follows(h, clock):
    """After resolve no status update is due; the postmortem reminder comes once, two days on."""
    h.command("declare sev1 Queue stuck", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    clock.after(M)
    h.command("ack", channel=inc)
    h.command("resolve Drained the queue", channel=inc)
    h.settle()
    for after in (15 * M, 30 * M, timedelta(days=2) + M - S):
        beat_at(h, clock, after)
    assert notices(h) == []
    beat_at(h, clock, timedelta(days=2) + M)
    beat_at(h, clock, timedelta(days=3))
    assert status_updates(h, inc) == []
    reminders = [t for t in texts(h, inc) if "postmortem" in t]
    assert len(reminders) == 1 and "Time to write its postmortem" in reminders[0]


def test_a_429_is_waited_out_and_the_update_is_then_posted_exactly_once(h, clock, monkeypatch):
    """Slack answers 429 to a scheduled status update: the client waits the Retry-After it was
    told, retries, and the update is posted once: one message for the slot, one successful
    chat.postMessage carrying it, and one record of it in the log."""
    waited = []
    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=waited.append))
    h.command("declare sev1 Search slow", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    h.command("ack", channel=inc)
    h.settle()
    h.slack.fail_next("chat.postMessage", status=429, retry_after=7)
    beat_at(h, clock, 15 * M)
    posts = h.slack.calls("chat.postMessage")
    (refused,) = [c for c in posts if c.status == 429]
    assert refused.params["channel"] == inc and refused.params["text"].startswith(
        ":rotating_light: *Incident"
    )
    assert len(waited) == 1 and waited[0] >= 7
    (update,) = status_updates(h, inc)
    assert update.text == refused.params["text"]
    carried = [c for c in posts if c.ok and c.params["channel"] == inc and c.params["text"] == update.text]
    assert len(carried) == 1
    (notice,) = notices(h, "status_update")
    recorded = [
        e
        for e in h.bot.store.load(1)
        if e.type == ev.SlackChannelMessagePosted.TYPE and data_of(e)["for_seq"] == notice.seq
    ]
    assert [data_of(e)["ts"] for e in recorded] == [update.ts]


def test_a_busy_channel_defers_only_the_posts_aimed_at_it(h, clock):
    """The announcement channel is at Slack's pace limit (other incidents' posts hold its next
    seconds) when a status update is due: the update and the reminder after it go out in the
    incident channel, only the copy under the announcement waits, and once that channel has room
    the heartbeat posts it, once."""
    h.command("declare sev1 Checkout down", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    h.command("ack", channel=inc)
    h.settle()
    seconds = [0.0]  # the pacer's clock, moved by the test; nobody really sleeps
    pacer = ChannelPacer(1.0, clock=lambda: seconds[0], sleep=lambda _: None)
    settings = h.bot.settings
    client = make_client(settings.bot_token, settings.slack_api_url)
    notifier = SlackNotifier(client, h.bot.service.messages, settings.policy, pacer)
    queue = SyncQueue(lambda number: h.bot.service.sync_slack(number, notifier))
    while pacer.wait(h.announcements, max_wait=MAX_PACING_WAIT) is not None:
        pass  # other posts take every slot of the announcement channel within MAX_PACING_WAIT

    def beat_with_paced_notifier() -> None:
        heartbeat(h.bot.service, queue, settings.heartbeat_seconds)
        assert queue.wait_idle(SYNC_TIMEOUT)

    try:
        clock.after(15 * M)
        beat_with_paced_notifier()
        (update,) = status_updates(h, inc)
        assert any(t.startswith(f":alarm_clock: <@{ALICE}>, an update on *INC-1*") for t in texts(h, inc))
        assert status_updates(h, h.announcements, in_thread=True) == []
        assert h.bot.store.with_slack_owed() == [1]
        beat_with_paced_notifier()
        assert status_updates(h, h.announcements, in_thread=True) == []  # still no room
        seconds[0] += 10
        beat_with_paced_notifier()
    finally:
        queue.shutdown()
    (reply,) = status_updates(h, h.announcements, in_thread=True)
    assert reply.text == update.text and status_updates(h, inc) == [update]
    assert h.bot.store.with_slack_owed() == []


def test_refresh_schedule_recomputes_the_cached_due_time_after_a_cadence_change(h, clock):
    """Restarted with a shorter SEV1 cadence (15 -> 5 minutes), refresh_schedule (run when the
    heartbeat starts) recomputes the cached next_due_at, so the update comes at 5 minutes."""
    h.command("declare sev1 Login failing", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    h.command("ack", channel=inc)
    h.settle()
    faster = replace(SCHEDULE, update_every={"sev1": 5 * M})
    restarted = build_bot(replace(h.bot.settings, policy=team_policy(schedule=faster)), clock=clock)
    try:
        clock.after(5 * M)
        # The index still holds the old cadence's due time: without a refresh nothing is due yet.
        assert restarted.store.due_for_schedule(clock()) == []
        restarted.service.refresh_schedule()
        assert restarted.store.due_for_schedule(clock()) == [1]
        beat(restarted)
    finally:
        restarted.close()
    (update,) = status_updates(h, inc)
    assert "Next update: 14:42 UTC" in update.text


def test_a_longer_cadence_moves_the_cached_due_time_instead_of_posting_early(h, clock):
    """Restarted with a longer SEV1 cadence (15 -> 60 minutes) and no refresh: the heartbeat at
    the old due time posts nothing and moves the cached time to the new cadence."""
    h.command("declare sev1 Login failing", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    h.command("ack", channel=inc)
    h.settle()
    slower = replace(SCHEDULE, update_every={"sev1": 60 * M})
    restarted = build_bot(replace(h.bot.settings, policy=team_policy(schedule=slower)), clock=clock)
    try:
        clock.after(15 * M)
        assert restarted.store.due_for_schedule(clock()) == [1]
        beat(restarted)
        assert status_updates(h, inc) == []
        assert restarted.store.due_for_schedule(T0 + 60 * M - S) == []
        assert restarted.store.due_for_schedule(T0 + 60 * M) == [1]
    finally:
        restarted.close()
