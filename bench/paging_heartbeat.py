"""How long the heartbeat takes to find due paging work with many incidents in escalation.

Run from the repository root:

    .venv/bin/python bench/paging_heartbeat.py [--incidents 1000] [--rounds 5]

Set-up (not timed): N open, unacknowledged SEV1 incidents on SQLite, each with the seed's
three-level policy copied into its log and level 1 paged (its DM delivered), on a weekly schedule.

Measured (best and median of --rounds):
* find, none due: the heartbeat's due-work finding one minute after level 1 (the index says nothing
  is due: one indexed query);
* find, all due: the same at level 1's timeout, when every incident's level 2 is due (the indexed
  query, then loading, replaying and judging each candidate's log);
* record, all due: the heartbeat's pass that decides level 2 for each (who is on call now) and
  appends it (once, not repeated: it changes the logs).
Goal: finding due work for 1,000 incidents in escalation under 100 ms.
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

from bot.config import policy_from_mapping  # noqa: E402
from bot.core import events as ev  # noqa: E402
from bot.core.events import NewEvent  # noqa: E402
from bot.core.paging import decide_paging  # noqa: E402
from bot.core.schedule import next_due_at  # noqa: E402
from bot.core.state import replay  # noqa: E402
from bot.render.renderer import Renderer  # noqa: E402
from bot.render.views import Messages  # noqa: E402
from bot.service import IncidentService  # noqa: E402
from bot.store.db import make_engine  # noqa: E402
from bot.store.event_store import EventStore  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)
WEEKLY = {"type": "weekly", "handoff_time": "09:00", "timezone": "America/New_York"}
CONFIG = {
    "people": {"Engineering Manager": "U0MANAGER"},
    "schedules": [
        {"name": "Primary", "rotation": WEEKLY, "users": ["U0ALICE01", "U0BOB0001"]},
        {"name": "Secondary", "rotation": WEEKLY, "users": ["U0CAROL01", "U0DAVE001"]},
    ],
    "escalation_policy": [
        {"targets": ["Primary"], "timeout": "5min"},
        {"targets": ["Secondary"], "timeout": "10min"},
        {"targets": ["Engineering Manager"]},
    ],
}


def build(service: IncidentService, count: int) -> None:
    who = service.on_call_now()
    policy = service.policy
    for number in range(1, count + 1):
        declared = NewEvent("U0ALICE01", T0, ev.IncidentDeclared(title=f"Bench {number}", severity="sev1"))
        first = ev.Event.stored(declared, 0, 1)
        stored = service.store.declare(declared, next_due_at(replay([first]), policy))
        channel = ev.SlackChannelCreated(channel_id=f"C{number:08d}", name=f"inc-{number}")

        def decide(state, stored=stored, channel=channel):
            paging = decide_paging(state, policy, who, T0)
            return [NewEvent("bot", T0, channel), *paging]

        state = service._append_decided(stored.incident, decide)
        assert state is not None
        page = state.paging.pages[0]
        user = state.paging.pages[0].payload.users[0]
        sent = ev.SlackPageSent(for_seq=page.seq, user=user, channel_id="D1", ts="1.1")
        service._append_decided(stored.incident, lambda s, sent=sent: [NewEvent("bot", T0, sent)])


def timed(fn, rounds: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore(make_engine(f"sqlite:///{tmp}/bench.db"))
        upgrade(store.engine)
        policy = policy_from_mapping(CONFIG)
        service = IncidentService(store, policy, Messages(Renderer(), policy), clock=lambda: T0)
        started = time.perf_counter()
        build(service, args.incidents)
        print(f"set-up: {args.incidents} incidents paged at level 1 in {time.perf_counter() - started:.1f} s")
        for label, at in (("none due", T0 + timedelta(minutes=1)), ("all due", T0 + timedelta(minutes=5))):
            times, due = timed(lambda at=at: service.find_due_work(at), args.rounds)
            print(
                f"find, {label}: {len(due)} incidents due; best {min(times):.1f} ms, "
                f"median {statistics.median(times):.1f} ms over {args.rounds} rounds"
            )
        service.clock = lambda: T0 + timedelta(minutes=5)
        times, touched = timed(service.run_schedule, 1)
        level_two = sum(1 for n in range(1, args.incidents + 1) if len(service.state_of(n).paging.pages) == 2)
        print(f"record, all due: level 2 paged for {level_two} incidents in {times[0]:.0f} ms")


if __name__ == "__main__":
    main()
