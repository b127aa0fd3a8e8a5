"""Eight people writing to one incident at once: how many notes are lost, and how long each waits.

Run from the repository root (the venv has the project installed):

    .venv/bin/python bench/concurrent_notes.py [--database-url URL] [--people 8] [--notes 20]

It declares one incident and brings its log to 150 events, then 8 people each send 20
`/incident note` commands as signed HTTP requests at the same time (each person one after the
other, the 8 in parallel). It prints how many notes were recorded and answered "Noted", and the
client-side p50/p99/max of the acks. It always exits 0.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.harness import ALICE, start_harness  # noqa: E402
from tests.test_manifest import manifest_bot_scopes  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--people", type=int, default=8)
    parser.add_argument("--notes", type=int, default=20)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-notes-')) / 'incidents.db'}"
    h = start_harness(url, manifest_bot_scopes())
    try:
        h.command("declare sev2 Busy incident", user=ALICE)
        h.settle()
        channel = h.incident_channel()
        while len(h.bot.store.load(1)) < 150:
            h.bot.service.handle_command("note warm-up", ALICE, channel)
        people = [f"U0P{i:06d}" for i in range(args.people)]
        for person in people:
            h.slack.add_user(person, person.lower())
        seconds: list[float] = []
        answers: list[str] = []
        lock = threading.Lock()

        def write(person: str) -> None:
            for n in range(args.notes):
                started = time.perf_counter()
                reply = h.command(f"note {person} says {n}", user=person, channel=channel)
                with lock:
                    seconds.append(time.perf_counter() - started)
                    answers.append(reply.text)

        threads = [threading.Thread(target=write, args=(p,)) for p in people]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        h.settle()
        sent = args.people * args.notes
        recorded = sum(1 for e in h.bot.store.load(1) if e.type == "NoteAdded" and " says " in e.payload.text)
        noted = sum(1 for a in answers if a.startswith("Noted on INC-1"))
        ms = sorted(s * 1000 for s in seconds)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        print(
            f"{args.people} people x {args.notes} notes on {url.split(':')[0]}: sent {sent}, recorded {recorded},"
        )
        print(f"answered 'Noted' {noted}, lost {sent - recorded}")
        print(f"ack latency: p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, max {ms[-1]:.1f} ms")
    finally:
        h.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
