"""GET /oncall/<schedule-slug>.ics?token=<ONCALL_FEED_TOKEN>: a schedule's final shifts (after layers
and overrides) as an RFC 5545 calendar people can subscribe to.

The current shift, whole, and every shift that starts within 90 days; one VEVENT per shift, in UTC,
with a UID made of the schedule's slug, the shift's start and its holder, so a calendar that polls
the feed sees the same event again rather than a new one. Gaps are not events. The feed is off (404)
without ONCALL_FEED_TOKEN; a missing or wrong token is 401 (checked before the schedule, so the
schedules' names do not leak), an unknown schedule 404.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from icalendar import Calendar, Event

from bot.core import oncall
from bot.core.oncall import OnCallSchedule, Shift
from bot.core.oncall_config import OnCallConfig
from bot.service.oncall import OnCallReads
from bot.store.names import NameStore
from bot.store.oncall_emails import OnCallEmailStore
from bot.store.oncall_events import OnCallEventStore

log = logging.getLogger(__name__)

ONCALL_FEED_PREFIX = "/oncall/"
FEED_DAYS = 90
PRODID = "-//incident-bot//on-call schedules//EN"


def shift_uid(schedule: OnCallSchedule, shift: Shift) -> str:
    holder = ",".join(shift.users)
    digest = hashlib.sha256(holder.encode()).hexdigest()[:16]
    return f"{schedule.slug}-{shift.start:%Y%m%dT%H%M%SZ}-{digest}@incident-bot"


def feed_shifts(reads: OnCallReads, schedule: OnCallSchedule, now: datetime) -> list[Shift]:
    """Held shifts from the one holding `now` (whole) to the last that starts before `now + 90 days`
    (whole too: a calendar shows when it ends)."""
    current = oncall.on_call(schedule, reads.overrides, now, reads.unreachable)
    start = current.since or now
    end = now + timedelta(days=FEED_DAYS)
    out = [s for s in reads.shifts(schedule, start, end) if s.users]
    if out and out[-1].end == end:
        last = oncall.on_call(schedule, reads.overrides, out[-1].start, reads.unreachable)
        if last.until is not None:
            out[-1] = Shift(out[-1].users, out[-1].start, last.until)
    return out


def calendar_for(
    reads: OnCallReads, schedule: OnCallSchedule, now: datetime, names: dict[str, str] | None = None
) -> bytes:
    names = names or {}
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"On call: {schedule.name}")
    for shift in feed_shifts(reads, schedule, now):
        holders = ", ".join(names.get(user, user) for user in shift.users)
        event = Event()
        event.add("uid", shift_uid(schedule, shift))
        event.add("dtstamp", now)
        event.add("dtstart", shift.start)
        event.add("dtend", shift.end)
        event.add("summary", f"On call ({schedule.name}): {holders}")
        event.add("description", f"{schedule.name}: {', '.join(shift.users)}")
        calendar.add_component(event)
    return calendar.to_ical()


def make_oncall_feed(
    config: OnCallConfig,
    emails: OnCallEmailStore,
    names: NameStore,
    token: str | None,
    clock: Callable[[], datetime],
) -> Callable[[dict, Callable], Iterable[bytes]]:
    def handle(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _reply(start_response, "405 Method Not Allowed", b"GET only\n")
        if not token:
            return _reply(
                start_response, "404 Not Found", b"the on-call feed is off: set ONCALL_FEED_TOKEN\n"
            )
        given = (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [""])[0]
        if not hmac.compare_digest(given.encode(), token.encode()):
            return _reply(start_response, "401 Unauthorized", b"a missing or wrong token\n")
        name = environ.get("PATH_INFO", "")[len(ONCALL_FEED_PREFIX) :]
        reads = OnCallReads.from_store(config, emails, OnCallEventStore(emails.engine))
        schedule = reads.schedule(name[: -len(".ics")]) if name.endswith(".ics") else None
        if schedule is None or schedule.slug != name[: -len(".ics")]:
            return _reply(start_response, "404 Not Found", b"no such on-call schedule\n")
        now = clock().replace(microsecond=0)
        users = {u for layer in schedule.layers for u in layer.users}
        body = calendar_for(reads, schedule, now, names.known(users))
        if environ.get("REQUEST_METHOD") == "HEAD":
            return _reply(start_response, "200 OK", body, "text/calendar; charset=utf-8", head=True)
        return _reply(start_response, "200 OK", body, "text/calendar; charset=utf-8")

    return handle


def _reply(
    start_response: Callable,
    status: str,
    body: bytes,
    content_type: str = "text/plain; charset=utf-8",
    head: bool = False,
) -> Iterable[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    if content_type.startswith("text/calendar"):
        headers.append(("Cache-Control", "private, max-age=300"))
    start_response(status, headers)
    return [] if head else [body]
