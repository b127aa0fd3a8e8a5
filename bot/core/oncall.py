"""On-call schedules as plain data, and who holds each one at any instant.

Pure functions of (schedule, overrides, instants); every result is a UTC instant.

Rules, in the order they are applied:

* A **rotation** hands a layer from one user to the next at `handoff_time` on the wall clock of its
  `timezone`. Turns are counted in calendar days of that zone (daily: 1, weekly: 7, custom: `every`,
  a whole number of days), never in fixed seconds, so a weekly 09:00 handoff stays 09:00 local on both
  sides of a DST change (the week that contains the change is an hour shorter or longer).
* `users[0]` takes the first turn at `handoff_time` on `start` (default 2024-01-01, a Monday); a weekly
  rotation's first turn is on the first `handoff_day` on or after `start`. Before its first turn a layer
  holds nobody. Custom rotations ignore `handoff_day`: their turns start on `start`.
* A layer with `hours` holds nobody outside that local window. `days` are the days a window *starts* on;
  a window whose `to` is not after `from` is overnight and ends the next day (so `from == to` is 24 hours,
  and "24:00" read by `parse_clock(..., allow_24=True)` is midnight at the end of the day).
* A later layer wins over an earlier one where both hold someone; where a later layer holds nobody, the
  earlier ones show through. An override wins over every layer; of two overrides, the later one wins.
  Where nothing holds the schedule, it is held by nobody (an empty `users`), and the bounds say how long.
* A user named in `unreachable` (an email Slack does not know) holds nothing: their turns and
  overrides are left out, so earlier layers show through or the schedule has a gap there.

Local times that do not exist or exist twice (DST changes) are resolved one way everywhere:

* a **nonexistent** local time (in the spring-forward gap, e.g. 02:30 on 8 March 2026 in New York) is the
  first instant after the gap (03:00 EDT, 07:00 UTC). Unlike PEP 495's fold=0 reading (which would give
  03:30 EDT), this keeps the mapping from wall time to instants monotonic, so a window never ends before
  it starts and wall times inside the gap all collapse onto the moment the clocks jump to;
* an **ambiguous** local time (in the fall-back hour, e.g. 01:30 on 1 November 2026 in New York) is its
  first occurrence (fold=0: 01:30 EDT, 05:30 UTC), as RFC 5545 reads it too.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_START = date(2024, 1, 1)  # a Monday
KINDS = ("daily", "weekly", "custom")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY: frozenset[int] = frozenset(range(7))
# How far `on_call` looks either way for the start and end of a holding before calling it unbounded.
SEARCH_HORIZON = timedelta(days=366)

_DAY = timedelta(days=1)
_UTC_ZONE = ZoneInfo("UTC")


# --- parsing the config's words (ValueError with a message fit to follow a key path) -----------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")
_UNIT_SECONDS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "wk", "week", "weeks"), 7 * 86400),
}
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_duration(text: str) -> timedelta:
    """`30s`, `5min`, `15m`, `2h`, `2d`, `1w` (a number, then a unit); more than zero."""
    match = _DURATION.match(text.lower()) if isinstance(text, str) else None
    if not match or match.group(2) not in _UNIT_SECONDS:
        raise ValueError(f"{text!r} is not a duration like 30s, 5min, 15m, 2h, 2d or 1w")
    number, unit = match.group(1), _UNIT_SECONDS[match.group(2)]
    seconds = int(number) * unit if number.isdigit() else float(number) * unit
    if seconds <= 0:
        raise ValueError(f"{text!r}: a duration must be more than zero")
    return timedelta(seconds=seconds)


def parse_clock(text: str, *, allow_24: bool = False) -> time:
    """A local wall time `HH:MM` (24-hour). With `allow_24`, "24:00" is midnight (an `hours.to` at day end)."""
    match = _CLOCK.match(text) if isinstance(text, str) else None
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if allow_24 and (hour, minute) == (24, 0):
            return time(0, 0)
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise ValueError(f"{text!r} is not a time of day like 09:00")


def parse_weekday(text: str) -> int:
    """`mon` or `monday` (any case) -> 0 .. `sun` -> 6."""
    word = text.strip().lower() if isinstance(text, str) else ""
    if word in WEEKDAYS:
        return WEEKDAYS.index(word)
    if word in _FULL_DAY_NAMES:
        return _FULL_DAY_NAMES.index(word)
    raise ValueError(f"{text!r} is not a day of the week like monday or mon")


def parse_days(spec: str | Iterable[str]) -> frozenset[int]:
    """`mon-fri`, `sat,sun`, `fri-mon` (wraps), or a list of such parts -> weekday numbers (Monday 0)."""
    parts = spec.split(",") if isinstance(spec, str) else list(spec)
    days: set[int] = set()
    for part in parts:
        if not isinstance(part, str) or not part.strip():
            raise ValueError(f"{spec!r} is not a set of days like mon-fri or sat,sun")
        first, _, last = part.partition("-")
        a = parse_weekday(first)
        b = parse_weekday(last) if last else a
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))
    if not days:
        raise ValueError(f"{spec!r} names no days")
    return frozenset(days)


def parse_zone(name: str) -> ZoneInfo:
    """An IANA zone name such as Europe/Berlin."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{name!r} is not an IANA time zone like America/New_York") from None


