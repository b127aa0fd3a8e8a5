"""The append-only event store on SQLite and PostgreSQL: numbering, conflicts, concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.core import events as ev
from bot.core.errors import ConcurrencyConflict
from bot.core.state import replay
from tests.events import E, N, data_of

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)


def declared(title="DB down", actor="U1"):
    return N(ev.IncidentDeclared.TYPE, actor, T0, {"title": title, "severity": "sev1", "commander": actor})


def append(store, number, new):
    events = store.load(number)
    last = events[-1].seq
    numbered = [E(number, last + i, e.type, e.actor, e.at, data_of(e)) for i, e in enumerate(new, 1)]
    return store.append(number, last, new, replay([*events, *numbered]), owed=True)


def test_declare_numbers_incidents_from_one(store):
    """Incidents are numbered 1, 2, 3 in declaration order; each log starts at seq 1."""
    numbers = [store.declare(declared(f"t{i}")).incident for i in range(3)]
    assert numbers == [1, 2, 3]
    assert [e.seq for e in store.load(2)] == [1]


def test_events_round_trip_with_utc_times_and_payload(store):
    """What is appended is loaded back unchanged, times timezone-aware UTC."""
    n = store.declare(declared()).incident
    note = N(ev.NoteAdded.TYPE, "U2", T0 + timedelta(seconds=90), {"text": "ünïcode & <b>"})
    append(store, n, [note])
    loaded = store.load(n)
    assert [(e.seq, e.type) for e in loaded] == [(1, ev.IncidentDeclared.TYPE), (2, ev.NoteAdded.TYPE)]
    assert loaded[1].at == T0 + timedelta(seconds=90) and loaded[1].at.tzinfo is not None
    assert data_of(loaded[1]) == {"text": "ünïcode & <b>"}


def test_stale_append_is_a_conflict_and_writes_nothing(store):
    """Two writers deciding on the same version: the second gets ConcurrencyConflict."""
    n = store.declare(declared()).incident
    events = store.load(n)
    note = N(ev.NoteAdded.TYPE, "U2", T0, {"text": "first"})
    state = replay(events)
    store.append(n, 1, [note], state, owed=True)
    with pytest.raises(ConcurrencyConflict):
        store.append(n, 1, [N(ev.NoteAdded.TYPE, "U3", T0, {"text": "second"})], state, owed=True)
    assert [data_of(e).get("text") for e in store.load(n)[1:]] == ["first"]


def test_heads_cache_follows_the_log(store):
    """The incidents table shows each incident's latest status and channel."""
    n = store.declare(declared()).incident
    append(
        store, n, [N(ev.SlackChannelCreated.TYPE, "bot", T0, {"channel_id": "C9", "name": "inc-1-db-down"})]
    )
    append(store, n, [N(ev.IncidentResolved.TYPE, "U1", T0, {"summary": "fixed"})])
    assert store.incident_for_channel("C9") == n
    assert store.heads(open_only=True) == []
    assert store.heads()[0].status == "resolved"


def test_slack_owed_flag_is_cleared_only_at_the_checked_version(store):
    """mark_slack_done does nothing if events arrived after the check."""
    n = store.declare(declared()).incident
    assert store.with_slack_owed() == [n]
    store.mark_slack_done(n, at_seq=0)
    assert store.with_slack_owed() == [n]
    store.mark_slack_done(n, at_seq=1)
    assert store.with_slack_owed() == []


def test_concurrent_declares_and_appends_lose_nothing(store):
    """16 threads declaring and appending at once: every event stored, no 'database is locked'."""
    errors: list[BaseException] = []
    numbers: list[int] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            n = store.declare(declared(f"t{i}")).incident
            with lock:
                numbers.append(n)
            for j in range(5):
                while True:
                    try:
                        append(store, n, [N(ev.NoteAdded.TYPE, "U1", T0, {"text": f"{i}-{j}"})])
                        break
                    except ConcurrencyConflict:
                        continue
            # Everyone also hammers incident 1, where conflicts are certain.
            while True:
                try:
                    append(store, 1, [N(ev.NoteAdded.TYPE, "U1", T0, {"text": f"shared-{i}"})])
                    break
                except (ConcurrencyConflict, IndexError):
                    continue
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(numbers) == list(range(1, 17))
    assert store.count_events() == 16 * (1 + 5) + 16
    shared = [data_of(e)["text"] for e in store.load(1) if data_of(e).get("text", "").startswith("shared-")]
    assert sorted(shared) == sorted(f"shared-{i}" for i in range(16))
    assert [e.seq for e in store.load(1)] == list(range(1, len(store.load(1)) + 1))
