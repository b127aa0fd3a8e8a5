"""Logging for the whole process: one handler on the root logger, in JSON or text, that carries
the context of the work at hand (incident, Slack request, job) and never prints a secret.

Context lives in a `contextvars` variable set at the adapters: the HTTP request and Bolt's
dispatch set a request id, a Slack sync worker and the heartbeat a job id, the service the
incident it works on. A unit of work opens `bound(...)`, which restores what was there before
when it ends; `bind(...)` adds to the current unit (the service knows the incident only once it
has routed the command). Threads do not inherit context: pools that carry work on for a request
copy it explicitly (see `bot.sync_queue.TrackingExecutor`).

Redaction is a Filter on every handler this module installs, so it applies at every level and in
both formats, to the message, its arguments, the exception and its traceback, stack info and
extra fields, including what slack_sdk, Bolt and waitress log.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import IO, Any
from urllib.parse import quote, quote_plus

from bot.core.errors import ConfigError

# The variables whose values are secrets by name; any other variable whose name ends in one of
# SECRET_SUFFIXES is treated as one too (a later integration's key is covered before it exists).
SECRET_ENV = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "ALERTMANAGER_TOKEN",
    "STATUSPAGE_API_KEY",
    "PAGERDUTY_ROUTING_KEY",
    "ONCALL_FEED_TOKEN",
)
SECRET_SUFFIXES = ("_TOKEN", "_SECRET", "_KEY", "_PASSWORD")
# A shorter value (only ever a placeholder: Slack's secrets are 32 characters and more) would
# blank out ordinary words in every line.
MIN_SECRET_LENGTH = 6
REDACTED = "[REDACTED]"

# Slack tokens (bot, user, app-level, legacy, config and refresh), credentials after an auth
# scheme, and the password in a URL such as a DATABASE_URL.
TOKEN_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(xox[abposre]|xapp)-[A-Za-z0-9-]+"), r"\1-" + REDACTED),
    (
        re.compile(r"\b((?i:bearer)|Basic)(\s+|%20|\+)(?!\[REDACTED\])[A-Za-z0-9._~+/=%-]{6,}"),
        r"\1\2" + REDACTED,
    ),
    (re.compile(r"(://[^:/@\s'\"]+:)(?!\[REDACTED\])[^@\s/'\"]+@"), r"\1" + REDACTED + "@"),
)

FORMATS = ("text", "json")
CONTEXT_FIELDS = ("incident", "request_id", "job_id")
API_FIELDS = ("slack_method", "latency_ms", "slack_ok", "slack_error")

_context: ContextVar[Mapping[str, str]] = ContextVar("incident_bot_log_context", default=MappingProxyType({}))


# Context -------------------------------------------------------------------------------------


def _fields(values: Mapping[str, object]) -> dict[str, str]:
    out = {}
    for name, value in values.items():
        if name not in CONTEXT_FIELDS:
            raise TypeError(f"unknown log context field {name!r}")
        if value is None:
            continue
        out[name] = f"INC-{value}" if name == "incident" and isinstance(value, int) else str(value)
    return out


@contextmanager
def bound(**values: object) -> Iterator[None]:
    """A unit of work (a request, a sync job, a heartbeat): its context, undone when it ends."""
    token = _context.set({**_context.get(), **_fields(values)})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**values: object) -> None:
    """Add to the current unit of work's context (until its `bound` ends)."""
    _context.set({**_context.get(), **_fields(values)})


def begin(**values: object) -> None:
    """Start a new unit of work on this thread with just these fields (Bolt's dispatch, whose
    middleware cannot wrap the listener in a `with`)."""
    _context.set(_fields(values))


def current() -> Mapping[str, str]:
    return _context.get()


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def per_request(
    wsgi: Callable[[dict, Callable], Iterable[bytes]],
) -> Callable[[dict, Callable], Iterable[bytes]]:
    """Each HTTP request is a unit of work with its own generated id (Bolt's dispatch replaces it
    with Slack's own id once the request is verified)."""

    @functools.wraps(wsgi)
    def with_request_id(environ: dict, start_response: Callable) -> Iterable[bytes]:
        with bound(request_id=new_id("http")):
            return wsgi(environ, start_response)

    return with_request_id