@lru_cache(maxsize=1024)
def slug_for(name: str) -> str:
    """The schedule's name lowercased, every run of characters other than a-z and 0-9 turned into one
    `-`, without a leading or trailing `-`: "Platform Team Primary" -> "platform-team-primary"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# --- the schedule as plain data -----------------------------------------------------------------------


@dataclass(frozen=True)
class Rotation:
    """When a layer passes from one user to the next. `every` is for `kind="custom"` (whole days)."""

    kind: str = "weekly"
    handoff_time: time = time(9, 0)
    handoff_day: int = 0  # Monday; weekly rotations only
    timezone: ZoneInfo = _UTC_ZONE
    start: date = DEFAULT_START
    every: timedelta | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.kind!r} is not a rotation type (daily, weekly or custom)")
        if self.kind == "custom":
            if self.every is None:
                raise ValueError("a custom rotation needs `every`, e.g. every: 2w")
            if self.every < _DAY or self.every % _DAY:
                raise ValueError(
                    f"custom rotation every {self.every} is not a whole number of days; "
                    "use a layer's hours for shifts shorter than a day"
                )
        if self.handoff_time.tzinfo is not None:
            raise ValueError("handoff_time is a wall-clock time in the rotation's zone, without a zone")
        if not 0 <= self.handoff_day <= 6:
            raise ValueError(f"handoff_day {self.handoff_day} is not 0 (Monday) .. 6 (Sunday)")

    @property
    def turn_days(self) -> int:
        if self.kind == "daily":
            return 1
        if self.kind == "weekly":
            return 7
        assert self.every is not None
        return self.every // _DAY

    @property
    def first_day(self) -> date:
        """The local date of `users[0]`'s first turn."""
        if self.kind == "weekly":
            return self.start + timedelta(days=(self.handoff_day - self.start.weekday()) % 7)
        return self.start


@dataclass(frozen=True)
class Hours:
    """A layer's local window: from `from_time` to `to_time` on each of `days` (the day a window starts)."""

    from_time: time
    to_time: time
    days: frozenset[int] = EVERY_DAY

    def __post_init__(self) -> None:
        if not self.days or not self.days <= EVERY_DAY:
            raise ValueError(f"hours.days {sorted(self.days)} must be weekdays 0 (Monday) .. 6 (Sunday)")
        if self.from_time.tzinfo is not None or self.to_time.tzinfo is not None:
            raise ValueError("hours are wall-clock times in the rotation's zone, without a zone")

    @property
    def overnight(self) -> bool:
        return self.to_time <= self.from_time


