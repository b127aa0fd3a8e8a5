"""`/incident oncall`: who is on call (in the reader's time zone), overrides added, taken and removed.

Overrides are events of the on-call stream (who added it, when); the CLI, the ICS feed and paging
read them back through `OnCallReads`.
"""

from __future__ import annotations

import difflib
import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.core import oncall
from bot.core.commands import Command
from bot.core.errors import ConcurrencyConflict, NamesUnavailable, UserError
from bot.core.oncall import OnCallSchedule
from bot.core.oncall_events import (
    OnCallLog,
    OnCallPayload,
    OverrideAdded,
    OverrideRemoved,
    override_end,
    replay,
)
from bot.core.replies import reply
from bot.service.base import MAX_CONFLICT_RETRIES, Outcome, ServiceBase, backoff
from bot.service.oncall import OnCallReads
from bot.store.oncall_emails import OnCallEmailStore
from bot.store.oncall_events import OnCallEventStore

log = logging.getLogger(__name__)

RECENT_HANDOFFS = 3  # shown per schedule by /incident oncall


class TimeZones(Protocol):
    """A person's IANA time zone as Slack has it (users.info `tz`); None when it gives none."""

    def user_time_zone(self, user_id: str) -> str | None: ...


def local_text(at: datetime | None, zone: ZoneInfo) -> str | None:
    """`Tue 1 Dec 09:00` in `zone`; None for an open bound (the template says so)."""
    if at is None:
        return None
    local = at.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


