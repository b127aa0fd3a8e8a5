"""Phone paging through PagerDuty's Events API v2: one HTTP call per event, a typed answer back.

With ``PAGERDUTY_ROUTING_KEY`` set, each page the bot sends also goes to PagerDuty, so the person on
call gets PagerDuty's phone call or SMS. This module is only the transport: it turns one
:class:`PagerDutyEvent` into one ``POST {PAGERDUTY_EVENTS_URL}/v2/enqueue`` (default
``https://events.pagerduty.com``) and returns what happened, for the caller to record in the log as
owed work:

* :class:`Sent` - 202 ``{"status": "success", "message": "Event processed", "dedup_key": ...}``.
* :class:`Rejected` - 400 ``{"status": "invalid event", "message": ..., "errors": [...]}``, or a
  response that no retry will change (another 4xx, a redirect, a bad event caught before sending).
  PagerDuty's advice is never to retry these.
* :class:`RetryLater` - 429 (throttled), any 5xx, a timeout or a network error. PagerDuty's advice
  is to retry these with a back-off; ``delay`` says how long, from the caller's ``attempt`` count
  (or a ``Retry-After`` header). The client never sleeps: the heartbeat retries when it is due.

The incident key is the ``dedup_key``, so ``trigger``, ``acknowledge`` and ``resolve`` of one incident
act on one PagerDuty alert. Only ``trigger`` carries a ``payload`` (``summary``, ``source``, ``severity``
and the optional ``timestamp``, ``component``, ``group``, ``class``, ``custom_details``); a summary
longer than PagerDuty's 1024 characters is cut before sending (never splitting a character from its
combining marks) rather than rejected, because a shortened page beats no page. PagerDuty's severity
(``critical | error | warning | info``) is chosen by the caller from its own configuration; this
module knows none of the bot's severity names.

The routing key is a secret. It is sent only in the request body, never put in a ``repr``, a log
line, an exception or a result, and any text PagerDuty sends back is scrubbed of it. Redirects are not
followed (they would carry the key to another host). Only the standard library is used: one JSON POST
does not justify an HTTP client dependency.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from typing import Any, Final, Literal, get_args
from urllib.parse import urlsplit

from bot.core.errors import ConfigError
from bot.outbound_http import NoRedirects, describe, doubling, retry_after

log = logging.getLogger(__name__)

DEFAULT_EVENTS_URL: Final = "https://events.pagerduty.com"
ENQUEUE_PATH: Final = "/v2/enqueue"
SUMMARY_MAX_CHARS: Final = 1024
DEDUP_KEY_MAX_CHARS: Final = 255
ROUTING_KEY_CHARS: Final = 32

Action = Literal["trigger", "acknowledge", "resolve"]
Severity = Literal["critical", "error", "warning", "info"]
SEVERITIES: Final[frozenset[str]] = frozenset(get_args(Severity))

_ROUTING_KEY_SHAPE = re.compile(rf"[A-Za-z0-9]{{{ROUTING_KEY_CHARS}}}")
_REDACTED = "[routing key redacted]"
_RETRYABLE_4XX = frozenset({408, 425, 429})
_ELLIPSIS = "\u2026"
_JOINERS = frozenset({"\u200d"})  # zero-width joiner: the next code point belongs to this character


# ---------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Sent:
    """PagerDuty accepted the event (202); ``dedup_key`` is the alert it applies to."""

    dedup_key: str
    message: str = "Event processed"


@dataclass(frozen=True)
class Rejected:
    """PagerDuty refused the event, or it could not be sent as built: do not retry it."""

    reason: str
    errors: tuple[str, ...] = ()
    status: int | None = None


@dataclass(frozen=True)
class RetryLater:
    """Throttled, a server error or no answer: send the same event again after ``delay``."""

    reason: str
    delay: timedelta
    status: int | None = None


PagerDutyResult = Sent | Rejected | RetryLater


# ---------------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True)
class Link:
    href: str
    text: str | None = None

    def to_json(self) -> dict[str, str]:
        return {"href": self.href} | ({"text": self.text} if self.text is not None else {})


@dataclass(frozen=True)
class Payload:
    """The ``payload`` of a ``trigger`` event. ``severity`` is PagerDuty's, mapped by the caller."""

    summary: str
    source: str
    severity: Severity
    timestamp: datetime | None = None
    component: str | None = None
    group: str | None = None
    event_class: str | None = None  # sent as ``class``
    custom_details: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"PagerDuty severity must be one of {sorted(SEVERITIES)}, not {self.severity!r}")
        if not self.summary.strip():
            raise ValueError("PagerDuty summary must not be blank")
        if not self.source.strip():
            raise ValueError("PagerDuty source must not be blank")
        if self.timestamp is not None and self.timestamp.utcoffset() is None:
            raise ValueError("PagerDuty timestamp must be timezone-aware")

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "summary": cut_summary(self.summary),
            "source": self.source,
            "severity": self.severity,
        }
        if self.timestamp is not None:
            body["timestamp"] = self.timestamp.astimezone(UTC).isoformat(timespec="milliseconds")
        optional = {"component": self.component, "group": self.group, "class": self.event_class}
        body.update({name: value for name, value in optional.items() if value is not None})
        if self.custom_details is not None:
            body["custom_details"] = dict(self.custom_details)
        return body