@dataclass(frozen=True)
class Layer:
    rotation: Rotation
    users: tuple[str, ...]
    hours: Hours | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.users, tuple):
            object.__setattr__(self, "users", tuple(self.users))
        if not self.users:
            raise ValueError("a rotation needs at least one user")


@dataclass(frozen=True)
class OnCallSchedule:
    """A named schedule; its later layers win over its earlier ones."""

    name: str
    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.layers, tuple):
            object.__setattr__(self, "layers", tuple(self.layers))
        if not slug_for(self.name):
            raise ValueError(f"schedule name {self.name!r} needs at least one letter or digit")
        if not self.layers:
            raise ValueError(f"schedule {self.name!r} has no rotation")

    @property
    def slug(self) -> str:
        return slug_for(self.name)


@dataclass(frozen=True)
class Override:
    """`user` holds the schedule (its name or slug) from `start` to `end`, whatever the layers say."""

    schedule: str
    user: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start, "override start"))
        object.__setattr__(self, "end", _utc(self.end, "override end"))
        if self.end <= self.start:
            raise ValueError("an override must end after it starts")


@dataclass(frozen=True)
class Shift:
    """One holding in the final schedule: `users` (empty: nobody) from `start` to `end`, UTC."""

    users: tuple[str, ...]
    start: datetime
    end: datetime


@dataclass(frozen=True)
class OnCall:
    """Who holds a schedule at an instant, since and until when (UTC). A bound is None when the holding
    reaches past `SEARCH_HORIZON` (e.g. a schedule with a single user and no hours)."""

    schedule: str
    users: tuple[str, ...]
    since: datetime | None
    until: datetime | None


@dataclass(frozen=True)
class Gap:
    schedule: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Overlap:
    """`user` holds several schedules at once (paged twice for the same hour)."""

    user: str
    schedules: tuple[str, ...]
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Coverage:
    gaps: tuple[Gap, ...]
    overlaps: tuple[Overlap, ...]
    hours: Mapping[str, timedelta] = field(default_factory=dict)  # time on call per user, most first


# --- instants -------------------------------------------------------------------------------------------


def _utc(at: datetime, what: str = "instant") -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} {at.isoformat()} has no time zone")
    return at.astimezone(UTC)


