"""Ack latency of `/incident declare` under concurrency, next to a bare Bolt app that only acks.

Run from the repository root (the venv has the project installed):

    .venv/bin/python bench/ack_latency.py [--rounds N] [--latency SECONDS] [--database-url URL]
                                          [--posts-per-second RATE]

What it measures, all over real HTTP on 127.0.0.1:

* our bot (``bot.server.build_bot`` + waitress ``ServerThread``) talking to ``LocalSlack`` that adds
  ``--latency`` seconds (default 0.1) to every Web API call, on a fresh SQLite file in a temp dir
  (or ``--database-url``, e.g. a throwaway PostgreSQL database); the bot paces posts per channel at
  ``--posts-per-second`` (default 50, as the tests do: at Slack's real 1/s every declare's
  announcement in #incidents waits its turn, and draining 150 declares would take minutes);
* a bare ``slack_bolt.App`` served the same way (waitress + ``SlackRequestHandler``) whose
  ``/incident`` listener only calls ``ack("ok")``. It runs with ``process_before_response=True``
  like our bot (the listener on the request's thread); ``--bare-bolt-default`` runs it with
  Bolt's default instead, where the request thread polls for the ack every 10 ms.

For 1, 10 and 50 concurrent requests, each round starts c client threads at once (a barrier); each
sends one signed ``/incident declare`` and times it client-side (``time.perf_counter`` from just
before the send until the response is read). Rounds alternate between the two servers, and our
bot's background Slack work is drained (``queue.wait_idle``) before every round. A "no drain"
variant at 10 concurrent sends rounds back to back while that Slack work is still running.

Printed per level: p50, p99 and max in ms for both servers and the ours/bare ratio of p50 and p99.
At 50 concurrent it also counts requests over 3 s, lost declares (non-200, an exception, or an
acked incident missing from the event log) and how many declared incidents got their Slack channel
once the queue drained. The last line says whether the aims were met: at 10 concurrent p99 <= 250 ms
and <= 1.3x bare Bolt's p99; at 50 concurrent p99 <= 2x bare's, nothing over 3 s and nothing lost.
It always exits 0.
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.config import Settings
from bot.core.policy import Policy
from bot.local_slack import LocalSlack, SlackRequestSender
from bot.server import EVENTS_PATH, Bot, ServerThread, build_bot

LEVELS = (1, 10, 50)
DEFAULT_ROUNDS = {1: 100, 10: 10, 50: 3}
WARMUP_REQUESTS = 5
REQUEST_TIMEOUT = 10.0  # client-side; longer than Slack's 3 s so slow acks are measured, not cut
SLACK_DEADLINE = 3.0
DRAIN_TIMEOUT = 180.0
BARRIER_TIMEOUT = 30.0
AIM_P99_MS = 250.0
AIM_RATIO = 1.3  # p99 against bare Bolt at 10 concurrent
AIM_RATIO_50 = 2.0  # and at 50
USERS = [f"U0BENCH{i:03d}" for i in range(50)]
INCIDENT_KEY = re.compile(r"\*INC-(\d+)\*")


@dataclass
class Sample:
    seconds: float  # client-side, send to response read (or to the exception)
    status: int  # 0: no HTTP answer (the request raised)
    body: str


@dataclass
class Result:
    samples: list[Sample] = field(default_factory=list)

    @property
    def times_ms(self) -> list[float]:
        return sorted(s.seconds * 1000 for s in self.samples if s.status)

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile of the completed requests, in ms (nan if none completed)."""
        times = self.times_ms
        if not times:
            return math.nan
        return times[max(0, math.ceil(p / 100 * len(times)) - 1)]

    @property
    def errors(self) -> int:
        return sum(1 for s in self.samples if s.status != 200)

    @property
    def over_deadline(self) -> int:
        return sum(1 for s in self.samples if s.seconds > SLACK_DEADLINE)


@dataclass
class Target:
    name: str
    server: ServerThread
    sender_for: Callable[[], SlackRequestSender]


def build_bare(
    fake: LocalSlack, secret: str, process_before_response: bool
) -> tuple[ServerThread, ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="bare-listener")
    app = App(
        client=WebClient(token=fake.token, base_url=fake.base_url),
        signing_secret=secret,
        process_before_response=process_before_response,
        listener_executor=executor,
    )

    @app.command("/incident")
    def only_ack(ack: Ack) -> None:
        ack("ok")

    return ServerThread(SlackRequestHandler(app, path=EVENTS_PATH)).start(), executor


