"""How long a new incident waits for its channel while the bot works through a flood of commands.

Run from the repository root (the venv has the project installed):

    .venv/bin/python bench/channel_under_flood.py [--commands 5000] [--incidents 20] [--database-url URL]

It declares `--incidents` incidents, then sends `--commands` `/incident note` commands to them
over signed HTTP from 16 client threads, with the bot pacing posts at Slack's one a second per
channel, so their Slack work backs up. Half-way through the flood it declares one more incident
and times, from its ack, how long until its channel exists (the aim: under 5 s, whatever the
backlog). It prints that time, the flood's duration and the backlog left; it always exits 0.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.harness import ALICE, start_harness  # noqa: E402
from tests.test_manifest import manifest_bot_scopes  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=5000)
    parser.add_argument("--incidents", type=int, default=20)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file in a temp dir")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-flood-')) / 'incidents.db'}"
    h = start_harness(url, manifest_bot_scopes(), posts_per_second=1.0)
    try:
        for n in range(args.incidents):
            h.command(f"declare sev3 Flooded incident {n}", user=ALICE)
        h.settle()
        channels = [h.incident_channel(n) for n in range(1, args.incidents + 1)]
        sent = threading.Semaphore(0)

        def note(i: int) -> None:
            h.command(f"note flood {i}", user=ALICE, channel=channels[i % len(channels)])
            sent.release()

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=16) as pool:
            for i in range(args.commands):
                pool.submit(note, i)
            for _ in range(args.commands // 2):
                sent.acquire()
            reply = h.command("declare sev1 The new one", user=ALICE)
            acked = time.monotonic()
            number = args.incidents + 1
            waited = None
            while time.monotonic() - acked < 120:
                if h.bot.service.state_of(number).slack.channel_id is not None:
                    waited = time.monotonic() - acked
                    break
                time.sleep(0.02)
        flood = time.monotonic() - started
        owing = len(h.bot.service.incidents_owing_slack())
        print(
            f"flood: {args.commands} notes to {args.incidents} incidents in {flood:.1f} s; new declare: {reply.status}"
        )
        shown = f"{waited:.2f} s" if waited is not None else "not within 120 s"
        print(
            f"new incident's channel ready {shown} after its ack (aim < 5 s); incidents still owing Slack work: {owing}"
        )
    finally:
        h.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
