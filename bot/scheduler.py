"""APScheduler wiring only: a heartbeat that asks the service what Slack work is still owed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot import logs
from bot.service import IncidentService
from bot.sync_queue import SyncQueue

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0


def lease_ttl(interval_seconds: float) -> timedelta:
    """The leader renews every heartbeat; after six missed beats (30 s by default) another takes over."""
    return timedelta(seconds=max(6 * interval_seconds, 2.0))


def heartbeat(
    service: IncidentService, queue: SyncQueue, interval_seconds: float = HEARTBEAT_SECONDS
) -> bool:
    """If this process holds the scheduler lease: record due notices, and queue every incident
    that owes Slack work (new notices, or steps that failed earlier). True if it held the lease."""
    if not service.hold_scheduler_lease(lease_ttl(interval_seconds)):
        return False
    noticed = service.run_schedule()
    try:
        service.run_oncall()  # handoffs and user groups; a failure here must not stop incidents' work
    except Exception:
        log.exception("on-call handoffs failed; the next heartbeat retries")
    try:
        service.run_slo_notices()  # an exhausted error budget, told once per window
    except Exception:
        log.exception("SLO budget notices failed; the next heartbeat retries")
    owing = service.incidents_owing_slack()
    for number in owing:
        queue.request(number)
    log.debug("heartbeat: %s notice(s) recorded, %s incident(s) owe Slack work", len(noticed), len(owing))
    return True


def start_heartbeat(
    service: IncidentService,
    queue: SyncQueue,
    interval_seconds: float = HEARTBEAT_SECONDS,
    on_beat: Callable[[bool], None] | None = None,
) -> BackgroundScheduler:
    """Run the heartbeat now and every interval. The scheduler holds no state of its own.
    `on_beat` hears of each heartbeat that completed, and whether it held the lease."""

    def beat() -> None:
        with logs.bound(job_id=logs.new_id("heartbeat")):
            try:
                leader = heartbeat(service, queue, interval_seconds)
            except Exception:
                log.exception("heartbeat failed; the next one retries")
                return
            if on_beat is not None:
                on_beat(leader)

    scheduler = BackgroundScheduler(
        timezone=UTC,
        # A late heartbeat still runs (no grace-period drop), once, never two at a time.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    scheduler.add_job(
        beat, "interval", seconds=interval_seconds, id="heartbeat", next_run_time=datetime.now(UTC)
    )
    scheduler.start()
    return scheduler
