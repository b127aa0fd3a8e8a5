"""Round trips of one declare's Slack sync: log loads, replays and write transactions.

Run from the repository root (the venv has the project installed):

    .venv/bin/python bench/sync_round_trips.py

It declares one SEV1 incident (two responders, so there are invites) through the service on a
fresh SQLite file, then runs the Slack sync against the local Slack until nothing is owed, and
counts, during the sync only:

* whole-log loads (`EventStore.load` without a type filter) and filtered loads;
* replays (every module's reference to `bot.core.state.replay` is wrapped);
* write transactions (`EventStore._write`) and Web API calls.

It prints the counts and the sync's wall time; it always exits 0.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bot.core.state as state_module  # noqa: E402
from bot.core.policy import DEFAULT_SEVERITIES, Policy, SeverityLevel  # noqa: E402
from bot.local_slack import LocalSlack  # noqa: E402
from bot.render.renderer import Renderer  # noqa: E402
from bot.render.views import Messages  # noqa: E402
from bot.service import IncidentService  # noqa: E402
from bot.slack.notifier import SlackNotifier, make_client  # noqa: E402
from bot.slack.pacing import ChannelPacer  # noqa: E402
from bot.store.db import make_engine  # noqa: E402
from bot.store.event_store import EventStore  # noqa: E402

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
counts: Counter[str] = Counter()


def _wrap_replay() -> None:
    original = state_module.replay

    def counted(events):  # type: ignore[no-untyped-def]
        counts["replays"] += 1
        return original(events)

    for module in list(sys.modules.values()):
        if getattr(module, "replay", None) is original and module.__name__.startswith("bot"):
            module.replay = counted  # type: ignore[attr-defined]


windows: list[float] = []  # seconds from Slack's answer to its result being committed


def _wrap_notifier(notifier: SlackNotifier, service: IncidentService) -> None:
    """Time the window in which a crash would repeat a step: from Slack's answer to the commit."""
    perform, record = notifier.perform, service._record_result
    answered: list[float] = []

    def timed_perform(step, state, now):  # type: ignore[no-untyped-def]
        result = perform(step, state, now)
        answered.append(time.perf_counter())
        return result

    def timed_record(state, new):  # type: ignore[no-untyped-def]
        result = record(state, new)
        if answered:
            windows.append(time.perf_counter() - answered.pop())
        return result

    notifier.perform = timed_perform  # type: ignore[method-assign]
    service._record_result = timed_record  # type: ignore[method-assign]


def _wrap_store(store: EventStore) -> None:
    load, write = store.load, store._write

    def counted_load(incident, types=None):  # type: ignore[no-untyped-def]
        counts["whole-log loads" if types is None else "filtered loads"] += 1
        return load(incident, types) if types is not None else load(incident)

    def counted_write():  # type: ignore[no-untyped-def]
        counts["write transactions"] += 1
        return write()

    store.load = counted_load  # type: ignore[method-assign]
    store._write = counted_write  # type: ignore[method-assign]


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="sync-round-trips-"))
    severities = tuple(
        SeverityLevel(s.name, s.description, (BOB, CAROL) if s.name == "sev1" else ())
        for s in DEFAULT_SEVERITIES
    )
    policy = Policy(severities=severities, announcement_channel="#incidents")
    with LocalSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
            slack.add_user(user, name)
        general = slack.add_channel("general", members=[ALICE, BOB, CAROL])
        slack.add_channel("incidents", members=[ALICE, BOB])
        store = EventStore(make_engine(f"sqlite:///{folder / 'incidents.db'}"))
        store.create_schema()
        messages = Messages(Renderer(), policy)
        notifier = SlackNotifier(
            make_client(slack.token, slack.base_url), messages, policy, ChannelPacer(100)
        )
        service = IncidentService(store, policy, messages, slack=notifier)
        outcome = service.handle_command("declare sev1 API error rate above 5%", ALICE, general)
        assert outcome.incident is not None
        _wrap_replay()
        _wrap_store(store)
        _wrap_notifier(notifier, service)
        calls_before = len(slack.calls())
        started = time.perf_counter()
        state = service.sync_slack(outcome.incident, notifier)
        elapsed = time.perf_counter() - started
        counts["Web API calls"] = len(slack.calls()) - calls_before
        store.engine.dispose()
    print(
        f"one declare's Slack sync ({state.last_seq} events in the log afterwards), {elapsed * 1000:.0f} ms:"
    )
    for name in ("Web API calls", "whole-log loads", "filtered loads", "replays", "write transactions"):
        print(f"  {name:20} {counts[name]}")
    if windows:
        ms = sorted(w * 1000 for w in windows)
        print(
            f"a process killed between Slack's answer and its record repeats that post after restart; "
            f"that window per step: median {ms[len(ms) // 2]:.2f} ms, max {ms[-1]:.2f} ms ({len(ms)} steps)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
