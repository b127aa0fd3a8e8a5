"""Acks go first: Slack work waits while Slack requests are being answered, but never for long."""

from __future__ import annotations

import threading

from bot.sync_queue import RequestsInFlight


def _waiter(in_flight: RequestsInFlight, max_wait: float) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def wait() -> None:
        in_flight.wait_quiet(max_wait)
        done.set()

    thread = threading.Thread(target=wait)
    thread.start()
    return thread, done


def test_slack_work_waits_while_a_request_is_answered_and_goes_once_it_is_quiet():
    """A sync held back by a request in flight starts once the request is answered."""
    in_flight = RequestsInFlight()
    with in_flight:
        thread, done = _waiter(in_flight, max_wait=30)
        assert not done.wait(0.2), "Slack work started while a request was still being answered"
    thread.join(timeout=5)
    assert done.is_set()


def test_slack_work_waits_at_most_max_wait():
    """Under endless requests Slack work still goes, after max_wait."""
    in_flight = RequestsInFlight()
    with in_flight:
        thread, done = _waiter(in_flight, max_wait=0.05)
        thread.join(timeout=5)
        assert done.is_set()


def test_an_idle_bot_starts_slack_work_without_waiting_for_a_request():
    """Nothing in flight and nothing recent: wait_quiet returns at once (a clock long past any request)."""
    ticks = iter(range(100, 10_000, 100))
    in_flight = RequestsInFlight(clock=lambda: float(next(ticks)))
    thread, done = _waiter(in_flight, max_wait=30)
    thread.join(timeout=5)
    assert done.is_set()


def test_a_new_incident_does_not_queue_behind_other_incidents_backlog():
    """Every routine worker is busy pacing other incidents' posts; an urgent sync (a new incident's
    channel) still runs at once, in its own lane."""
    from bot.sync_queue import SyncQueue

    release = threading.Event()
    ran_urgent = threading.Event()

    def run(incident: int):
        if incident == 99:
            ran_urgent.set()
        else:
            release.wait(timeout=30)
        return None

    queue = SyncQueue(run, workers=2, urgent_workers=1)
    try:
        for incident in range(1, 6):  # more backlog than routine workers
            queue.request(incident)
        queue.request(99, urgent=True)
        assert ran_urgent.wait(timeout=5), "the new incident waited behind the backlog"
    finally:
        release.set()
        queue.wait_idle(timeout=30)
        queue.shutdown()
