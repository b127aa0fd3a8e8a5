"""Statuspage.io's Manage API v1: create an incident, update it, find one by its marker.

With ``status_page.statuspage`` configured and ``STATUSPAGE_API_KEY`` set, every publication is
mirrored to Atlassian Statuspage. This module is only the transport: one call per request, a typed
answer back, for the caller to record in the log as owed work:

* ``POST {STATUSPAGE_API_URL}/pages/{page_id}/incidents`` -> :class:`Created` (201).
* ``PATCH {STATUSPAGE_API_URL}/pages/{page_id}/incidents/{incident_id}`` -> :class:`Updated` (200).
* ``GET .../incidents/unresolved`` (or ``.../incidents`` for one created resolved) -> :class:`Found`
  or :class:`NotFound`: the incident an earlier create tagged with ``metadata.incident_bot.marker``.
* :class:`Rejected` - 400, 401, 403, 404, 422, a redirect: no retry will change it.
* :class:`RetryLater` - 420 and 429 (Statuspage's rate limit, which carries no ``Retry-After``), 5xx,
  a timeout or no answer; ``delay`` backs off from 2 s, doubling per attempt, to at most 60 s (a
  ``Retry-After``, should one come, is honoured). The client never sleeps for a retry: the
  heartbeat retries when it is due.

Statuspage allows one request a second per key, so every request of this process goes through one
:class:`Pacer` (retries included), at least a second apart. A request that would wait longer than
``max_wait`` for its turn raises :class:`ChannelBusy` instead, so a worker is not held.

``STATUSPAGE_API_URL`` is the base URL including ``/v1`` (default ``https://api.statuspage.io/v1``).
The key is a secret: it is sent only in the ``Authorization: OAuth <key>`` header, never put in a
``repr``, a log line, an exception or a result, and any text Statuspage sends back is scrubbed of
it. Redirects are not followed (they would carry the key to another host). Only the standard library
is used: three JSON calls do not justify an HTTP client dependency.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from email.message import Message
from typing import Any, Final
from urllib.parse import quote, urlsplit

from bot.core.errors import ChannelBusy, ConfigError
from bot.core.mirror import MirrorRequest
from bot.outbound_http import NoRedirects, describe, doubling, retry_after

log = logging.getLogger(__name__)

DEFAULT_API_URL: Final = "https://api.statuspage.io/v1"
MARKER_KEY: Final = "incident_bot"  # metadata's top-level values must be objects: {"marker": ...}
PER_PAGE: Final = 100
MAX_PAGES: Final = 5  # a marker is looked for among the 500 most recent incidents at most
_REDACTED = "[api key redacted]"
_THROTTLED = frozenset({420, 429})
_RETRYABLE_4XX = frozenset({408, 425})


# ---------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Created:
    incident_id: str


@dataclass(frozen=True)
class Updated:
    incident_id: str


@dataclass(frozen=True)
class Found:
    """An earlier create did reach Statuspage: this is its incident."""

    incident_id: str


@dataclass(frozen=True)
class NotFound:
    """No incident carries the marker: the earlier create did not happen."""


@dataclass(frozen=True)
class Rejected:
    reason: str
    status: int = 0


@dataclass(frozen=True)
class RetryLater:
    reason: str
    delay: timedelta
    status: int | None = None


StatuspageResult = Created | Updated | Found | NotFound | Rejected | RetryLater


# ---------------------------------------------------------------------------------------------------
# Pacing and back-off


# Statuspage allows one request a second per key; a little more keeps network jitter from bringing
# two requests closer than that at its end.
PACING_SECONDS: Final = 1.05


class Pacer:
    """At least ``interval`` seconds between requests, across every thread of the process.
    ``wait`` reserves the next slot and sleeps until it (clock and sleep injectable for tests)."""

    def __init__(
        self,
        interval: float = PACING_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if interval <= 0:
            raise ValueError("the interval must be positive")
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: float | None = None

    def wait(self, max_wait: float | None = None) -> float | None:
        """Seconds waited; or None at once (nothing reserved) if the turn is more than ``max_wait`` away."""
        with self._lock:
            now = self._clock()
            at = now if self._next is None else max(self._next, now)
            delay = at - now
            if max_wait is not None and delay > max_wait:
                return None
            self._next = at + self.interval
        if delay > 0:
            self._sleep(delay)
        return delay


@dataclass(frozen=True)
class Backoff:
    """``first`` doubled per failed attempt, at most ``most`` (420 and 429 carry no Retry-After)."""

    first: timedelta = timedelta(seconds=2)
    most: timedelta = timedelta(seconds=60)

    def delay(self, attempt: int, retry_after: timedelta | None = None) -> timedelta:
        return doubling(self.first, self.most, attempt, retry_after)


# ---------------------------------------------------------------------------------------------------
# Client


def incident_json(request: MirrorRequest, marker: str | None = None) -> dict[str, Any]:
    """The ``incident`` object of a create (with ``marker``) or an update: public fields only."""
    body: dict[str, Any] = {
        "name": request.name,
        "status": request.status,
        "body": request.body,
        "impact_override": request.impact,
        "component_ids": request.component_ids,
        "components": dict(request.components),
    }
    if marker is not None:
        body["metadata"] = {MARKER_KEY: {"marker": marker}}
    return body


class StatuspageClient:
    """Calls one Statuspage account's Manage API, paced. Holds no state but the pacer; thread-safe."""

    def __init__(
        self,
        api_key: str,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 10.0,
        pacer: Pacer | None = None,
        backoff: Backoff | None = None,
        max_wait: float = 2.0,
    ) -> None:
        if not api_key or not api_key.isascii() or not api_key.isprintable() or " " in api_key:
            raise ConfigError(
                "STATUSPAGE_API_KEY must be a Statuspage API key (your avatar -> API info), "
                "printable ASCII without spaces"
            )
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ConfigError(
                f"STATUSPAGE_API_URL must be an http(s) URL such as {DEFAULT_API_URL}, not {api_url!r}"
            )
        self._api_key = api_key
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.pacer = pacer or Pacer()
        self.backoff = backoff or Backoff()
        self.max_wait = max_wait
        self._opener = urllib.request.build_opener(NoRedirects)

    def __repr__(self) -> str:
        return f"StatuspageClient(api_url={self.api_url!r})"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> StatuspageClient | None:
        """The client ``STATUSPAGE_API_KEY`` and ``STATUSPAGE_API_URL`` describe, or None if unset."""
        key = environ.get("STATUSPAGE_API_KEY", "").strip()
        if not key:
            return None
        return cls(key, api_url=environ.get("STATUSPAGE_API_URL", "").strip() or DEFAULT_API_URL)

    def _incidents_url(self, page_id: str, tail: str = "") -> str:
        return f"{self.api_url}/pages/{quote(page_id, safe='')}/incidents{tail}"

    def create(
        self, page_id: str, request: MirrorRequest, *, marker: str, attempt: int = 0
    ) -> StatuspageResult:
        """POST a new incident tagged with ``marker``; :class:`Created` with its id."""
        what = f"Statuspage create on page {page_id}"
        status, reply, headers = self._call(
            "POST", self._incidents_url(page_id), what, attempt, {"incident": incident_json(request, marker)}
        )
        return self._logged(what, self._answer(status, reply, headers, attempt, Created))

    def update(
        self, page_id: str, incident_id: str, request: MirrorRequest, *, attempt: int = 0
    ) -> StatuspageResult:
        """PATCH ``incident_id`` with the publication; :class:`Updated`."""
        what = f"Statuspage update of {incident_id}"
        url = self._incidents_url(page_id, f"/{quote(incident_id, safe='')}")
        status, reply, headers = self._call("PATCH", url, what, attempt, {"incident": incident_json(request)})
        return self._logged(what, self._answer(status, reply, headers, attempt, Updated))

    def find(self, page_id: str, marker: str, *, resolved: bool, attempt: int = 0) -> StatuspageResult:
        """The incident an earlier create tagged with ``marker``: among the unresolved ones, or the
        most recent ones when it was created resolved. Each page of the listing is one paced request."""
        what = f"Statuspage lookup on page {page_id}"
        tail = "" if resolved else "/unresolved"
        for number in range(1, MAX_PAGES + 1):
            url = self._incidents_url(page_id, f"{tail}?page={number}&per_page={PER_PAGE}")
            status, reply, headers = self._call("GET", url, what, attempt, None)
            if not 200 <= status < 300:
                return self._logged(what, self._answer(status, reply, headers, attempt, Found))
            incidents = reply.get("incidents") if isinstance(reply, dict) else reply
            if not isinstance(incidents, list):
                return self._logged(what, Rejected("the incident list was not a JSON array", status))
            for incident in incidents:
                if isinstance(incident, dict) and _marker_of(incident) == marker:
                    return self._logged(what, Found(str(incident.get("id"))))
            if len(incidents) < PER_PAGE:
                break
        return self._logged(what, NotFound())

    # -- the HTTP exchange ----------------------------------------------------------------------

    def _call(
        self, method: str, url: str, what: str, attempt: int, body: dict[str, Any] | None
    ) -> tuple[int, Any, Message | None]:
        """One paced request: (status, parsed JSON reply, headers); status 0 for no answer (the
        reply is then the reason). Raises ChannelBusy if the pacer's queue is too long."""
        if self.pacer.wait(self.max_wait) is None:
            raise ChannelBusy("Statuspage requests are paced at one a second; this one waits its turn")
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        headers = {"Authorization": f"OAuth {self._api_key}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.status, _json(response.read()), response.headers
        except urllib.error.HTTPError as error:
            with error:
                return error.code, _json(error.read()), error.headers
        except (OSError, http.client.HTTPException) as error:  # refused, reset, timeout, garbled
            return 0, self._scrub(f"no answer from Statuspage: {describe(error)}"), None

    def _answer(
        self,
        status: int,
        reply: Any,
        headers: Message | None,
        attempt: int,
        ok: type[Created | Updated | Found],
    ) -> StatuspageResult:
        if status == 0:
            return RetryLater(str(reply), self.backoff.delay(attempt))
        message = self._scrub(_message(reply) or f"HTTP {status}")
        if 200 <= status < 300:
            incident_id = reply.get("id") if isinstance(reply, dict) else None
            if not isinstance(incident_id, str) or not incident_id:
                return Rejected(f"HTTP {status} without an incident id", status)
            return ok(incident_id)
        if status in _THROTTLED or status >= 500 or status in _RETRYABLE_4XX:
            delay = self.backoff.delay(attempt, retry_after(headers))
            return RetryLater(f"HTTP {status}: {message}", delay, status)
        if 300 <= status < 400:
            message = f"unexpected redirect (check STATUSPAGE_API_URL): {message}"
        return Rejected(f"HTTP {status}: {message}", status)

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, _REDACTED)

    def _logged(self, what: str, result: StatuspageResult) -> StatuspageResult:
        match result:
            case Created(incident_id=i) | Updated(incident_id=i) | Found(incident_id=i):
                log.info("%s: %s %s", what, type(result).__name__.lower(), i)
            case NotFound():
                log.info("%s: no incident carries the marker", what)
            case RetryLater(reason=reason, delay=delay):
                log.warning("%s: retry in %ss (%s)", what, int(delay.total_seconds()), reason)
            case Rejected(reason=reason):
                log.error("%s: rejected (%s)", what, reason)
        return result


def _marker_of(incident: Mapping[str, Any]) -> str | None:
    metadata = incident.get("metadata")
    tagged = metadata.get(MARKER_KEY) if isinstance(metadata, dict) else None
    marker = tagged.get("marker") if isinstance(tagged, dict) else None
    return marker if isinstance(marker, str) else None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}


def _message(reply: Any) -> str:
    if not isinstance(reply, dict):
        return ""
    error = reply.get("error") or reply.get("message") or reply.get("errors")
    if isinstance(error, list):
        return "; ".join(str(e) for e in error)
    return str(error) if error else ""
