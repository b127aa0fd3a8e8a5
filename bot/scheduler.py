"""APScheduler wiring only: a heartbeat that asks the service what Slack work is still owed."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from bot.service import IncidentService
from bot.sync_queue import SyncQueue

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15


def start_heartbeat(
    service: IncidentService, queue: SyncQueue, interval_seconds: float = HEARTBEAT_SECONDS
) -> BackgroundScheduler:
    """Every interval (and once at start), queue a sync for each incident the log says owes Slack work."""

    def heartbeat() -> None:
        for number in service.incidents_owing_slack():
            queue.request(number)

    scheduler = BackgroundScheduler(
        timezone=UTC,
        # A late heartbeat still runs (no grace-period drop), once, never two at a time.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    scheduler.add_job(
        heartbeat, "interval", seconds=interval_seconds, id="heartbeat", next_run_time=datetime.now(UTC)
    )
    scheduler.start()
    return scheduler
