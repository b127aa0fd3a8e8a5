"""Wiring: settings in, a running bot out (store, service, Slack adapters, heartbeat, HTTP server)."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.trigger import trigger as Trigger

from bot import logs
from bot.alert_intake import ALERTMANAGER_PATH, make_alert_handler
from bot.config import Settings
from bot.core.policy import Policy
from bot.metrics import METRICS_PATH, BotMetrics
from bot.oncall_feed import ONCALL_FEED_PREFIX, make_oncall_feed
from bot.pagerduty import DEFAULT_EVENTS_URL, PagerDutyClient
from bot.prometheus import prometheus_at
from bot.render.renderer import Renderer
from bot.render.views import Messages
from bot.scheduler import lease_ttl, start_heartbeat
from bot.service import Clock, IncidentService, utc_now
from bot.service.oncall import look_up_emails
from bot.slack.app import build_bolt_app
from bot.slack.directory import SlackDirectory, make_directory_client
from bot.slack.notifier import SlackNotifier, make_client
from bot.slack.oncall_notifier import OnCallSlackNotifier
from bot.slack.pacing import ChannelPacer
from bot.slack.socket_mode import PING_INTERVAL, SocketModeConnection
from bot.slack.template_check import check_templates
from bot.slack.web_client import observe_calls
from bot.status_site import StatusSite, is_status_path
from bot.statuspage import DEFAULT_API_URL as DEFAULT_STATUSPAGE_URL
from bot.statuspage import StatuspageClient
from bot.store.db import make_engine
from bot.store.event_store import EventStore
from bot.store.migrate import upgrade as upgrade_schema
from bot.store.names import NameStore
from bot.store.oncall_emails import OnCallEmailStore
from bot.sync_queue import RequestsInFlight, SyncQueue, TrackingExecutor

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


@dataclass
class Bot:
    settings: Settings
    store: EventStore
    service: IncidentService
    queue: SyncQueue
    app: App
    wsgi: Callable
    listeners: TrackingExecutor
    scheduler: BackgroundScheduler | None = None
    in_flight: RequestsInFlight | None = None
    socket: SocketModeConnection | None = None
    metrics: BotMetrics | None = None

    def wait_idle(self, timeout: float) -> bool:
        """Until Bolt's listeners and the Slack syncs they queued have all finished."""
        return self.listeners.wait_idle(timeout) and self.queue.wait_idle(timeout)

    def start_heartbeat(self, interval_seconds: float | None = None) -> None:
        self.service.refresh_schedule()  # the cadence config may have changed since the last run
        interval = interval_seconds or self.settings.heartbeat_seconds
        on_beat = None
        if self.metrics is not None:
            self.metrics.heartbeat_started(lease_ttl(interval))
            on_beat = self.metrics.heartbeat_done
        self.scheduler = start_heartbeat(self.service, self.queue, interval, on_beat)

    def stop_heartbeat_soon(self) -> None:
        """No heartbeat starts after this (safe in a signal handler: it does not wait for one running)."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.pause()

    def stop_heartbeat(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def start_socket_mode(self, ping_interval: float = PING_INTERVAL) -> None:
        """Connect out to Slack over Socket Mode with the app-level token (raises SlackApiError
        if Slack refuses it)."""
        if not self.settings.app_token:
            raise ValueError("Socket Mode needs the app-level token (settings.app_token)")
        self.socket = SocketModeConnection(
            self.app,
            self.settings.app_token,
            self.in_flight or RequestsInFlight(),
            ping_interval=ping_interval,
        )
        self.socket.connect()

    def close(self) -> None:
        """Stop cleanly (after the HTTP server has drained): no new heartbeat, listener work in
        flight finishes, each Slack sync finishes the step in progress and leaves the rest owed,
        and the scheduler lease is given up so another replica takes over at its next heartbeat."""
        if self.socket is not None:  # first: no new Slack requests, the ones in hand acked
            self.socket.close()
        self.stop_heartbeat()
        self.listeners.shutdown(wait=True)
        self.service.stopping.set()
        self.queue.shutdown()
        try:
            self.service.release_scheduler_lease()
            if self.metrics is not None:
                self.metrics.heartbeat_stopped()
        except Exception:  # the database is gone: the lease lapses on its own
            log.warning("could not give up the scheduler lease; it lapses by itself", exc_info=True)
        self.store.engine.dispose()


def build_bot(settings: Settings, *, clock: Clock = utc_now, verify_token: bool = True) -> Bot:
    logs.redact_values(
        settings.bot_token, settings.signing_secret, settings.alertmanager_token, settings.app_token
    )
    renderer = Renderer(settings.template_dir)
    messages = Messages(renderer, settings.policy)
    check_templates(messages, clock())
    store = EventStore(make_engine(settings.database_url))
    upgrade_schema(store.engine)  # under a lock: replicas starting together migrate once
    client = make_client(settings.bot_token, settings.slack_api_url)
    pager, policy = pagerduty_for(settings)
    mirror, policy = statuspage_for(settings, policy)
    notifier = SlackNotifier(
        client,
        messages,
        policy,
        ChannelPacer(settings.posts_per_second),
        NameStore(store.engine),
        pager,
        statuspage=mirror,
    )
    service = IncidentService(store, policy, messages, clock, slack=notifier)
    # Names for readers outside Slack (users.info, conversations.info); see bot/service/names.py.
    directory_client = make_directory_client(settings.bot_token, settings.slack_api_url)
    directory = SlackDirectory(directory_client)
    service.directory = directory
    service.time_zones = directory  # /incident oncall shows times in the reader's zone
    service.oncall_slack = OnCallSlackNotifier(client, notifier.pacer)  # handoffs and user groups
    metrics = BotMetrics(service)
    observe_calls(client, metrics)
    observe_calls(directory_client, metrics)  # users.info, conversations.info, lookups by email
    service.prometheus = prometheus_at(settings.prometheus_url)  # live error budgets, or the fallback
    in_flight = RequestsInFlight()
    queue = SyncQueue(service.sync_slack, acks_first=in_flight)
    listeners = TrackingExecutor(max_workers=32, thread_name_prefix="bolt-listener")
    app = build_bolt_app(
        client=client,
        signing_secret=settings.signing_secret,
        service=service,
        queue=queue,
        views=notifier,
        verify_token=verify_token,
        listeners=listeners,
        observer=metrics,
    )
    alerts = make_alert_handler(
        service, queue, settings.alertmanager_token, notifier.post_triage, listeners, metrics.alert
    )
    # On-call: emails -> Slack user ids once at start (best effort), and the ICS feed.
    emails = OnCallEmailStore(store.engine)
    service.oncall_emails = emails  # paging reads who is on call with the emails resolved
    look_up_emails(settings.policy.oncall, directory.user_id_for_email, emails, clock())
    feed = make_oncall_feed(
        settings.policy.oncall, emails, NameStore(store.engine), settings.oncall_feed_token, clock
    )
    status_site = StatusSite(store, settings.policy.status_page, renderer, clock)  # 404s without components
    wsgi = make_wsgi_app(
        app,
        store,
        alerts,
        in_flight,
        slack_events=not settings.socket_mode,
        oncall_feed=feed,
        status_site=status_site,
        metrics=metrics.wsgi,
    )
    return Bot(settings, store, service, queue, app, wsgi, listeners, in_flight=in_flight, metrics=metrics)


def pagerduty_for(settings: Settings) -> tuple[PagerDutyClient | None, Policy]:
    """The PagerDuty client PAGERDUTY_ROUTING_KEY asks for (ConfigError if malformed), and the
    policy that says pages go there too."""
    if not settings.pagerduty_routing_key:
        return None, settings.policy
    logs.redact_values(settings.pagerduty_routing_key)
    pager = PagerDutyClient(
        settings.pagerduty_routing_key, events_url=settings.pagerduty_events_url or DEFAULT_EVENTS_URL
    )
    return pager, replace(settings.policy, pagerduty=True)


def statuspage_for(settings: Settings, policy: Policy) -> tuple[StatuspageClient | None, Policy]:
    """The Statuspage client STATUSPAGE_API_KEY asks for (one per process: its pacer keeps this
    process's requests a second apart), and the policy that says publications are mirrored. Both
    the key and `status_page.statuspage` are needed; either alone is logged and ignored."""
    if not settings.statuspage_api_key:
        if policy.status_page.statuspage is not None:
            log.warning("status_page.statuspage is configured but STATUSPAGE_API_KEY is not set: no mirror")
        return None, policy
    logs.redact_values(settings.statuspage_api_key)
    if policy.status_page.statuspage is None:
        log.warning("STATUSPAGE_API_KEY is set but status_page.statuspage is not configured: no mirror")
        return None, policy
    client = StatuspageClient(
        settings.statuspage_api_key, api_url=settings.statuspage_api_url or DEFAULT_STATUSPAGE_URL
    )
    return client, replace(policy, mirror_statuspage=True)


def make_wsgi_app(
    app: App,
    store: EventStore,
    alerts: Callable | None = None,
    in_flight: RequestsInFlight | None = None,
    *,
    slack_events: bool = True,
    oncall_feed: Callable | None = None,
    status_site: Callable | None = None,
    metrics: Callable | None = None,
) -> Callable:
    """`slack_events=False` (Socket Mode): Slack's requests come over the WebSocket, and with no
    signing secret there is nothing to verify one arriving over HTTP with, so /slack/events is 404."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    counting = in_flight or RequestsInFlight()

    @logs.per_request
    def wsgi(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return _health(store, start_response)
        if environ.get("PATH_INFO") == METRICS_PATH and metrics is not None:
            return metrics(environ, start_response)
        if environ.get("PATH_INFO") == ALERTMANAGER_PATH and alerts is not None:
            return alerts(environ, start_response)
        if oncall_feed is not None and str(environ.get("PATH_INFO", "")).startswith(ONCALL_FEED_PREFIX):
            return oncall_feed(environ, start_response)
        if status_site is not None and is_status_path(str(environ.get("PATH_INFO", ""))):
            return status_site(environ, start_response)
        if not slack_events:
            return _not_found(start_response)
        if not _plausible_timestamp(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")):
            return _refuse_unsigned(start_response)
        with counting:  # Bolt answers the whole request inside this call
            return slack(environ, start_response)

    return wsgi


def make_status_page_wsgi(store: EventStore, status_site: Callable) -> Callable:
    """`serve --status-page-only`: the public page and its API, /healthz, and 404 for the rest
    (/slack/events included)."""

    @logs.per_request
    def wsgi(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return _health(store, start_response)
        if is_status_path(path):
            return status_site(environ, start_response)
        return _not_found(start_response)

    return wsgi


_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def _plausible_timestamp(value: str | None) -> bool:
    """Slack signs `X-Slack-Request-Timestamp`, whole seconds since the epoch. Anything else
    (`abc`, `1e9`, empty) cannot be verified, so it is refused like a bad signature; Bolt would
    fail on it. A missing header is left to Bolt, which refuses it too."""
    return value is None or _TIMESTAMP.fullmatch(value) is not None


def _refuse_unsigned(start_response: Callable) -> Iterable[bytes]:
    body = b"invalid request"
    start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _not_found(start_response: Callable) -> Iterable[bytes]:
    body = b"not found"
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _health(store: EventStore, start_response: Callable) -> Iterable[bytes]:
    try:
        healthy = store.ping()
        detail = "ok"
    except Exception as exc:  # any failure to reach the database is "unhealthy", not a crash
        healthy, detail = False, f"database unreachable: {type(exc).__name__}"
    body = json.dumps({"ok": healthy, "database": detail}).encode()
    status = "200 OK" if healthy else "503 Service Unavailable"
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


# Waitress's own defaults (100 connections, idle ones kept 120 s) let 100 idle clients shut out
# Slack: allow more, and close an idle connection sooner.
CONNECTION_LIMIT = 1000
IDLE_TIMEOUT_SECONDS = 30


def make_http_server(
    wsgi: Callable[..., Iterable[bytes]],
    host: str,
    port: int,
    threads: int = 16,
    connection_limit: int = CONNECTION_LIMIT,
) -> Any:
    """Waitress: a production WSGI server with a real listen backlog and a pool of worker threads."""
    return create_server(
        wsgi,
        host=host,
        port=port,
        threads=threads,
        backlog=1024,
        ident="incident-bot",
        connection_limit=connection_limit,
        channel_timeout=IDLE_TIMEOUT_SECONDS,
    )


class Drain:
    """Stops a waitress server gently: the listening socket closes at once (no new connections),
    requests already received are answered and their responses flushed, then the remaining idle
    connections close and `run()` returns. Everything touching the server's sockets runs on its
    own loop, through its trigger."""

    POLL_SECONDS = 0.02

    def __init__(self, server: Any) -> None:
        self.server = server
        self.map: dict = server._map if isinstance(server, BaseWSGIServer) else server.map
        self.trigger = next(d for d in self.map.values() if isinstance(d, Trigger))

    def start(self, timeout: float) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(timeout,), name="http-drain", daemon=True)
        thread.start()
        return thread

    def run(self, timeout: float) -> bool:
        """True if every request in flight was answered within `timeout` seconds."""
        self.trigger.pull_trigger(self._stop_accepting)
        deadline = time.monotonic() + timeout
        while self.busy() and time.monotonic() < deadline:
            time.sleep(self.POLL_SECONDS)
        drained = not self.busy()
        if not drained:
            log.warning("requests still in flight after %.0f s; closing their connections", timeout)
        self.trigger.pull_trigger(lambda: wasyncore.close_all(self.map))
        self.server.task_dispatcher.shutdown(cancel_pending=False, timeout=1)
        return drained

    def _stop_accepting(self) -> None:
        for dispatcher in list(self.map.values()):
            if isinstance(dispatcher, BaseWSGIServer):
                wasyncore.dispatcher.close(dispatcher)  # the listening socket only, not the trigger

    def busy(self) -> bool:
        tasks = self.server.task_dispatcher
        if tasks.queue or tasks.active_count:
            return True
        return any(
            isinstance(channel, HTTPChannel) and (channel.requests or channel.total_outbufs_len)
            for channel in list(self.map.values())
        )


class ServerThread:
    """A waitress server on its own thread; `port` is the one the OS gave (ask for port 0)."""

    def __init__(
        self,
        wsgi: Callable,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 16,
        connection_limit: int = CONNECTION_LIMIT,
    ) -> None:
        self.server = make_http_server(wsgi, host, port, threads, connection_limit)
        self.host = host
        self.port = int(self.server.effective_port)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.server.run()
        except (OSError, ValueError):
            # close() from another thread pulls the sockets out from under select(); expected.
            if not self._stopping.is_set():
                raise

    def stop(self) -> None:
        """Close the server from inside its own loop (woken by its trigger), so the loop ends at
        once instead of at its next timeout."""
        self._stopping.set()
        try:
            self.server.trigger.pull_trigger(self.server.close)
        except OSError:  # its trigger is closed already, so its loop cannot be woken: close from here
            log.warning("the HTTP server's trigger was already closed; closing it directly")
            self.server.close()
        self._thread.join(timeout=5)
        if self._thread.is_alive():  # connections still open: close from here, the loop ends later
            self.server.close()
        # Closing the sockets leaves waitress's worker threads waiting for tasks: end them too.
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
