"""The public status page over HTTP: /status, /status/incidents/<id>, /status/history, Statuspage's
public API v2 (/api/v2/*.json) and the feeds (/history.atom, /history.rss).

At most every `check_every` seconds (default 0.5) a request asks the database one indexed question:
how many publications there are and the newest one's id. The view and every body built from it are
kept until that answer (or the UTC day, which moves the 90-day bars) changes, so the page is
rebuilt only when a publication changes it, and a new publication shows within about half a second. Every answer carries an ETag (a hash of the body)
and Last-Modified (the latest publication, or the start of today), and a matching If-None-Match
or If-Modified-Since gets 304. Without components in `status_page` every route here is 404.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from wsgiref.util import application_uri

from bot.core.events import StatusPagePublished
from bot.core.public_view import PublicView, build_view
from bot.core.status_page import StatusPageConfig
from bot.render import status_page as surfaces
from bot.render.renderer import Renderer
from bot.store.event_store import EventStore

log = logging.getLogger(__name__)

STATUS_PREFIXES = ("/status", "/api/v2/", "/history.")
INCIDENT_PREFIX = "/status/incidents/"
API_PREFIX = "/api/v2/"
FEEDS = {"/history.atom": "atom", "/history.rss": "rss"}
HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
FEED_TYPES = {"atom": "application/atom+xml; charset=utf-8", "rss": "application/rss+xml; charset=utf-8"}
CACHE_CONTROL = "public, no-cache"  # a proxy may keep it, and asks again (cheaply, a 304) each time
MAX_BODIES = 2000  # bodies kept for one state of the page (pages per incident, per host name)


def is_status_path(path: str) -> bool:
    return path == "/status" or path.startswith(STATUS_PREFIXES)


@dataclass(frozen=True)
class Body:
    content: bytes
    content_type: str
    etag: str
    last_modified: datetime


class StatusSite:
    """The WSGI app for the public routes; `clock` gives the current UTC time."""

    def __init__(
        self,
        store: EventStore,
        config: StatusPageConfig,
        renderer: Renderer,
        clock: Callable[[], datetime],
        check_every: float = 0.5,
    ) -> None:
        self.store = store
        self.check_every = check_every
        self._mark: tuple[int, int] | None = None
        self._mark_checked = 0.0
        self.config = config
        self.html = surfaces.StatusPageHtml(renderer)
        self.clock = clock
        self._lock = threading.Lock()
        self._key: tuple[object, ...] | None = None
        self._view: PublicView | None = None
        self._bodies: dict[tuple[str, str], Body] = {}
        if config.enabled:
            surfaces.render_status_samples(renderer, clock())  # a broken template fails start-up

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD", "GET")
        if not self.config.enabled or not is_status_path(path):
            return _plain(start_response, "404 Not Found", b"not found")
        if method not in ("GET", "HEAD"):
            return _plain(
                start_response, "405 Method Not Allowed", b"method not allowed", [("Allow", "GET, HEAD")]
            )
        body = self.body(path, _base_url(environ))
        if body is None:
            return _plain(start_response, "404 Not Found", b"not found")
        headers = [
            ("ETag", body.etag),
            ("Last-Modified", format_datetime(body.last_modified, usegmt=True)),
            ("Cache-Control", CACHE_CONTROL),
        ]
        if path.startswith(API_PREFIX):
            headers.append(("Access-Control-Allow-Origin", "*"))  # embeds and widgets on other sites
        if _not_modified(environ, body):
            start_response("304 Not Modified", headers)
            return [b""]
        headers += [("Content-Type", body.content_type), ("Content-Length", str(len(body.content)))]
        start_response("200 OK", headers)
        return [b""] if method == "HEAD" else [body.content]

    def body(self, path: str, base_url: str) -> Body | None:
        """The body for `path` as the page stands now (built at most once per state of the page)."""
        now = self.clock()
        checked = time.monotonic()
        if self._mark is None or checked - self._mark_checked >= self.check_every:
            self._mark, self._mark_checked = self.store.type_mark(StatusPagePublished), checked
        key = (self._mark, now.astimezone(UTC).date())
        with self._lock:
            if key != self._key or self._view is None:
                publications = self.store.events_of_type(StatusPagePublished)
                self._view = build_view(self.config, publications, now)
                self._key = key
                self._bodies = {}
            view = self._view
            cached = self._bodies.get((base_url, path))
        if cached is not None:
            return cached
        built = self._build(view, path, base_url)
        if built is None:
            return None
        content, content_type = built
        body = Body(
            content,
            content_type,
            '"' + hashlib.sha256(content).hexdigest()[:32] + '"',
            surfaces.page_updated_at(view).replace(microsecond=0),
        )
        with self._lock:
            if self._view is view:
                if len(self._bodies) >= MAX_BODIES:
                    self._bodies.clear()
                self._bodies[(base_url, path)] = body
        return body

    def _build(self, view: PublicView, path: str, base_url: str) -> tuple[bytes, str] | None:
        if path in ("/status", "/status/"):
            return self.html.status(view, base_url).encode(), HTML
        if path == "/status/history":
            return self.html.history(view, base_url).encode(), HTML
        if path.startswith(INCIDENT_PREFIX):
            incident = view.incident(path[len(INCIDENT_PREFIX) :])
            if incident is None:
                return None
            return self.html.incident(view, incident, base_url).encode(), HTML
        if path in FEEDS:
            kind = FEEDS[path]
            return surfaces.feed(view, base_url, kind), FEED_TYPES[kind]
        if path.startswith(API_PREFIX) and path.endswith(".json"):
            document = surfaces.api_document(view, path[len(API_PREFIX) : -len(".json")], base_url)
            if document is None:
                return None
            return surfaces.api_json(document), JSON
        return None


def _base_url(environ: dict) -> str:
    """scheme://host[:port] as the client asked (behind a proxy: set its Host header through)."""
    return application_uri(environ).rstrip("/")


def _not_modified(environ: dict, body: Body) -> bool:
    """RFC 9110: If-None-Match decides when present; else If-Modified-Since, to the second."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or body.etag in tags
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if not since:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # not a date: ignored, as the RFC says
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return body.last_modified <= when


def _plain(
    start_response: Callable, status: str, body: bytes, extra: list[tuple[str, str]] | None = None
) -> Iterable[bytes]:
    headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), *(extra or [])]
    start_response(status, headers)
    return [body]
