"""Postmortem for an incident with 10,000 events, and metrics over 10,000 incidents.

Run from the repository root:

    .venv/bin/python bench/postmortem_metrics.py [--events 10000] [--incidents 10000] [--runs 7]
                                                  [--database-url URL]

Both read from a database built first (not timed; a SQLite file in a temporary folder unless
--database-url names an empty one): one incident with N events (updates, notes, pins and Slack
bookkeeping in the mix a long incident has), and M resolved incidents of about a dozen events each
spread over 30 days. Timed, end to end as the CLI does it: loading the log(s), replaying (the
metrics fold their events instead), rendering the Markdown / computing the figures. Aims, on the
median of the runs: the postmortem under 1 s, the metrics under 0.5 s.
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

from sqlalchemy import insert  # noqa: E402

from bot.core import events as ev  # noqa: E402
from bot.core.events import Event  # noqa: E402
from bot.core.policy import Policy  # noqa: E402
from bot.core.state import replay  # noqa: E402
from bot.render.renderer import Renderer  # noqa: E402
from bot.render.views import Messages  # noqa: E402
from bot.service import IncidentService  # noqa: E402
from bot.store.db import make_engine  # noqa: E402
from bot.store.event_store import EVENTS, INCIDENTS, EventStore, head_of  # noqa: E402
from tests.events import E, data_of

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)


def long_incident(number: int, count: int) -> list[Event]:
    events = [
        E(number, 1, ev.IncidentDeclared.TYPE, "U0ALICE", T0, {"title": "Long outage", "severity": "sev1"})
    ]
    cycle = [
        (
            ev.StatusUpdated.TYPE,
            {"status": "identified", "from": "identified", "message": "Still working on it"},
        ),
        (ev.NoteAdded.TYPE, {"text": "Checked the replica lag again"}),
        (ev.SlackChannelMessagePosted.TYPE, {"for_seq": 0, "ts": "1.0"}),
        (ev.SlackThreadReplyPosted.TYPE, {"for_seq": 0, "ts": "1.0"}),
    ]
    while len(events) < count - 1:
        seq = len(events) + 1
        type_, data = cycle[seq % len(cycle)]
        if type_ == ev.NoteAdded.TYPE and seq % 40 == 0:
            type_ = ev.MessagePinned.TYPE
            at = (T0 + timedelta(seconds=seq * 30)).isoformat()
            data = {
                "message_ts": f"{seq}.000100",
                "author": "U0CAROL",
                "text": f"Graph {seq}",
                "message_at": at,
            }
        events.append(E(number, seq, type_, "U0BOB", T0 + timedelta(seconds=seq * 30), data))
    events.append(
        E(number, len(events) + 1, ev.IncidentResolved.TYPE, "U0ALICE", events[-1].at, {"summary": "Done"})
    )
    return events


def short_incident(number: int, start: datetime) -> list[Event]:
    steps = [
        (
            ev.IncidentDeclared.TYPE,
            0,
            {"title": f"Problem {number % 97}", "severity": f"sev{number % 4 + 1}"},
        ),
        (ev.SlackChannelCreated.TYPE, 0, {"channel_id": f"C{number}", "name": f"inc-{number}"}),
        (ev.IncidentAcknowledged.TYPE, 3, {}),
        (ev.StatusUpdated.TYPE, 9, {"status": "identified", "from": "investigating", "message": "m"}),
        (ev.SlackChannelMessagePosted.TYPE, 9, {"for_seq": 4, "ts": "1.0"}),
        (ev.IncidentMitigated.TYPE, 20 + number % 30, {"note": "n"}),
        (ev.IncidentResolved.TYPE, 60 + number % 90, {"summary": "s"}),
        (ev.ActionItemAdded.TYPE, 61, {"n": 1, "text": "t", "owner": "U0BOB", "due": "2026-03-01"}),
        (ev.PostmortemRequested.TYPE, 62, {"version": 1}),
        (ev.SlackPostmortemPublished.TYPE, 63, {"for_seq": 9, "version": 1, "file_id": "F", "sha256": "x"}),
    ]
    return [
        E(number, i, t, "U0ALICE", start + timedelta(minutes=m), d) for i, (t, m, d) in enumerate(steps, 1)
    ]


def store_logs(store: EventStore, logs: list[list[Event]]) -> None:
    """Bulk-load prepared logs (set-up only; the bot itself always appends through the store)."""
    with store.engine.begin() as conn:
        rows = [
            {
                "incident": e.incident,
                "seq": e.seq,
                "type": e.type,
                "actor": e.actor,
                "at": e.at,
                "data": data_of(e),
            }
            for log in logs
            for e in log
        ]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(EVENTS), rows[start : start + 5000])
        heads = [{"number": log[0].incident, **head_of(replay(log), False)} for log in logs]
        for start in range(0, len(heads), 5000):
            conn.execute(insert(INCIDENTS), heads[start : start + 5000])


def summary(timings: list[float], cpu: list[float]) -> str:
    """Wall-clock figures, and the median CPU time of this process (steadier on a shared machine)."""
    ms = [t * 1000 for t in timings]
    return (
        f"median {statistics.median(ms):.0f} ms, best {min(ms):.0f} ms, worst {max(ms):.0f} ms of {len(ms)}"
        f" (CPU median {statistics.median(cpu) * 1000:.0f} ms)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each (the median is judged)")
    parser.add_argument(
        "--database-url", help="an empty database; default: a SQLite file in a temporary folder"
    )
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-postmortem-')) / 'bench.db'}"
    store = EventStore(make_engine(url))
    store.create_schema()
    now = T0 + timedelta(days=30)
    print(
        f"setting up one incident of {args.events} events and {args.incidents} short incidents"
        f" ({store.engine.dialect.name}) ...",
        flush=True,
    )
    logs = [long_incident(1, args.events)]
    span = timedelta(days=30) / max(args.incidents, 1)
    logs += [short_incident(n, T0 + (n - 2) * span) for n in range(2, args.incidents + 2)]
    store_logs(store, logs)
    service = IncidentService(store, Policy(), Messages(Renderer(), Policy()))

    runs = max(args.runs, 1)
    timings, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        markdown = service.postmortem_markdown(1)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    postmortem = statistics.median(timings)
    rows = markdown.count("\n| 2026-")
    print(f"postmortem of INC-1 ({len(logs[0])} events, {rows} timeline rows, {len(markdown):,} bytes):")
    print(f"  {summary(timings, cpu)}   (aim: median < 1000 ms)")

    timings, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = service.metrics(T0 - timedelta(days=1), now)
        timings.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    metrics = statistics.median(timings)
    print(f"metrics over {result.incidents} incidents in the window:")
    print(f"  {summary(timings, cpu)}   (aim: median < 500 ms)")
    print(
        f"  (mean time to resolve {result.time_to_resolve.mean_seconds:.0f} s over {result.time_to_resolve.count})"
    )
    met = postmortem < 1.0 and metrics < 0.5
    print(f"aims (postmortem < 1 s, metrics < 0.5 s, median of {runs} each): {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
