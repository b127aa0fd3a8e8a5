"""How long one heartbeat takes with many open incidents, and how late their updates reach Slack.

Run from the repository root:

    .venv/bin/python bench/heartbeat.py [--incidents 1000] [--latency 0.05] [--thread-seconds 60]

Set-up (not timed): N open SEV1 incidents (15-minute cadence) whose Slack set-up is already done,
each with its own channel and an announcement in one shared #incidents channel, all with a status
update due now. The fake Slack adds --latency seconds to every Web API call and enforces Slack's
per-channel limit (about one post a second, bursts of 5) with real 429s.

Measured, in one heartbeat:
* find: the indexed query for incidents due, plus loading, replaying and deciding each one;
* record: the same pass appending the NoticeDue events (what the heartbeat really does);
* send: from the start of the heartbeat until every incident channel has its update (8 sync
  workers, each post paced per channel), and the lateness of each update against its due time;
* thread replies under the shared announcement: Slack's limit allows about one a second in one
  channel, so N replies need about N seconds. The script watches them for --thread-seconds and
  prints how many went out and at what rate; the time for all N is a projection and says so.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core import events as ev  # noqa: E402
from bot.core.policy import Policy, Schedule  # noqa: E402
from bot.core.schedule import next_due_at  # noqa: E402
from bot.core.state import replay  # noqa: E402
from bot.local_slack import LocalSlack  # noqa: E402
from bot.render.renderer import Renderer  # noqa: E402
from bot.render.views import Messages  # noqa: E402
from bot.service import IncidentService  # noqa: E402
from bot.slack.notifier import SlackNotifier, make_client  # noqa: E402
from bot.slack.pacing import ChannelPacer  # noqa: E402
from bot.store.db import make_engine  # noqa: E402
from bot.store.event_store import EventStore  # noqa: E402
from bot.sync_queue import SyncQueue  # noqa: E402
from tests.events import E, N, data_of

CADENCE = timedelta(minutes=15)
BOT, ALICE = "UBOT0001", "U0ALICE01"


def build_incidents(
    store: EventStore, slack: LocalSlack, policy: Policy, count: int, due_at: datetime
) -> None:
    announcements = slack.channel_by_name("incidents")
    assert announcements is not None
    declared_at = due_at - CADENCE
    for number in range(1, count + 1):
        channel = slack.add_channel(f"inc-{number}-bench", members=[ALICE, BOT])
        summary_ts = slack.post_as_user(channel, BOT, f"INC-{number} summary")
        announcement_ts = slack.post_as_user(announcements.id, BOT, f"INC-{number} declared")
        declared = N(
            ev.IncidentDeclared.TYPE, ALICE, declared_at, {"title": f"Bench {number}", "severity": "sev1"}
        )
        first = E(0, 1, declared.type, declared.actor, declared.at, data_of(declared))
        stored = store.declare(declared, next_due_at(replay([first]), policy))
        steps = [
            N(ev.IncidentAcknowledged.TYPE, ALICE, declared_at, {}),
            N(
                ev.SlackChannelCreated.TYPE,
                "bot",
                declared_at,
                {"channel_id": channel, "name": f"inc-{number}-bench"},
            ),
            N(ev.SlackMemberInvited.TYPE, "bot", declared_at, {"user": ALICE, "result": "invited"}),
            N(
                ev.SlackSummaryPosted.TYPE,
                "bot",
                declared_at,
                {"channel_id": channel, "ts": summary_ts, "for_seq": 2},
            ),
            N(ev.SlackSummaryPinned.TYPE, "bot", declared_at, {"ts": summary_ts}),
            N(ev.SlackTopicSet.TYPE, "bot", declared_at, {"for_seq": 2, "topic": "t"}),
            N(
                ev.SlackAnnouncementPosted.TYPE,
                "bot",
                declared_at,
                {"channel_id": announcements.id, "ts": announcement_ts},
            ),
            # The acknowledgement (event 2) was already shown in the channel and the thread.
            N(ev.SlackChannelMessagePosted.TYPE, "bot", declared_at, {"for_seq": 2, "ts": summary_ts}),
            N(ev.SlackThreadReplyPosted.TYPE, "bot", declared_at, {"for_seq": 2, "ts": announcement_ts}),
        ]
        events = [stored]
        for new in steps:
            numbered = E(stored.incident, len(events) + 1, new.type, new.actor, new.at, data_of(new))
            after = replay([*events, numbered])
            store.append(stored.incident, len(events), [new], after, False, next_due_at(after, policy))
            events.append(numbered)


def find_due(service: IncidentService, now: datetime) -> int:
    """What the heartbeat does before it writes: the indexed query, one batched read, the rules."""
    return len(service.find_due_work(now))


def update_times(slack: LocalSlack, count: int) -> list[float]:
    times = []
    for number in range(1, count + 1):
        channel = slack.channel_by_name(f"inc-{number}-bench")
        posts = [float(m.ts) for m in channel.messages if m.text.startswith(":rotating_light: *Incident")]
        times.extend(posts[:1])
    return times


def main() -> int:
    import logging

    logging.basicConfig(level=logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the fake adds to each call")
    parser.add_argument("--thread-seconds", type=float, default=60.0, help="how long to watch thread replies")
    parser.add_argument("--database-url", help="default: a new SQLite file in a temp folder")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-heartbeat-')) / 'bench.db'}"
    policy = Policy(
        schedule=Schedule(update_every={"sev1": CADENCE}, ack_timeout=None, postmortem_after=None)
    )
    with LocalSlack(latency=args.latency, post_rate_per_channel=1.0) as slack:
        slack.add_user(ALICE, "alice")
        slack.add_user(BOT, "incident-bot", is_bot=True)
        slack.add_channel("incidents", members=[ALICE])
        store = EventStore(make_engine(url))
        store.create_schema()
        due_at = datetime.now(UTC)
        print(f"setting up {args.incidents} open SEV1 incidents on {url.split(':')[0]} ...", flush=True)
        build_incidents(store, slack, policy, args.incidents, due_at)
        now = datetime.now(UTC)

        started = time.perf_counter()
        due_numbers = store.due_for_schedule(now)
        query_ms = (time.perf_counter() - started) * 1000
        messages = Messages(Renderer(), policy)
        service = IncidentService(store, policy, messages)
        started = time.perf_counter()
        found = find_due(service, now)
        find_ms = (time.perf_counter() - started) * 1000
        client = make_client(slack.token, slack.base_url)
        notifier = SlackNotifier(client, messages, policy, ChannelPacer(1.0))
        queue = SyncQueue(lambda n: service.sync_slack(n, notifier), workers=8)
        beat_started_wall = time.time()
        started = time.perf_counter()
        recorded = service.run_schedule()
        record_ms = (time.perf_counter() - started) * 1000
        for number in service.incidents_owing_slack():
            queue.request(number)
        queue.wait_idle(600)
        channels_done_s = time.perf_counter() - started
        times = update_times(slack, args.incidents)
        late = [t - due_at.timestamp() for t in times]

        # Thread replies drain at Slack's per-channel pace; keep re-queueing as the heartbeat would.
        thread_started = time.perf_counter()
        while time.perf_counter() - thread_started < args.thread_seconds and service.incidents_owing_slack():
            for number in service.incidents_owing_slack():
                queue.request(number)
            queue.wait_idle(60)
            time.sleep(1.0)
        watched = time.perf_counter() - thread_started
        announcements = slack.channel_by_name("incidents")
        replies = [m for m in announcements.messages if m.thread_ts]
        queue.shutdown()
        errors_429 = sum(1 for c in slack.calls("chat.postMessage") if c.status == 429)

    n = args.incidents
    print(f"incidents due by the index: {len(due_numbers)}; with notices due by the rules: {found}")
    print(
        f"find due work (indexed query, batched read, rules): {find_ms:8.1f} ms   [query alone {query_ms:.1f} ms]"
    )
    print(
        f"record NoticeDue events for all:                     {record_ms:8.1f} ms   ({len(recorded)} incidents)"
    )
    print(
        f"every incident channel has its update after:         {channels_done_s:8.2f} s    ({len(times)}/{n})"
    )
    if late:
        print(
            f"lateness vs due time: p50 {statistics.median(late):.2f} s, max {max(late):.2f} s "
            f"(cadence {CADENCE.total_seconds() / 60:.0f} min; set-up ended {now.timestamp() - due_at.timestamp():.1f} s after due)"
        )
    rate = len(replies) / watched if watched else 0.0
    print(f"thread replies under #incidents in {watched:.0f} s: {len(replies)}/{n} ({rate:.2f}/s)")
    if len(replies) < n and rate:
        print(
            f"  projection, not measured: all {n} thread replies would take about {n / rate / 60:.1f} min at that rate"
        )
    print(
        f"429s from the fake Slack: {errors_429}; heartbeat started {time.time() - beat_started_wall:.0f} s ago"
    )
    aims = find_ms < 100 and bool(late) and max(late) < CADENCE.total_seconds()
    print(f"aims (find < 100 ms; every channel update within the cadence): {'met' if aims else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
