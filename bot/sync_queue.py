"""Runs Slack syncs off the request thread: one at a time per incident, coalescing repeats."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot import logs
from bot.core.state import IncidentState

log = logging.getLogger(__name__)

After = Callable[[IncidentState | None], None]
# How long Slack work waits at most for a burst of acks to go out first, and how long without a
# request counts as the burst being over.
ACKS_FIRST_WAIT = 1.0
QUIET_FOR = 0.02


class RequestsInFlight:
    """Counts Slack requests being answered, so Slack work can let acks go first: an ack is due
    within 3 seconds, while an incident channel created a few milliseconds later is not noticed.
    Quiet means none is being answered and none started or ended in the last `QUIET_FOR`
    seconds (a burst waits in the server's queue between two of them)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._count = 0
        self._changed_at = clock()
        self._lock = threading.Condition()

    def __enter__(self) -> RequestsInFlight:
        with self._lock:
            self._count += 1
            self._changed_at = self._clock()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._count -= 1
            self._changed_at = self._clock()
            if self._count == 0:
                self._lock.notify_all()

    @property
    def count(self) -> int:
        """Requests being answered right now."""
        with self._lock:
            return self._count

    def wait_quiet(self, max_wait: float) -> None:
        """Until it is quiet, or `max_wait` seconds at most."""
        deadline = self._clock() + max_wait
        with self._lock:
            while True:
                now = self._clock()
                quiet_in = self._changed_at + QUIET_FOR - now
                if (self._count == 0 and quiet_in <= 0) or now >= deadline:
                    return
                self._lock.wait(timeout=min(max(quiet_in, QUIET_FOR), deadline - now))


class SyncQueue:
    """`request(n)` makes sure a sync of incident n starts after this call.

    A request for an incident already being synced marks it to run once more, so no two
    threads of this process ever talk to Slack about the same incident at the same time. With
    `acks_first`, a sync starts once no Slack request is being answered (at most `ACKS_FIRST_WAIT`).
    An `urgent` request (someone is waiting for it: a new incident's channel, an invite) has its
    own lane, so it never queues behind other incidents' routine posts.
    """

    def __init__(
        self,
        run: Callable[[int], IncidentState],
        workers: int = 8,
        acks_first: RequestsInFlight | None = None,
        urgent_workers: int = 4,
    ) -> None:
        self._run = run
        self._acks_first = acks_first
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slack-sync")
        self._urgent = ThreadPoolExecutor(max_workers=urgent_workers, thread_name_prefix="slack-sync-urgent")
        self._lock = threading.Condition()
        self._active: set[int] = set()
        self._again: set[int] = set()
        self._afters: dict[int, list[After]] = {}

    def request(self, incident: int, after: After | None = None, urgent: bool = False) -> None:
        with self._lock:
            if after is not None:
                self._afters.setdefault(incident, []).append(after)
            if incident in self._active:
                self._again.add(incident)
                return
            self._active.add(incident)
        (self._urgent if urgent else self._executor).submit(self._work, incident)

    def _work(self, incident: int) -> None:
        while True:
            with self._lock:
                afters = self._afters.pop(incident, [])
            with logs.bound(incident=incident, job_id=logs.new_id("sync")):
                state = self._sync_once(incident)
                for after in afters:
                    try:
                        after(state)
                    except Exception:
                        log.exception("INC-%s: follow-up after sync failed", incident)
            with self._lock:
                if incident in self._again:
                    self._again.discard(incident)
                    continue
                self._active.discard(incident)
                self._lock.notify_all()
                return

    def _sync_once(self, incident: int) -> IncidentState | None:
        if self._acks_first is not None:
            self._acks_first.wait_quiet(ACKS_FIRST_WAIT)
        try:
            return self._run(incident)
        except Exception:
            # The log still says what is owed; the heartbeat will try again.
            log.exception("INC-%s: Slack sync failed; will retry", incident)
            return None

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no sync is running or queued (tests and the demo use this)."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._active, timeout=timeout)

    def shutdown(self) -> None:
        self._urgent.shutdown(wait=True, cancel_futures=False)
        self._executor.shutdown(wait=True, cancel_futures=False)


class TrackingExecutor(ThreadPoolExecutor):
    """A thread pool that can tell when all the work given to it has finished; Bolt runs
    listeners on it, so shutdown (and tests) can wait for in-flight listeners. Work runs in a copy
    of the submitter's context, so what a request does after its ack is logged under its id."""

    def __init__(self, max_workers: int, thread_name_prefix: str = "") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, fn, /, *args, **kwargs):
        with self._idle:
            self._pending += 1
        try:
            future = super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        return future

    def _done(self, _future) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)