def run_round(target: Target, fake: LocalSlack, general: str, concurrency: int, label: str) -> list[Sample]:
    """c threads wait at a barrier, then each sends one declare and times it."""
    senders = [target.sender_for() for _ in range(concurrency)]
    urls = [fake.response_url() for _ in range(concurrency)]
    barrier = threading.Barrier(concurrency)
    samples: list[Sample | None] = [None] * concurrency

    def one(i: int) -> None:
        text = f"declare sev3 Bench {label} request {i}"
        try:
            barrier.wait(timeout=BARRIER_TIMEOUT)
        except threading.BrokenBarrierError:
            samples[i] = Sample(0.0, 0, "barrier broken")
            return
        start = time.perf_counter()
        try:
            reply = senders[i].slash_command(
                text, user_id=USERS[i % len(USERS)], channel_id=general, response_url=urls[i]
            )
        except Exception as exc:  # timeouts, resets: a lost request, not a crash of the bench
            samples[i] = Sample(time.perf_counter() - start, 0, repr(exc))
            return
        samples[i] = Sample(time.perf_counter() - start, reply.status, reply.body.decode(errors="replace"))

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BARRIER_TIMEOUT + REQUEST_TIMEOUT + 5)
    return [
        s if s is not None else Sample(BARRIER_TIMEOUT + REQUEST_TIMEOUT, 0, "client thread hung")
        for s in samples
    ]


def drain(bot: Bot) -> float:
    start = time.perf_counter()
    if not bot.queue.wait_idle(DRAIN_TIMEOUT):
        print(f"warning: Slack sync still busy after {DRAIN_TIMEOUT:.0f} s", file=sys.stderr)
    return time.perf_counter() - start


