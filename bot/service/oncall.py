"""On-call reads (who is on call, coverage, a schedule's shifts) and the email lookups `serve` makes.

Users written as emails are shown as the Slack user id `users.lookupByEmail` gave when `serve`
started (from the cache), as the email where none was ever looked up, and hold nothing where Slack
knows no such user (a warning at start, a gap in coverage).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core import oncall
from bot.core.errors import NamesUnavailable
from bot.core.oncall import OnCallSchedule, Override, Shift
from bot.core.oncall_config import OnCallConfig
from bot.core.oncall_events import replay
from bot.store.oncall_emails import EmailLookups, OnCallEmailStore
from bot.store.oncall_events import OnCallEventStore

log = logging.getLogger(__name__)

# One email to a Slack user id, or None when Slack knows no such user; NamesUnavailable when it
# cannot answer now (rate limited, no scope, network).
EmailLookup = Callable[[str], str | None]


def iso(at: datetime | None) -> str | None:
    """`2026-12-01T14:00:00Z`: the UTC instants the CLI and JSON show."""
    return None if at is None else at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class OnCallReads:
    """The configured schedules as readers see them, with emails replaced as the cache says."""

    config: OnCallConfig
    lookups: EmailLookups = EmailLookups({}, frozenset())
    overrides: tuple[Override, ...] = ()  # in force: added with /incident oncall and not removed

    @classmethod
    def from_store(
        cls,
        config: OnCallConfig,
        emails: OnCallEmailStore | None,
        stream: OnCallEventStore | None = None,
    ) -> OnCallReads:
        """The config as the email cache and the on-call stream (overrides) say it stands."""
        lookups = EmailLookups({}, frozenset())
        if emails is not None and config.emails():
            lookups = emails.lookups(config.emails())
        overrides = replay(stream.load()).active_overrides() if stream is not None else ()
        return cls(config, lookups, overrides)

    @property
    def unreachable(self) -> frozenset[str]:
        return self.lookups.not_found

    def schedules(self) -> tuple[OnCallSchedule, ...]:
        found = self.lookups.found
        if not found:
            return self.config.schedules
        return tuple(
            dataclasses.replace(
                schedule,
                layers=tuple(
                    dataclasses.replace(layer, users=tuple(found.get(u, u) for u in layer.users))
                    for layer in schedule.layers
                ),
            )
            for schedule in self.config.schedules
        )

    def schedule(self, name_or_slug: str) -> OnCallSchedule | None:
        wanted = oncall.slug_for(name_or_slug)
        return next((s for s in self.schedules() if s.slug == wanted), None)

    def on_call_at(self, at: datetime, schedules: Iterable[OnCallSchedule] | None = None) -> dict[str, Any]:
        """`{"at", "schedules": [{"name", "on_call", "since", "until"}]}` (bounds of a gap where nobody is)."""
        rows = []
        for schedule in self.schedules() if schedules is None else schedules:
            held = oncall.on_call(schedule, self.overrides, at, self.unreachable)
            rows.append(
                {
                    "name": schedule.name,
                    "on_call": list(held.users),
                    "since": iso(held.since),
                    "until": iso(held.until),
                }
            )
        return {"at": iso(at), "schedules": rows}

    def coverage(self, start: datetime, end: datetime) -> dict[str, Any]:
        """Gaps, overlaps and hours per person from `start` to `end`."""
        report = oncall.coverage(self.schedules(), self.overrides, start, end, self.unreachable)
        return {
            "from": iso(start),
            "to": iso(end),
            "gaps": [{"schedule": g.schedule, "start": iso(g.start), "end": iso(g.end)} for g in report.gaps],
            "overlaps": [
                {"user": o.user, "schedules": list(o.schedules), "start": iso(o.start), "end": iso(o.end)}
                for o in report.overlaps
            ],
            "hours": {user: round(held / timedelta(hours=1), 2) for user, held in report.hours.items()},
            "unknown_emails": sorted(self.unreachable),
        }

    def shifts(self, schedule: OnCallSchedule, start: datetime, end: datetime) -> list[Shift]:
        return oncall.shifts(schedule, self.overrides, start, end, self.unreachable)


def look_up_emails(
    config: OnCallConfig, lookup: EmailLookup, emails: OnCallEmailStore, now: datetime
) -> Mapping[str, str | None]:
    """Ask Slack for each email the config names and cache the answers (best effort: an email Slack
    does not know is a warning; Slack not answering leaves the cache as it was)."""
    answers: dict[str, str | None] = {}
    for email in config.emails():
        try:
            user_id = lookup(email)
        except NamesUnavailable as exc:
            log.warning("could not look up on-call emails in Slack (%s); using the cache", exc)
            break
        except Exception:  # best effort: serve starts whatever Slack answers
            log.exception("could not look up on-call emails in Slack; using the cache")
            break
        answers[email] = user_id
        emails.record(email, user_id, now)
        if user_id is None:
            log.warning(
                "on-call: Slack has no user with the email %s; their turns are gaps until it does", email
            )
    return answers