@dataclass(frozen=True)
class PagerDutyEvent:
    """One event for one alert. Build it with :func:`trigger`, :func:`acknowledge` or :func:`resolve`."""

    action: Action
    dedup_key: str
    payload: Payload | None = None
    links: tuple[Link, ...] = ()

    def __post_init__(self) -> None:
        if self.action not in get_args(Action):
            raise ValueError(
                f"PagerDuty event_action must be trigger, acknowledge or resolve, not {self.action!r}"
            )
        if (self.payload is None) == (self.action == "trigger"):
            raise ValueError("a PagerDuty trigger needs a payload; acknowledge and resolve carry none")

    def to_json(self, routing_key: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "routing_key": routing_key,
            "event_action": self.action,
            "dedup_key": self.dedup_key,
        }
        if self.payload is not None:
            body["payload"] = self.payload.to_json()
        if self.links:
            body["links"] = [link.to_json() for link in self.links]
        return body


def trigger(dedup_key: str, payload: Payload, *, links: Sequence[Link] = ()) -> PagerDutyEvent:
    return PagerDutyEvent("trigger", dedup_key, payload, tuple(links))


def acknowledge(dedup_key: str) -> PagerDutyEvent:
    return PagerDutyEvent("acknowledge", dedup_key)


def resolve(dedup_key: str) -> PagerDutyEvent:
    return PagerDutyEvent("resolve", dedup_key)


def cut_summary(summary: str, limit: int = SUMMARY_MAX_CHARS) -> str:
    """``summary`` within ``limit`` characters, ending in an ellipsis when cut.

    Python strings index code points, so no UTF-8 or UTF-16 sequence is ever split; the cut also
    steps back over combining marks and zero-width joiners so that "é" written as "e" + U+0301, or
    an emoji sequence, is not left half there.
    """
    if len(summary) <= limit:
        return summary
    end = limit - len(_ELLIPSIS)
    while 0 < end < len(summary) and _continues_previous(summary, end):
        end -= 1
    return summary[:end].rstrip() + _ELLIPSIS


def _continues_previous(text: str, index: int) -> bool:
    """Whether the code point at ``index`` belongs to the character before it."""
    here = text[index]
    return (
        unicodedata.combining(here) != 0
        or unicodedata.category(here) in ("Mn", "Mc", "Me")
        or "\ufe00" <= here <= "\ufe0f"  # variation selectors
        or here in _JOINERS
        or text[index - 1] in _JOINERS
    )


# ---------------------------------------------------------------------------------------------------
# Client


@dataclass(frozen=True)
class Backoff:
    """Delays for :class:`RetryLater`: ``first`` doubled per failed attempt, at most ``most``.

    Throttling (429) starts from ``first_throttled``: PagerDuty throttles per service for a while,
    and retrying sooner only adds to the load.
    """

    first: timedelta = timedelta(seconds=10)
    first_throttled: timedelta = timedelta(seconds=30)
    most: timedelta = timedelta(minutes=5)

    def delay(self, attempt: int, *, throttled: bool, retry_after: timedelta | None = None) -> timedelta:
        return doubling(self.first_throttled if throttled else self.first, self.most, attempt, retry_after)