def fmt(value: float, width: int = 8, digits: int = 1) -> str:
    return f"{value:{width}.{digits}f}" if not math.isnan(value) else f"{'-':>{width}}"


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=0, help="rounds per level (default: 100 at c=1, 10 at c=10, 3 at c=50)"
    )
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the fake adds to each API call")
    parser.add_argument(
        "--posts-per-second", type=float, default=50.0, help="the bot's per-channel post pacing (Settings)"
    )
    parser.add_argument(
        "--bare-bolt-default",
        action="store_true",
        help="run the bare app with Bolt's default process_before_response=False (polls for the ack)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 0 or args.latency < 0 or args.posts_per_second <= 0:
        parser.error("--rounds and --latency must not be negative, --posts-per-second must be positive")

    # waitress warns "Task queue depth is N" whenever all its threads are busy; that is expected here.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="ack-bench-") as tmp:
        database_url = args.database_url or f"sqlite:///{Path(tmp) / 'incidents.db'}"
        return bench(
            database_url, args.rounds, args.latency, args.posts_per_second, not args.bare_bolt_default
        )


def bench(
    database_url: str, rounds_arg: int, latency: float, posts_per_second: float, bare_inline: bool = True
) -> int:
    fake = LocalSlack(latency=latency).start()
    for user in USERS:
        fake.add_user(user, user.lower())
    general = fake.add_channel("general", members=USERS)
    fake.add_channel("incidents", members=USERS[:2])
    secret = secrets.token_hex(16)
    settings = Settings(
        bot_token=fake.token,
        signing_secret=secret,
        database_url=database_url,
        slack_api_url=fake.base_url,
        policy=Policy(announcement_channel="#incidents"),
        posts_per_second=posts_per_second,
    )
    bot = build_bot(settings)
    ours_server = ServerThread(bot.wsgi).start()
    bare_server, bare_executor = build_bare(fake, secret, process_before_response=bare_inline)
    ours = Target(
        "ours",
        ours_server,
        lambda: SlackRequestSender(f"{ours_server.url}{EVENTS_PATH}", secret, timeout=REQUEST_TIMEOUT),
    )
    bare = Target(
        "bare",
        bare_server,
        lambda: SlackRequestSender(f"{bare_server.url}{EVENTS_PATH}", secret, timeout=REQUEST_TIMEOUT),
    )
    started = time.perf_counter()
    try:
        for target in (ours, bare):  # warm-up: imports, templates, pools, connections; discarded
            for _ in range(WARMUP_REQUESTS):
                run_round(target, fake, general, 1, "warmup")
        drain(bot)

        results: dict[tuple[int, str, str], Result] = {}
        extra: dict[str, float] = {}
        for level in LEVELS:
            rounds = rounds_arg or DEFAULT_ROUNDS[level]
            ours_res, bare_res = Result(), Result()
            heads_before = {h.number for h in bot.store.heads(limit=100_000)}
            created_before = sum(1 for c in fake.calls("conversations.create") if c.ok)
            drains = []
            for r in range(rounds):
                ours_res.samples += run_round(ours, fake, general, level, f"c{level} r{r}")
                drains.append(drain(bot))
                bare_res.samples += run_round(bare, fake, general, level, f"c{level} r{r}")
            results[(level, "drained", "ours")] = ours_res
            results[(level, "drained", "bare")] = bare_res
            if level == 50:
                extra["drain_s"] = max(drains)
                heads_after = {h.number for h in bot.store.heads(limit=100_000)}
                stored = heads_after - heads_before
                acked = [
                    int(m.group(1))
                    for s in ours_res.samples
                    if s.status == 200 and (m := INCIDENT_KEY.search(s.body))
                ]
                missing = len(set(acked) - stored)
                extra["sent"] = len(ours_res.samples)
                extra["acked"] = len(acked)
                extra["stored"] = len(stored)
                extra["lost"] = (
                    ours_res.errors + missing + (len(ours_res.samples) - ours_res.errors - len(acked))
                )
                created = sum(1 for c in fake.calls("conversations.create") if c.ok) - created_before
                with_channel = sum(
                    1 for h in bot.store.heads(limit=100_000) if h.number in stored and h.channel_id
                )
                extra["created"] = created
                extra["with_channel"] = with_channel

        # The realistic case: back-to-back rounds at 10 concurrent, Slack work still running.
        nodrain = Result()
        rounds = rounds_arg or DEFAULT_ROUNDS[10]
        drain(bot)
        for r in range(rounds):
            nodrain.samples += run_round(ours, fake, general, 10, f"c10 nodrain r{r}")
        extra["nodrain_drain_s"] = drain(bot)
        results[(10, "no drain", "ours")] = nodrain
    finally:
        ours_server.stop()
        bare_server.stop()
        bot.close()
        bare_executor.shutdown(wait=False, cancel_futures=True)
        fake.stop()

    report(results, extra, latency, database_url, time.perf_counter() - started)
    return 0


def report(
    results: dict[tuple[int, str, str], Result],
    extra: dict[str, float],
    latency: float,
    database_url: str,
    elapsed: float,
) -> None:
    db = database_url.split(":", 1)[0]
    print(f"ack latency of /incident declare, fake Slack +{latency * 1000:.0f} ms per API call, db={db}")
    print(
        f"{'conc':>4} {'variant':<9} {'server':<6} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}", end=""
    )
    print(f" {'>3s':>4} {'err':>4} {'p50 x':>6} {'p99 x':>6}")
    for (level, variant, server), res in results.items():
        bare = results[(level, "drained", "bare")]
        line = f"{level:>4} {variant:<9} {server:<6} {len(res.samples):>4} {fmt(res.percentile(50))}"
        line += f" {fmt(res.percentile(99))} {fmt(res.times_ms[-1] if res.times_ms else math.nan)}"
        line += f" {res.over_deadline:>4} {res.errors:>4}"
        if server == "ours":
            line += f" {fmt(ratio(res.percentile(50), bare.percentile(50)), 6, 2)}"
            line += f" {fmt(ratio(res.percentile(99), bare.percentile(99)), 6, 2)}"
        print(line)
    print(
        f"c=50: sent {extra['sent']:.0f}, acked as declared {extra['acked']:.0f}, in event log "
        f"{extra['stored']:.0f}, lost {extra['lost']:.0f}; over 3 s "
        f"{results[(50, 'drained', 'ours')].over_deadline}; channels created (conversations.create ok) "
        f"{extra['created']:.0f}, incidents with channel {extra['with_channel']:.0f}/{extra['stored']:.0f}"
        f" (queue drained within {extra['drain_s']:.1f} s of each round)"
    )
    print("ratios are ours/bare at the same concurrency (no drain: against bare at c=10, drained)")
    print(
        f"no-drain c=10: Slack backlog took {extra['nodrain_drain_s']:.1f} s to drain; total {elapsed:.0f} s"
    )

    c10, c10_bare = results[(10, "drained", "ours")], results[(10, "drained", "bare")]
    c50, c50_bare = results[(50, "drained", "ours")], results[(50, "drained", "bare")]
    nodrain = results[(10, "no drain", "ours")]
    misses = []
    p99, bare_p99 = c10.percentile(99), c10_bare.percentile(99)
    if not p99 <= AIM_P99_MS:
        misses.append(f"c=10 p99 {p99:.0f} ms > {AIM_P99_MS:.0f} ms")
    if not p99 <= AIM_RATIO * bare_p99:
        misses.append(f"c=10 p99 {ratio(p99, bare_p99):.2f}x bare > {AIM_RATIO}x")
    if not c50.percentile(99) <= AIM_RATIO_50 * c50_bare.percentile(99):
        misses.append(
            f"c=50 p99 {ratio(c50.percentile(99), c50_bare.percentile(99)):.2f}x bare > {AIM_RATIO_50}x"
        )
    if c50.over_deadline:
        misses.append(f"c=50 {c50.over_deadline} over 3 s")
    if extra["lost"]:
        misses.append(f"c=50 {extra['lost']:.0f} lost")
    nd_p99 = nodrain.percentile(99)
    nd_ok = nd_p99 <= AIM_P99_MS and nd_p99 <= AIM_RATIO * bare_p99 and not nodrain.errors
    verdict = "MET" if not misses else "MISSED: " + "; ".join(misses)
    print(
        f"aims (c=10 p99 <= {AIM_P99_MS:.0f} ms and <= {AIM_RATIO}x bare; c=50 p99 <= {AIM_RATIO_50}x bare, "
        "none > 3 s, none lost): "
        f"{verdict} | no-drain c=10 p99 {nd_p99:.0f} ms ({ratio(nd_p99, bare_p99):.2f}x bare): "
        f"{'within' if nd_ok else 'outside'} the c=10 aims"
    )


if __name__ == "__main__":
    sys.exit(main())
