"""The public status page under load: 1,000 incidents published over 90 days, then /status and
/api/v2/summary.json fetched by 20 concurrent clients from `incident-bot serve --status-page-only`.

Run from the repository root:

    .venv/bin/python bench/status_page.py [--incidents 1000] [--clients 20] [--requests 200]
                                          [--database-url URL]

Each incident has 8 internal events (declare, notes, updates) and 2-4 publications spread over the
90 days (most resolved, 5 still open), over 3 components. The server is a real process (waitress,
16 threads) on a SQLite file in a temporary folder unless --database-url is given. Each client holds
one keep-alive connection and asks for the two endpoints in turn, `--requests` times each.

Printed: the first request after a new publication (the view and the body rebuilt), then p50/p99
per endpoint at steady state; the aim is p99 under 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core import events as ev  # noqa: E402
from bot.core.state import replay  # noqa: E402
from bot.store.db import make_engine  # noqa: E402
from bot.store.event_store import EventStore  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from tests.events import E, N, data_of  # noqa: E402
from tests.processes import Serve  # noqa: E402

CONFIG = """\
status_page:
  title: Example Inc. status
  components:
    - {name: API, services: [checkout-api]}
    - {name: Dashboard}
    - {name: Webhooks}
"""
COMPONENTS = ("API", "Dashboard", "Webhooks")
STATES = ("degraded_performance", "partial_outage", "major_outage")
PATHS = ("/status", "/api/v2/summary.json")


def seed(store: EventStore, incidents: int, now: datetime, rng: random.Random) -> None:
    for n in range(incidents):
        start = now - timedelta(days=90) + timedelta(seconds=rng.uniform(0, 89.5 * 86400))
        declared = N(
            ev.IncidentDeclared.TYPE, "U0ALICE01", start, {"title": f"internal {n}", "severity": "sev2"}
        )
        number = store.declare(declared).incident
        new = []
        at = start
        for i in range(7):
            at += timedelta(minutes=rng.uniform(1, 20))
            new.append(N(ev.NoteAdded.TYPE, "U0BOB0001", at, {"text": f"note {i}"}))
        affected = rng.sample(COMPONENTS, rng.randint(1, 2))
        still_open = n >= incidents - 5
        steps = rng.randint(2, 4)
        for step in range(steps):
            at += timedelta(minutes=rng.uniform(5, 90))
            last = step == steps - 1 and not still_open
            status = "resolved" if last else ("investigating", "identified", "monitoring")[min(step, 2)]
            payload = {
                "public_title": f"Public incident {n}",
                "message": f"Update {step} on public incident {n}.",
                "status": status,
                "components": [
                    {"component": c, "status": "operational" if last else rng.choice(STATES)}
                    for c in affected
                ],
            }
            new.append(N(ev.StatusPagePublished.TYPE, "U0ALICE01", at, payload))
        events = store.load(number)
        numbered = [E(number, 1 + i, e.type, e.actor, e.at, data_of(e)) for i, e in enumerate(new, 1)]
        store.append(number, 1, new, replay([*events, *numbered]), owed=False)


def client(port: int, requests: int, timings: dict[str, list[float]], errors: list[str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(requests):
        for path in PATHS:
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                errors.append(f"{path}: {response.status}")
            timings[path].append(elapsed)
    connection.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200, help="per client and endpoint")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="status-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    store = EventStore(make_engine(url))
    upgrade(store.engine)
    now = datetime.now(UTC)
    began = time.perf_counter()
    seed(store, args.incidents, now, random.Random(13))
    publications = store.type_mark(ev.StatusPagePublished)[0]
    print(
        f"seeded {args.incidents} incidents, {publications} publications, {store.count_events()} events "
        f"in {time.perf_counter() - began:.1f} s ({url})"
    )
    config = folder / "bot.yml"
    config.write_text(CONFIG)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INCIDENT_BOT_", "DATABASE_URL"))
    }
    env.update(DATABASE_URL=url, INCIDENT_BOT_CONFIG=str(config))
    serve = Serve(env, "--status-page-only")
    try:
        for path in PATHS:
            connection = http.client.HTTPConnection("127.0.0.1", serve.port, timeout=30)
            started = time.perf_counter()
            connection.request("GET", path)
            connection.getresponse().read()
            print(
                f"first {path} after a publication (view and body built): {(time.perf_counter() - started) * 1000:.1f} ms"
            )
            connection.close()
        timings: dict[str, list[float]] = {p: [] for p in PATHS}
        errors: list[str] = []
        threads = [
            threading.Thread(target=client, args=(serve.port, args.requests, timings, errors))
            for _ in range(args.clients)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        total = sum(len(t) for t in timings.values())
        print(
            f"{args.clients} concurrent clients, {total} requests in {elapsed:.1f} s ({total / elapsed:.0f}/s)"
        )
        worst = 0.0
        for path in PATHS:
            p50, p99 = percentile(timings[path], 0.5) * 1000, percentile(timings[path], 0.99) * 1000
            worst = max(worst, p99)
            print(
                f"  {path}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, mean {statistics.mean(timings[path]) * 1000:.1f} ms"
            )
        if errors:
            print(f"errors: {len(errors)}, e.g. {errors[:3]}")
        print(f"aim p99 < 50 ms: {'met' if worst < 50 and not errors else 'NOT met'}")
    finally:
        serve.stop()
        store.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