class PagerDutyClient:
    """Sends events to one Events API v2 integration. Holds no state between calls; thread-safe."""

    def __init__(
        self,
        routing_key: str,
        *,
        events_url: str = DEFAULT_EVENTS_URL,
        timeout: float = 10.0,
        backoff: Backoff | None = None,
    ) -> None:
        if not _ROUTING_KEY_SHAPE.fullmatch(routing_key):
            raise ConfigError(
                f"PAGERDUTY_ROUTING_KEY must be the {ROUTING_KEY_CHARS}-character integration key of an "
                f"Events API v2 integration (the one given has {len(routing_key)} characters"
                f"{'' if routing_key.isalnum() else ', not all letters and digits'})"
            )
        parts = urlsplit(events_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ConfigError(
                f"PAGERDUTY_EVENTS_URL must be an http(s) URL such as {DEFAULT_EVENTS_URL}, not {events_url!r}"
            )
        self._routing_key = routing_key
        self.events_url = events_url
        self.timeout = timeout
        self.backoff = backoff or Backoff()
        self._opener = urllib.request.build_opener(NoRedirects)

    def __repr__(self) -> str:
        return f"PagerDutyClient(events_url={self.events_url!r})"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> PagerDutyClient | None:
        """The client ``PAGERDUTY_ROUTING_KEY`` and ``PAGERDUTY_EVENTS_URL`` describe, or None if unset."""
        routing_key = environ.get("PAGERDUTY_ROUTING_KEY", "").strip()
        if not routing_key:
            return None
        events_url = environ.get("PAGERDUTY_EVENTS_URL", "").strip() or DEFAULT_EVENTS_URL
        return cls(routing_key, events_url=events_url)

    @property
    def enqueue_url(self) -> str:
        return self.events_url.rstrip("/") + ENQUEUE_PATH

    def send(self, event: PagerDutyEvent, *, attempt: int = 0) -> PagerDutyResult:
        """POST ``event`` once. ``attempt`` counts earlier tries of it that asked to retry later."""
        if not 0 < len(event.dedup_key) <= DEDUP_KEY_MAX_CHARS:
            return self._logged(
                event,
                Rejected(
                    f"dedup_key must be 1 to {DEDUP_KEY_MAX_CHARS} characters, not {len(event.dedup_key)}"
                ),
            )
        body = json.dumps(event.to_json(self._routing_key), separators=(",", ":"), default=str).encode(
            "utf-8"
        )
        request = urllib.request.Request(
            self.enqueue_url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return self._logged(
                    event, self._answer(event, response.status, response.headers, response.read(), attempt)
                )
        except urllib.error.HTTPError as error:
            with error:
                answer = self._answer(event, error.code, error.headers, error.read(), attempt)
            return self._logged(event, answer)
        except (
            OSError,
            http.client.HTTPException,
        ) as error:  # URLError, refused, reset, timeout, garbled reply
            reason = self._scrub(f"no answer from PagerDuty: {describe(error)}")
            return self._logged(event, RetryLater(reason, self.backoff.delay(attempt, throttled=False)))

    def _answer(
        self, event: PagerDutyEvent, status: int, headers: Message, raw: bytes, attempt: int
    ) -> PagerDutyResult:
        reply = _json_object(raw)
        message = self._scrub(str(reply.get("message") or reply.get("status") or f"HTTP {status}"))
        if 200 <= status < 300:
            dedup_key = reply.get("dedup_key")
            return Sent(dedup_key if isinstance(dedup_key, str) and dedup_key else event.dedup_key, message)
        if status == 429 or status >= 500 or status in _RETRYABLE_4XX:
            delay = self.backoff.delay(attempt, throttled=status == 429, retry_after=retry_after(headers))
            return RetryLater(f"HTTP {status}: {message}", delay, status)
        errors = reply.get("errors")
        details = tuple(self._scrub(str(e)) for e in errors) if isinstance(errors, list) else ()
        if 300 <= status < 400:
            message = f"unexpected redirect (check PAGERDUTY_EVENTS_URL): {message}"
        return Rejected(f"HTTP {status}: {message}", details, status)

    def _scrub(self, text: str) -> str:
        return text.replace(self._routing_key, _REDACTED)

    def _logged(self, event: PagerDutyEvent, result: PagerDutyResult) -> PagerDutyResult:
        what = f"PagerDuty {event.action} for {event.dedup_key!r}"
        match result:
            case Sent():
                log.debug("%s: sent", what)
            case RetryLater(reason=reason, delay=delay):
                log.warning("%s: retry in %ss (%s)", what, int(delay.total_seconds()), reason)
            case Rejected(reason=reason, errors=errors):
                log.error("%s: rejected (%s)%s", what, reason, "".join(f"; {e}" for e in errors))
        return result


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