# Redaction -----------------------------------------------------------------------------------


class Redactor:
    """Blanks known secret values (and their URL-encoded forms) and anything shaped like a token."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        with self._lock:
            for secret in secrets:
                if not secret or len(secret) < MIN_SECRET_LENGTH:
                    continue
                self._values.update({secret, quote(secret, safe=""), quote_plus(secret)})
            if self._values:
                alternatives = sorted(self._values, key=len, reverse=True)  # longest first
                self._pattern = re.compile("|".join(re.escape(v) for v in alternatives))

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        for token, replacement in TOKEN_PATTERNS:
            text = token.sub(replacement, text)
        return text


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Rewrites the record in place, before any formatter sees it: the message with its arguments
    merged in, the exception as text, stack info and every extra string field."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception as exc:  # a bad format string: keep what can be shown
            message = f"{record.msg!r} (unformattable: {type(exc).__name__})"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _PLAIN.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, self.redact(value))
        return True


_PLAIN = logging.Formatter()


class ContextFilter(logging.Filter):
    """Copies the current context onto the record (a field passed with `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


# Formats -------------------------------------------------------------------------------------


def _utc(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, then the context that is known."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _utc(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS + API_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`2026-02-04T14:32:00.123Z INFO bot.slack.api [INC-7 job=sync-…] chat.postMessage ok in 12.3 ms`"""

    def format(self, record: logging.LogRecord) -> str:
        incident, request_id, job_id = (getattr(record, name, None) for name in CONTEXT_FIELDS)
        tags = [incident, request_id and f"req={request_id}", job_id and f"job={job_id}"]
        context = " ".join(str(t) for t in tags if t)
        line = f"{_utc(record)} {record.levelname} {record.name}"
        line += f" [{context}] " if context else " "
        line += record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


# Setup ---------------------------------------------------------------------------------------

# The redactor every handler installed here uses; `redact_values` adds secrets given otherwise
# than by environment (build_bot registers its settings' tokens).
REDACT = Redactor()
_QUIET_BELOW_DEBUG = ("apscheduler",)  # two lines every heartbeat otherwise


def redact_values(*secrets: str | None) -> None:
    REDACT.add(secrets)


def secrets_in(env: Mapping[str, str]) -> list[str]:
    names = set(SECRET_ENV) | {name for name in env if name.upper().endswith(SECRET_SUFFIXES)}
    return [env[name] for name in sorted(names) if env.get(name)]


def setup_logging(env: Mapping[str, str] | None = None, stream: IO[str] | None = None) -> logging.Handler:
    """Install the one handler on the root logger, per LOG_FORMAT (text, json) and LOG_LEVEL
    (DEBUG, INFO, WARNING, ERROR; default INFO). Calling it again replaces the handler. Call it
    before building the Bolt app: Bolt copies the root's level into its loggers then."""
    env = os.environ if env is None else env
    form = (env.get("LOG_FORMAT") or "text").strip().lower()
    if form not in FORMATS:
        raise ConfigError(f"LOG_FORMAT must be text or json, not {env.get('LOG_FORMAT')!r}")
    level_name = (env.get("LOG_LEVEL") or "INFO").strip().upper()
    level = logging.getLevelNamesMapping().get(level_name)
    if level is None or level_name in ("NOTSET", "WARN", "FATAL"):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {env.get('LOG_LEVEL')!r}")
    REDACT.add(secrets_in(env))
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.set_name("incident-bot")
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(REDACT))  # last: it sees the context fields too
    handler.setFormatter(JsonFormatter() if form == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "incident-bot"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET_BELOW_DEBUG:
        logging.getLogger(name).setLevel(logging.WARNING if level > logging.DEBUG else logging.NOTSET)
    return handler
