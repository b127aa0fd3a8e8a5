"""Scheduled updates across a real `incident-bot serve` process that is SIGKILLed and restarted:
each status update must reach Slack exactly once, none may be skipped. This is the one scheduled
test on the wall clock, because only a real process can really die; two instances sharing a
database, and the leases between them, are tested on a driven clock in test_scheduled_leases.py."""

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.core import events as ev
from bot.local_slack import LocalSlack, SlackRequestSender
from bot.store.db import make_engine
from bot.store.event_store import EventStore
from tests.events import data_of
from tests.harness import ALICE, BOB, wait_for
from tests.processes import Serve

ROOT = Path(__file__).resolve().parents[1]
CADENCE = 2.0
HEARTBEAT = 0.25
CONFIG = f"""
announcement_channel: "#incidents"
heartbeat_seconds: {HEARTBEAT}
posts_per_second: 20
updates:
  every: {{sev1: {CADENCE}s}}
  mitigated_every: off
  ack_timeout: off
  postmortem_after: off
"""


@pytest.fixture
def world(database_url, tmp_path):
    slack = LocalSlack(
        scopes={"commands", "chat:write", "chat:write.public", "channels:manage", "pins:write"}
    )
    slack.start()
    for user, name in ((ALICE, "alice"), (BOB, "bob")):
        slack.add_user(user, name)
    general = slack.add_channel("general", members=[ALICE, BOB])
    slack.add_channel("incidents", members=[ALICE, BOB])
    config = tmp_path / "bot.yml"
    config.write_text(CONFIG)
    secret = secrets.token_hex(8)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_BOT_", "DATABASE_URL"))
    }
    env.update(
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET=secret,
        SLACK_API_URL=slack.base_url,
        DATABASE_URL=database_url,
        INCIDENT_BOT_CONFIG=str(config),
    )
    processes: list[Serve] = []

    def serve() -> Serve:
        process = Serve(env)
        processes.append(process)
        return process

    store = EventStore(make_engine(database_url))
    yield slack, general, secret, serve, store
    for process in processes:
        process.stop()
    store.engine.dispose()
    slack.stop()


def declare(slack, general, secret, process) -> str:
    sender = SlackRequestSender(f"http://127.0.0.1:{process.port}/slack/events", secret)
    reply = sender.slash_command(
        "declare sev1 Payments failing", user_id=ALICE, channel_id=general, response_url=slack.response_url()
    )
    assert reply.status == 200 and "INC-1" in reply.text
    assert wait_for(lambda: slack.channel_by_name("inc-1-payments-failing") is not None)
    return slack.channel_by_name("inc-1-payments-failing").id


def update_times(slack, channel) -> list[float]:
    messages = slack.channel(channel).messages
    return [float(m.ts) for m in messages if m.text.startswith(":rotating_light: *Incident INC-1")]


def quiet(store, slack, channel, at_least) -> bool:
    """At least N updates are out, the log owes Slack nothing and no process holds an incident's
    sync lease: a moment with no post in flight."""
    if len(update_times(slack, channel)) < at_least or store.with_slack_owed():
        return False
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM leases WHERE name LIKE 'incident:%'")).scalar() == 0


def assert_exactly_once(store, slack, channel) -> None:
    notices = [
        e for e in store.load(1) if e.type == ev.NoticeDue.TYPE and data_of(e)["kind"] == "status_update"
    ]
    keys = [data_of(n)["key"] for n in notices]
    assert len(keys) == len(set(keys)), "a status update slot was decided twice"
    assert len(update_times(slack, channel)) == len(notices), "Slack and the log disagree on updates sent"


def gaps(times):
    return [round(b - a, 2) for a, b in zip(times, times[1:], strict=False)]


def test_sigkill_and_restart_resumes_with_no_missing_and_no_duplicate_update(world):
    """Kill -9 mid-incident, stay down over two cadences, restart: one catch-up update, then the cadence."""
    slack, general, secret, serve, store = world
    first = serve()
    channel = declare(slack, general, secret, first)
    assert wait_for(lambda: quiet(store, slack, channel, 1))
    first.kill()
    killed_at = time.time()
    before = update_times(slack, channel)
    # Stay down until two more slots have passed, so that a restart posting one update per missed
    # slot would show as a burst. Slots run from when an update was decided, which is before it
    # reached Slack, so two cadences after the last post is enough.
    time.sleep(max(0.0, before[-1] + 2 * CADENCE - time.time()))
    second = serve()
    assert wait_for(lambda: len(update_times(slack, channel)) >= len(before) + 2)
    second.stop()
    times = update_times(slack, channel)
    after = [t for t in times if t > killed_at]
    assert after[0] - second.started_at < 8.0, "no prompt catch-up after restart"
    assert after[1] - after[0] >= CADENCE * 0.9, "a burst of catch-up updates instead of one"
    running = gaps(before) + gaps(after)
    assert all(CADENCE * 0.9 <= g <= CADENCE + 2.0 for g in running), running
    assert_exactly_once(store, slack, channel)


def scheduler_holder(store) -> str | None:
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT holder FROM leases WHERE name = 'scheduler'")).scalar()


def test_sigterm_answers_the_request_in_flight_and_hands_over_to_the_other_replica_at_once(world, tmp_path):
    """Two replicas on one database. SIGTERM the one holding the scheduler lease just as a
    declaration reaches it (Slack is slow): the declaration is answered, the process exits 0
    having given up its leases, and the other replica takes the scheduler over at its next
    heartbeat, well before the lease would have lapsed. The incident's channel is made once."""
    slack, general, secret, serve, store = world
    heartbeat = 2.0  # the lease lasts 6 beats: 12 s
    (tmp_path / "bot.yml").write_text(
        CONFIG.replace(f"heartbeat_seconds: {HEARTBEAT}", f"heartbeat_seconds: {heartbeat}")
    )
    first = serve()
    assert wait_for(lambda: (scheduler_holder(store) or "").split(":")[1:2] == [str(first.process.pid)])
    second = serve()
    slack.latency = 0.3  # every Web API call is slow, so Slack work is in progress at SIGTERM
    sender = SlackRequestSender(f"http://127.0.0.1:{first.port}/slack/events", secret)
    replies = []
    request = threading.Thread(
        target=lambda: replies.append(
            sender.slash_command(
                "declare sev1 Payments failing",
                user_id=ALICE,
                channel_id=general,
                response_url=slack.response_url(),
            )
        )
    )
    request.start()
    time.sleep(0.05)
    assert first.terminate() == 0, "".join(first.stderr)
    stopped_at = time.monotonic()
    request.join(10)
    assert replies and replies[0].status == 200 and "INC-1" in replies[0].text
    log = "".join(first.stderr)
    assert "SIGTERM: taking no new requests" in log and "stopped cleanly" in log
    assert str(first.process.pid) not in (scheduler_holder(store) or ""), "the lease was not given up"
    assert wait_for(lambda: str(second.process.pid) in (scheduler_holder(store) or ""), timeout=30)
    took_over_in = time.monotonic() - stopped_at
    assert took_over_in < 3 * heartbeat, f"the other replica took {took_over_in:.1f} s to take over"
    assert wait_for(
        lambda: slack.channel_by_name("inc-1-payments-failing") is not None and not store.with_slack_owed()
    )
    assert slack.channel_by_name("inc-1-payments-failing-2") is None, "the channel was made twice"
    created = [e for e in store.load(1) if e.type == ev.SlackChannelCreated.TYPE]
    assert len(created) == 1
