"""A strict fake of PagerDuty's Events API v2 on loopback, for tests.

``FakePagerDuty`` binds 127.0.0.1 on a free port and answers ``POST /v2/enqueue`` as PagerDuty does:
202 ``{"status": "success", "message": "Event processed", "dedup_key": ...}`` for a valid event, and
400 ``{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}`` listing every
problem it finds (an unparseable body gets PagerDuty's ``"Unrecognized object"`` answer). It checks:
a JSON content type, a body of at most 512 KB, a 32-character alphanumeric ``routing_key``, an
``event_action`` of trigger/acknowledge/resolve, a ``dedup_key`` of at most 255 characters (required
for acknowledge and resolve), and for a trigger a ``payload`` with a non-blank ``summary`` of at most
1024 characters, a non-blank ``source``, a valid ``severity``, an ISO 8601 ``timestamp`` if given and
an object for ``custom_details``; ``links`` need an ``href``. It is stricter than PagerDuty in one way
on purpose: an unknown field at the top or in the payload is an error, because PagerDuty would ignore
a misspelt ``dedup_key`` silently.

Accepted events are kept in order (:attr:`events`); every request, accepted or not, in
:attr:`requests`. Alerts follow PagerDuty's life cycle per ``dedup_key``: a trigger opens an alert
(or adds to the open one), acknowledge moves it to acknowledged, resolve closes it, and a trigger after
a resolve opens a new alert with the same key; acknowledge or resolve of no open alert is accepted
and changes nothing. :meth:`fail_next` makes the next requests answer 429 or 5xx instead. Given ``routing_keys``, a
well-formed key of no integration gets PagerDuty's 400 ``"Invalid routing key"``.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from bot.local_slack.loopback import LoopbackService

MAX_BODY_BYTES = 512 * 1024
ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
TOP_LEVEL_FIELDS = frozenset(
    {"routing_key", "event_action", "dedup_key", "payload", "client", "client_url", "links", "images"}
)
PAYLOAD_FIELDS = frozenset(
    {"summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details"}
)

AlertStatus = Literal["triggered", "acknowledged", "resolved"]


@dataclass
class Alert:
    """One PagerDuty alert: opened by a trigger, closed by a resolve."""

    dedup_key: str
    status: AlertStatus
    summary: str
    severity: str
    source: str
    log: list[str] = field(default_factory=list)  # the event actions applied to it, in order


@dataclass(frozen=True)
class Request:
    """One request the fake answered."""

    method: str
    path: str
    status: int
    body: bytes


@dataclass
class _Failure:
    status: int
    remaining: int
    retry_after: int | None
    body: dict[str, Any] | None


def _invalid(*errors: str) -> tuple[int, dict[str, Any]]:
    return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)}


_UNRECOGNIZED = (
    400,
    {
        "status": "Unrecognized object",
        "message": "Event object format is unrecognized",
        "errors": ["JSON parse error"],
    },
)


def _is_blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def _timestamp_errors(value: Any) -> list[str]:
    if not isinstance(value, str):
        return ["'payload.timestamp' must be a string"]
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ["'payload.timestamp' is not a valid ISO 8601 date-time"]
    return []


def validate_event(event: dict[str, Any]) -> list[str]:
    """Every reason PagerDuty (and this fake's strictness) would refuse ``event``."""
    errors = [f"Unknown field '{name}'" for name in sorted(set(event) - TOP_LEVEL_FIELDS)]
    routing_key = event.get("routing_key")
    if _is_blank(routing_key):
        errors.append("'routing_key' is missing or blank")
    else:
        if len(routing_key) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        if not routing_key.isascii() or not routing_key.isalnum():
            errors.append("'routing_key' cannot contain non-alphanumeric characters.")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge or resolve)")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None:
        if not isinstance(dedup_key, str):
            errors.append("'dedup_key' must be a string")
        elif len(dedup_key) > 255:
            errors.append("'dedup_key' is too long (maximum is 255 characters)")
    elif action in ("acknowledge", "resolve"):
        errors.append(f"'dedup_key' is required for '{action}' events")
    if action == "trigger":
        errors += _payload_errors(event.get("payload"))
    links = event.get("links")
    if links is not None and (
        not isinstance(links, list)
        or any(not isinstance(link, dict) or _is_blank(link.get("href")) for link in links)
    ):
        errors.append("'links' must be a list of objects with an 'href'")
    return errors


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is required for 'trigger' events"]
    errors = [f"Unknown field 'payload.{name}'" for name in sorted(set(payload) - PAYLOAD_FIELDS)]
    summary = payload.get("summary")
    if _is_blank(summary):
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > 1024:
        errors.append("'payload.summary' is too long (maximum is 1024 characters)")
    if _is_blank(payload.get("source")):
        errors.append("'payload.source' is missing or blank")
    if payload.get("severity") not in SEVERITIES:
        errors.append("'payload.severity' is invalid (must be one of critical, error, warning or info)")
    if "timestamp" in payload:
        errors += _timestamp_errors(payload["timestamp"])
    for name in ("component", "group", "class"):
        if name in payload and not isinstance(payload[name], str):
            errors.append(f"'payload.{name}' must be a string")
    if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
        errors.append("'payload.custom_details' must be an object")
    return errors


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakePagerDuty) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self._serve("POST")

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._serve("GET")

    def _serve(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body = self.rfile.read(length) if length > 0 else b""
        status, reply, headers = self.server.fake.handle(
            method, self.path, self.headers.get("Content-Type", ""), body
        )
        payload = json.dumps(reply).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Stay quiet."""


class FakePagerDuty(LoopbackService):
    """See the module docstring. Use as a context manager; ``url`` is the ``PAGERDUTY_EVENTS_URL``."""

    def __init__(self, routing_keys: Iterable[str] | None = None) -> None:
        # PagerDuty answers 400 "Invalid routing key" for a well-formed key of no integration;
        # with ``routing_keys`` None every well-formed key is taken to exist.
        self.routing_keys = frozenset(routing_keys) if routing_keys is not None else None
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []
        self._requests: list[Request] = []
        self._alerts: dict[str, list[Alert]] = {}
        self._failures: deque[_Failure] = deque()

    def _make_server(self) -> _Server:
        return _Server(self)

    @property
    def url(self) -> str:
        return self.root_url

    # -- what the test reads ------------------------------------------------------------------------

    @property
    def events(self) -> list[dict[str, Any]]:
        """Accepted events, in the order they arrived (copies)."""
        with self._lock:
            return copy.deepcopy(self._events)

    @property
    def requests(self) -> list[Request]:
        """Every request answered, accepted or not."""
        with self._lock:
            return list(self._requests)

    def alert(self, dedup_key: str) -> Alert | None:
        """The latest alert with ``dedup_key`` (open or resolved), or None if never triggered."""
        with self._lock:
            alerts = self._alerts.get(dedup_key)
            return copy.deepcopy(alerts[-1]) if alerts else None

    def alerts(self, dedup_key: str) -> list[Alert]:
        """Every alert ever opened with ``dedup_key``, oldest first."""
        with self._lock:
            return copy.deepcopy(self._alerts.get(dedup_key, []))

    # -- what the test arranges ---------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        count: int = 1,
        *,
        retry_after: int | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next ``count`` requests with ``status`` (e.g. 429 or 500) and record nothing."""
        if status < 400:
            raise ValueError("fail_next needs an error status")
        with self._lock:
            self._failures.append(_Failure(status, count, retry_after, body))

    # -- the API ------------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, content_type: str, body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            status, reply, headers = self._answer(method, path, content_type, body)
            self._requests.append(Request(method, path, status, body))
            return status, reply, headers

    def _answer(
        self, method: str, path: str, content_type: str, body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if path.split("?")[0] != "/v2/enqueue":
            return 404, {"status": "not found", "message": f"No such endpoint: {path}"}, {}
        if method != "POST":
            return 405, {"status": "method not allowed", "message": "Use POST"}, {"Allow": "POST"}
        if self._failures:
            return self._fail()
        if content_type.split(";")[0].strip().lower() != "application/json":
            return (*_invalid("Content-Type must be application/json"), {})
        if len(body) > MAX_BODY_BYTES:
            return (*_invalid("Event is too large (maximum is 512 KB)"), {})
        try:
            event = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return (*_UNRECOGNIZED, {})
        if not isinstance(event, dict):
            return (*_UNRECOGNIZED, {})
        errors = validate_event(event)
        if not errors and self.routing_keys is not None and event["routing_key"] not in self.routing_keys:
            errors = ["Invalid routing key"]
        if errors:
            return (*_invalid(*errors), {})
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        self._events.append(event)
        self._apply(event["event_action"], dedup_key, event.get("payload"))
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, {}

    def _fail(self) -> tuple[int, dict[str, Any], dict[str, str]]:
        failure = self._failures[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            self._failures.popleft()
        if failure.body is not None:
            reply = failure.body
        elif failure.status == 429:
            reply = {
                "status": "throttle event",
                "message": "Requests for this service are arriving too quickly",
            }
        else:
            reply = {"status": "error", "message": "Internal server error"}
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
        return failure.status, reply, headers

    def _apply(self, action: str, dedup_key: str, payload: dict[str, Any] | None) -> None:
        alerts = self._alerts.setdefault(dedup_key, [])
        open_alert = alerts[-1] if alerts and alerts[-1].status != "resolved" else None
        if action == "trigger":
            assert payload is not None
            if open_alert is None:
                open_alert = Alert(
                    dedup_key, "triggered", payload["summary"], payload["severity"], payload["source"]
                )
                alerts.append(open_alert)
            open_alert.log.append("trigger")
        elif open_alert is not None:
            if action == "acknowledge":
                open_alert.status = "acknowledged"
            else:
                open_alert.status = "resolved"
            open_alert.log.append(action)
        if not alerts:
            del self._alerts[dedup_key]
