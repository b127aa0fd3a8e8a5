"""Scheduled notices end to end: a cadence of a second, watched in the strict fake Slack."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from bot.core import events as ev
from bot.core.policy import Schedule
from tests.events import data_of
from tests.harness import ALICE, ONCALL, start_harness, team_policy, wait_for
from tests.test_manifest import manifest_bot_scopes

CADENCE = 1.0


@pytest.fixture
def h(database_url):
    schedule = Schedule(
        update_every={"sev1": timedelta(seconds=CADENCE)},
        mitigated_every=timedelta(seconds=3 * CADENCE),
        ack_timeout=timedelta(seconds=CADENCE),
        postmortem_after=timedelta(seconds=CADENCE),
    )
    harness = start_harness(database_url, manifest_bot_scopes(), policy=team_policy(schedule=schedule))
    yield harness
    harness.close()


def texts(h, channel):
    return [m.text for m in h.slack.channel(channel).messages]


def status_updates(h, channel):
    return [
        m for m in h.slack.channel(channel).messages if m.text.startswith(":rotating_light: *Incident INC-1")
    ]


def test_status_updates_reminders_and_reannouncement_arrive_on_cadence(h):
    """SEV1 with a 1 s cadence: status updates say when the next is due; the commander is reminded,
    then a wider mention; the unacknowledged incident is re-announced mentioning its responders."""
    h.command("declare sev1 API error rate above 5%", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    h.bot.start_heartbeat(interval_seconds=0.1)
    assert wait_for(lambda: len(status_updates(h, inc)) >= 3)
    update = status_updates(h, inc)[0].text
    assert "Status: Investigating · Severity: SEV1" in update and "Next update:" in update
    joined = "\n".join(texts(h, inc))
    assert f"<@{ALICE}>, an update on *INC-1* is due" in joined
    assert "<!here> :alarm_clock: *INC-1* has had no update" in joined
    announcements = texts(h, h.announcements)
    reannounced = [t for t in announcements if "still not acknowledged" in t]
    assert len(reannounced) == 1 and f"<@{ONCALL}>" in reannounced[0]
    thread = [m for m in h.slack.channel(h.announcements).messages if m.thread_ts]
    assert len([m for m in thread if m.text.startswith(":rotating_light: *Incident")]) >= 2


def test_each_notice_is_posted_once_and_recorded_with_a_unique_key(h):
    """Every NoticeDue in the log has a unique key and exactly one message in Slack."""
    h.command("declare sev1 Checkout down", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    h.bot.start_heartbeat(interval_seconds=0.1)
    assert wait_for(lambda: len(status_updates(h, inc)) >= 3)
    h.bot.stop_heartbeat()
    h.settle()
    notices = [e for e in h.bot.store.load(1) if e.type == ev.NoticeDue.TYPE]
    keys = [data_of(n)["key"] for n in notices]
    assert len(keys) == len(set(keys))
    posted = [n for n in notices if not data_of(n).get("superseded")]
    channel_posts = [m for m in h.slack.channel(inc).messages[1:]]
    announcement_posts = [m for m in h.slack.channel(h.announcements).messages if not m.thread_ts][1:]
    assert len(posted) == len(channel_posts) + len(announcement_posts)
    times = [float(m.ts) for m in status_updates(h, inc)]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert all(gap >= CADENCE * 0.9 for gap in gaps), gaps


def test_resolve_stops_updates_and_the_postmortem_reminder_follows(h):
    """After resolve no status update is due; the postmortem reminder comes once."""
    h.command("declare sev1 Queue stuck", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    h.command("ack", channel=inc)
    h.command("resolve Drained the queue", channel=inc)
    h.settle()
    h.bot.start_heartbeat(interval_seconds=0.1)
    assert wait_for(lambda: any("Time to write its postmortem" in t for t in texts(h, inc)))
    time.sleep(CADENCE * 2)
    assert status_updates(h, inc) == []
    assert len([t for t in texts(h, inc) if "postmortem" in t]) == 1


def test_a_429_is_waited_out_and_the_update_still_goes_out(h):
    """Slack answers 429 to a scheduled post: it is retried after Retry-After, posted once."""
    h.command("declare sev1 Search slow", user=ALICE)
    h.settle()
    inc = h.incident_channel()
    h.command("ack", channel=inc)
    h.settle()
    h.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    h.bot.start_heartbeat(interval_seconds=0.1)
    assert wait_for(lambda: len(status_updates(h, inc)) >= 1)
    assert any(c.status == 429 for c in h.slack.calls("chat.postMessage"))
    first = status_updates(h, inc)[0]
    assert [m.ts for m in h.slack.channel(inc).messages].count(first.ts) == 1