@lru_cache(maxsize=1 << 16)
def local_instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall time `clock` on `day` in `zone` (nonexistent and ambiguous times as the
    module docstring says)."""
    naive = datetime.combine(day, clock)
    first = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0: an ambiguous time's first occurrence
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # In a gap. fold=0 read it with the offset before the gap (too late), fold=1 with the offset after
    # it (too early); the gap ends between the two, at the first instant whose wall time is past `naive`.
    early = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    late = first
    while late - early > timedelta(seconds=1):
        mid = early + (late - early) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(zone).replace(tzinfo=None) > naive:
            late = mid
        else:
            early = mid
    return late


def _turn_start(rotation: Rotation, n: int) -> datetime:
    day = rotation.first_day + timedelta(days=n * rotation.turn_days)
    return local_instant(day, rotation.handoff_time, rotation.timezone)


def _turn_at(rotation: Rotation, at: datetime) -> int:
    """The number of the turn holding `at` (negative before the first turn)."""
    local_day = at.astimezone(rotation.timezone).date()
    n = (local_day - rotation.first_day).days // rotation.turn_days
    while at < _turn_start(rotation, n):
        n -= 1
    while at >= _turn_start(rotation, n + 1):
        n += 1
    return n


# --- one layer: sorted, disjoint (start, end, user) where it holds someone -------------------------------

_Span = tuple[datetime, datetime, str]
_Piece = tuple[datetime, datetime, str | None]


def _turns(layer: Layer, start: datetime, end: datetime) -> list[_Span]:
    rotation, users = layer.rotation, layer.users
    n = max(_turn_at(rotation, start), 0)
    begin = _turn_start(rotation, n)
    out: list[_Span] = []
    while begin < end:
        finish = _turn_start(rotation, n + 1)
        if max(begin, start) < min(finish, end):  # a turn can be empty where a whole day is skipped
            out.append((max(begin, start), min(finish, end), users[n % len(users)]))
        n, begin = n + 1, finish
    return out


def _windows(hours: Hours, zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    day = start.astimezone(zone).date() - _DAY  # yesterday's overnight window may still be open
    last = end.astimezone(zone).date()
    shift_end = _DAY if hours.overnight else timedelta(0)
    out: list[tuple[datetime, datetime]] = []
    while day <= last:
        if day.weekday() in hours.days:
            begin = max(local_instant(day, hours.from_time, zone), start)
            finish = min(local_instant(day + shift_end, hours.to_time, zone), end)
            if begin < finish:
                if out and out[-1][1] >= begin:
                    out[-1] = (out[-1][0], max(out[-1][1], finish))
                else:
                    out.append((begin, finish))
        day += _DAY
    return out


def _intersect(turns: list[_Span], windows: list[tuple[datetime, datetime]]) -> list[_Span]:
    out: list[_Span] = []
    i = j = 0
    while i < len(turns) and j < len(windows):
        (t0, t1, user), (w0, w1) = turns[i], windows[j]
        begin, finish = max(t0, w0), min(t1, w1)
        if begin < finish:
            out.append((begin, finish, user))
        if t1 <= w1:
            i += 1
        else:
            j += 1
    return out


def _layer_spans(layer: Layer, start: datetime, end: datetime) -> list[_Span]:
    turns = _turns(layer, start, end)
    if layer.hours is None:
        return turns
    return _intersect(turns, _windows(layer.hours, layer.rotation.timezone, start, end))


# --- combining layers and overrides ----------------------------------------------------------------------


def _paint(base: list[_Piece], top: Sequence[_Span]) -> list[_Piece]:
    """`base` (contiguous) with the sorted, disjoint `top` spans laid over it."""
    if not top:
        return base
    out: list[_Piece] = []
    i = 0
    for begin, finish, holder in base:
        cursor = begin
        while i < len(top) and top[i][0] < finish:
            t0, t1, user = top[i]
            if t0 > cursor:
                out.append((cursor, t0, holder))
                cursor = t0
            piece_end = min(t1, finish)
            if piece_end > cursor:
                out.append((cursor, piece_end, user))
                cursor = piece_end
            if t1 > finish:
                break
            i += 1
        if cursor < finish:
            out.append((cursor, finish, holder))
    return out


def _final(
    schedule: OnCallSchedule,
    overrides: Iterable[Override],
    start: datetime,
    end: datetime,
    unreachable: Collection[str] = (),
) -> list[_Piece]:
    pieces: list[_Piece] = [(start, end, None)]
    for layer in schedule.layers:
        spans = _layer_spans(layer, start, end)
        if unreachable:
            spans = [span for span in spans if span[2] not in unreachable]
        pieces = _paint(pieces, spans)
    slug = schedule.slug
    for override in overrides:
        if override.user in unreachable:
            continue
        if override.end > start and override.start < end and slug_for(override.schedule) == slug:
            span = (max(override.start, start), min(override.end, end), override.user)
            pieces = _paint(pieces, [span])
    merged: list[_Piece] = []
    for piece in pieces:
        if merged and merged[-1][2] == piece[2] and merged[-1][1] == piece[0]:
            merged[-1] = (merged[-1][0], piece[1], piece[2])
        else:
            merged.append(piece)
    return merged


def _holders(holder: str | None) -> tuple[str, ...]:
    return () if holder is None else (holder,)


def shifts(
    schedule: OnCallSchedule,
    overrides: Iterable[Override],
    start: datetime,
    end: datetime,
    unreachable: Collection[str] = (),
) -> list[Shift]:
    """The final schedule from `start` to `end`: consecutive shifts, each a different holding from the
    one before (nobody is a holding too), covering the window exactly and clipped to it."""
    start, end = _utc(start, "start"), _utc(end, "end")
    if end <= start:
        raise ValueError("the window must end after it starts")
    return [Shift(_holders(h), s, e) for s, e, h in _final(schedule, overrides, start, end, unreachable)]


def on_call(
    schedule: OnCallSchedule, overrides: Iterable[Override], at: datetime, unreachable: Collection[str] = ()
) -> OnCall:
    """Who holds `schedule` at `at`, and the bounds of that holding (of the gap, where nobody does)."""
    at = _utc(at, "at")
    overrides = tuple(overrides)
    back = ahead = timedelta(days=8)
    while True:
        lo, hi = at - back, at + ahead
        piece = next(p for p in _final(schedule, overrides, lo, hi, unreachable) if p[0] <= at < p[1])
        open_back = piece[0] == lo and back < SEARCH_HORIZON
        open_ahead = piece[1] == hi and ahead < SEARCH_HORIZON
        if not (open_back or open_ahead):
            break
        if open_back:
            back = min(back * 4, SEARCH_HORIZON)
        if open_ahead:
            ahead = min(ahead * 4, SEARCH_HORIZON)
    since = None if piece[0] == lo else piece[0]
    until = None if piece[1] == hi else piece[1]
    return OnCall(schedule.name, _holders(piece[2]), since, until)


def next_on_call(
    schedule: OnCallSchedule, overrides: Iterable[Override], at: datetime, unreachable: Collection[str] = ()
) -> OnCall | None:
    """The first holding by someone that starts after the one at `at` ends (None within the horizon)."""
    overrides = tuple(overrides)
    now = on_call(schedule, overrides, at, unreachable)
    if now.until is None:
        return None
    limit = _utc(at) + SEARCH_HORIZON
    begin, step = now.until, timedelta(days=8)
    while begin < limit:
        finish = min(begin + step, limit)
        for s, _, holder in _final(schedule, overrides, begin, finish, unreachable):
            if holder is not None:
                return on_call(schedule, overrides, s, unreachable)
        begin, step = finish, step * 4
    return None


def coverage(
    schedules: Iterable[OnCallSchedule],
    overrides: Iterable[Override],
    start: datetime,
    end: datetime,
    unreachable: Collection[str] = (),
) -> Coverage:
    """Gaps (nobody holds a schedule), people holding several schedules at once, and time on call per
    person, from `start` to `end`."""
    overrides = tuple(overrides)
    gaps: list[Gap] = []
    held: dict[str, list[tuple[datetime, datetime, str]]] = {}
    for schedule in schedules:
        for shift in shifts(schedule, overrides, start, end, unreachable):
            if not shift.users:
                gaps.append(Gap(schedule.name, shift.start, shift.end))
            for user in shift.users:
                held.setdefault(user, []).append((shift.start, shift.end, schedule.name))
    hours = {user: sum((e - s for s, e, _ in spans), timedelta(0)) for user, spans in held.items()}
    overlaps = [o for user, spans in held.items() for o in _double_booked(user, spans)]
    overlaps.sort(key=lambda o: (o.start, o.user))
    ranked = dict(sorted(hours.items(), key=lambda item: (-item[1], item[0])))
    return Coverage(tuple(gaps), tuple(overlaps), ranked)


def _double_booked(user: str, spans: list[tuple[datetime, datetime, str]]) -> list[Overlap]:
    changes: dict[datetime, list[tuple[int, str]]] = {}
    for s, e, name in spans:
        changes.setdefault(s, []).append((1, name))
        changes.setdefault(e, []).append((-1, name))
    active: dict[str, int] = {}
    out: list[Overlap] = []
    opened: tuple[datetime, tuple[str, ...]] | None = None
    for instant in sorted(changes):
        for delta, name in changes[instant]:
            active[name] = active.get(name, 0) + delta
            if not active[name]:
                del active[name]
        names = tuple(sorted(active))
        if opened is not None and opened[1] != names:
            out.append(Overlap(user, opened[1], opened[0], instant))
            opened = None
        if opened is None and len(names) > 1:
            opened = (instant, names)
    return out