class OnCallCommands(ServiceBase):
    time_zones: TimeZones | None = None  # Slack's users.info; none: every reader sees UTC

    @functools.cached_property
    def oncall_stream(self) -> OnCallEventStore:
        return OnCallEventStore(self.store.engine)

    def oncall_log(self) -> OnCallLog:
        return replay(self.oncall_stream.load())

    def oncall_reads(self) -> OnCallReads:
        return OnCallReads.from_store(
            self.policy.oncall, OnCallEmailStore(self.store.engine), self.oncall_stream
        )

    def reader_zone(self, user: str) -> tuple[ZoneInfo, bool]:
        """The reader's zone from Slack, and whether it came from Slack (else UTC)."""
        if self.time_zones is not None:
            try:
                name = self.time_zones.user_time_zone(user)
            except NamesUnavailable as exc:
                log.info("no time zone for %s from Slack (%s); showing UTC", user, exc)
                name = None
            if name:
                try:
                    return ZoneInfo(name), True
                except (ValueError, KeyError):
                    log.warning("Slack gave %s the unknown time zone %r; showing UTC", user, name)
        return ZoneInfo("UTC"), False

    def oncall_command(self, command: Command, actor: str, now: datetime) -> Outcome:
        reads = self.oncall_reads()
        if not reads.schedules():
            raise UserError(reply("oncall_no_schedules"))
        if command.sub == "remove":
            return self._remove_override(command, actor, now)
        zone, from_slack = self.reader_zone(actor)
        if command.sub in ("override", "take"):
            return self._add_override(command, actor, now, reads, zone)
        schedules = reads.schedules()
        if command.text:
            schedules = (self._schedule(reads, command.text),)
        view = self._oncall_view(reads, schedules, now, zone, from_slack)
        return Outcome(self.messages.oncall_now(view))

    def _schedule(self, reads: OnCallReads, word: str) -> OnCallSchedule:
        found = reads.schedule(word)
        if found is not None:
            return found
        names = [s.name for s in reads.schedules()]
        by_slug = {s.slug: s.name for s in reads.schedules()}
        close = difflib.get_close_matches(word.lower(), [n.lower() for n in names], n=3, cutoff=0.4)
        close += difflib.get_close_matches(oncall.slug_for(word), list(by_slug), n=3, cutoff=0.4)
        lowered = {n.lower(): n for n in names}
        choices = tuple(dict.fromkeys(lowered.get(c) or by_slug[c] for c in close)) or tuple(names)
        raise UserError(reply("oncall_unknown_schedule", word=word, choices=choices[:3]))

    def _add_override(
        self, command: Command, actor: str, now: datetime, reads: OnCallReads, zone: ZoneInfo
    ) -> Outcome:
        schedule = self._schedule(reads, command.text)
        user = command.user if command.sub == "override" else actor
        assert user is not None
        if command.due:
            try:
                end = override_end(command.due, now, zone)
            except ValueError as exc:
                raise UserError(reply("oncall_bad_end", problem=str(exc))) from None
        else:  # take: until the current shift's end
            held = oncall.on_call(schedule, reads.overrides, now, reads.unreachable)
            if held.until is None:
                raise UserError(reply("oncall_nobody_to_take_from", schedule=schedule.name))
            end = held.until
        start = now.astimezone(UTC)

        def add(log_: OnCallLog) -> list[OnCallPayload]:
            return [OverrideAdded(log_.last_seq + 1, schedule.name, user, start, end)]

        (event,) = self.append_oncall(add, actor, now)
        assert isinstance(event.payload, OverrideAdded)
        answer = reply(
            "oncall_override_added",
            id=event.payload.override_id,
            user=user,
            schedule=schedule.name,
            start=local_text(start, zone),
            end=local_text(end, zone),
            zone=str(zone.key),
        )
        return Outcome(self.messages.reply(answer))

    def _remove_override(self, command: Command, actor: str, now: datetime) -> Outcome:
        wanted = command.item
        assert wanted is not None
        removed: dict[str, Any] = {}

        def remove(log_: OnCallLog) -> list[OnCallPayload]:
            record = log_.overrides.get(wanted)
            if record is None:
                raise UserError(reply("oncall_no_such_override", id=wanted))
            removed.update(user=record.override.user, schedule=record.override.schedule)
            return [OverrideRemoved(wanted)]

        self.append_oncall(remove, actor, now)
        return Outcome(self.messages.reply(reply("oncall_override_removed", id=wanted, **removed)))

    def append_oncall(
        self, decide: Callable[[OnCallLog], list[OnCallPayload]], actor: str, now: datetime
    ) -> list[Any]:
        """Decide on the stream as it stands and append; decide again if another writer got there
        first (another replica, or the same handoff decided twice)."""
        for attempt in range(MAX_CONFLICT_RETRIES):
            log_ = self.oncall_log()
            payloads = decide(log_)
            if not payloads:
                return []
            try:
                return self.oncall_stream.append(log_.last_seq, payloads, actor, now)
            except ConcurrencyConflict:
                backoff(attempt)
        raise ConcurrencyConflict("the on-call log is changing too fast; try again")

    def _oncall_view(
        self,
        reads: OnCallReads,
        schedules: tuple[OnCallSchedule, ...],
        now: datetime,
        zone: ZoneInfo,
        from_slack: bool,
    ) -> dict[str, Any]:
        log_ = self.oncall_log()
        rows = []
        for schedule in schedules:
            held = oncall.on_call(schedule, reads.overrides, now, reads.unreachable)
            after = oncall.next_on_call(schedule, reads.overrides, now, reads.unreachable)
            rows.append(
                {
                    "name": schedule.name,
                    "users": list(held.users),
                    "since": local_text(held.since, zone),
                    "until": local_text(held.until, zone),
                    "next": None
                    if after is None
                    else {"users": list(after.users), "since": local_text(after.since, zone)},
                    "overrides": [
                        {
                            "id": r.override_id,
                            "user": r.override.user,
                            "start": local_text(r.override.start, zone),
                            "end": local_text(r.override.end, zone),
                            "by": r.by,
                            "at": local_text(r.at, zone),
                        }
                        for r in log_.overrides_of(schedule, now)
                    ],
                    "handoffs": [
                        {"users": list(h.users), "at": local_text(h.shift_start, zone)}
                        for h in sorted(log_.handoffs_of(schedule), key=lambda h: h.shift_start)[
                            -RECENT_HANDOFFS:
                        ]
                    ],
                }
            )
        return {"schedules": rows, "zone": str(zone.key), "from_slack": from_slack}
