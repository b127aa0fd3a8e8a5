"""GET /metrics: the bot's own health in Prometheus's text format, through prometheus_client.

Counters and the ack histogram are counted as things happen (by the Slack transport, the Bolt
app, the alert intake and the heartbeat, through the small hooks they are given); the gauges
that describe incidents (open ones, Slack work owed) are read from the store at scrape time, so
every replica reports the same truth and a restart loses nothing. Each bot has its own
CollectorRegistry: tests that start several bots in one process never see each other's counts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.core.owed import owed_slack_work
from bot.core.state import replay
from bot.service import IncidentService

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
PREFIX = "incident_bot"
# Slack wants an ack within 3 s: the buckets are dense below that and stop just past it.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
# The classic text format, which every Prometheus reads (generate_latest writes it: every name
# here is plain ASCII, so nothing needs the escaping of the newer 1.0.0 format).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class BotMetrics:
    """One bot's metrics. The hooks (`command`, `acked`, `slack_call`, `slack_retry`, `alert`,
    `heartbeat_done`) are safe to call from any thread."""

    def __init__(self, service: IncidentService, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        # In the classic text format each counter's `_created` timestamp is one more gauge series:
        # noise for dashboards and alerts. The switch is the library's, process-wide.
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)
        self.commands = Counter(
            f"{PREFIX}_commands",
            "/incident commands handled, by verb and outcome (ok, refused: the person was told why, error)",
            ["verb", "outcome"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            f"{PREFIX}_ack_seconds",
            "Time from Bolt receiving a Slack request to its ack being ready, by kind of request",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.slack_calls = Counter(
            f"{PREFIX}_slack_calls",
            "Slack Web API calls as the bot made them (after slack_sdk's retries), by method and result",
            ["method", "result"],
            registry=self.registry,
        )
        self.slack_retries = Counter(
            f"{PREFIX}_slack_retries",
            "Slack Web API attempts retried by slack_sdk (429 waited out, 5xx, dropped connection)",
            ["method"],
            registry=self.registry,
        )
        self.alerts = Counter(
            f"{PREFIX}_alerts",
            "Alertmanager notifications received, by what the bot did with them",
            ["action"],
            registry=self.registry,
        )
        self.registry.register(StoreCollector(service, self))
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._heartbeat_from: float | None = None  # when the heartbeat was started, then last completed
        self._heartbeat_ttl = 0.0
        self._leader_until = 0.0

    # Hooks ----------------------------------------------------------------------------------

    def command(self, verb: str, outcome: str) -> None:
        self.commands.labels(verb=verb, outcome=outcome).inc()

    def acked(self, kind: str, seconds: float) -> None:
        self.ack_seconds.labels(kind=kind).observe(seconds)

    def slack_call(self, method: str, result: str) -> None:
        self.slack_calls.labels(method=method, result=result).inc()

    def slack_retry(self, method: str) -> None:
        self.slack_retries.labels(method=method).inc()

    def alert(self, action: str) -> None:
        self.alerts.labels(action=action).inc()

    def heartbeat_started(self, lease_ttl: timedelta) -> None:
        """The lag counts from here until the first heartbeat completes."""
        with self._lock:
            self._heartbeat_from = self._monotonic()
            self._heartbeat_ttl = lease_ttl.total_seconds()

    def heartbeat_done(self, leader: bool) -> None:
        """A heartbeat finished; `leader`: it held (took or renewed) the scheduler lease."""
        with self._lock:
            now = self._monotonic()
            self._heartbeat_from = now
            self._leader_until = now + self._heartbeat_ttl if leader else 0.0

    def heartbeat_stopped(self) -> None:
        """The lease is given up at shutdown: no longer the leader."""
        with self._lock:
            self._leader_until = 0.0

    def heartbeat_view(self) -> tuple[float | None, bool]:
        """(seconds since the last completed heartbeat, or None with no heartbeat running; leader)."""
        with self._lock:
            now = self._monotonic()
            lag = None if self._heartbeat_from is None else max(0.0, now - self._heartbeat_from)
            return lag, now < self._leader_until

    # Exposition -----------------------------------------------------------------------------

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def wsgi(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            body = b"GET only"
            start_response(
                "405 Method Not Allowed",
                [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), ("Allow", "GET, HEAD")],
            )
            return [body]
        body = self.exposition()
        start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


class StoreCollector(Collector):
    """Gauges read at scrape time: from the store (open incidents, Slack work owed) and from the
    heartbeat's last report (lag, leadership)."""

    def __init__(self, service: IncidentService, metrics: BotMetrics) -> None:
        self.service = service
        self.metrics = metrics

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(self._families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = self._families()
        try:
            self._fill(*families)
        except Exception:  # the database is away: the scrape still answers, without these samples
            log.warning("/metrics: could not read incidents from the store", exc_info=True)
        return iter(families)

    def _families(self) -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                f"{PREFIX}_incidents_open",
                "Incidents not yet resolved, by severity and status",
                labels=["severity", "status"],
            ),
            GaugeMetricFamily(
                f"{PREFIX}_owed_steps", "Slack (and PagerDuty, Statuspage) steps the log says are still owed"
            ),
            GaugeMetricFamily(
                f"{PREFIX}_owed_oldest_seconds",
                "Age of the oldest owed step, dated by the event that asked for it (0 when none is owed)",
            ),
            GaugeMetricFamily(
                f"{PREFIX}_heartbeat_lag_seconds",
                "Seconds since this process's last completed heartbeat (since its start before the first)",
            ),
            GaugeMetricFamily(
                f"{PREFIX}_scheduler_leader", "1 where this process holds the scheduler lease, else 0"
            ),
        ]

    def _fill(
        self,
        open_: GaugeMetricFamily,
        owed_steps: GaugeMetricFamily,
        owed_oldest: GaugeMetricFamily,
        lag: GaugeMetricFamily,
        leader: GaugeMetricFamily,
    ) -> None:
        since_beat, is_leader = self.metrics.heartbeat_view()
        if since_beat is not None:
            lag.add_metric([], since_beat)
        leader.add_metric([], 1.0 if is_leader else 0.0)
        store = self.service.store
        for severity, status, count in store.open_counts():
            open_.add_metric([severity, status], count)
        steps, oldest = 0, None
        for number in store.with_slack_owed():
            events = store.load(number)
            owed = owed_slack_work(replay(events), self.service.policy)
            if not owed:
                continue
            steps += len(owed)
            at_of = {e.seq: e.at for e in events}
            # A step with no event of its own (the channel, an invite, a pin) is dated by the
            # incident's latest event: a lower bound, so this never overstates the age.
            dates = [at_of.get(step.seq) or events[-1].at for step in owed]
            first = min(dates)
            oldest = first if oldest is None else min(oldest, first)
        owed_steps.add_metric([], steps)
        age = 0.0 if oldest is None else max(0.0, (self.service.clock() - oldest).total_seconds())
        owed_oldest.add_metric([], age)
