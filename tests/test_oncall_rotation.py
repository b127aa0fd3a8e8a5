"""On-call rotations as pure functions: wall-clock handoffs across 2026's DST changes, layers, hours,
overrides, gaps, the seed's schedules, follow-the-sun coverage, and a property test of `shifts`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.oncall import (
    Gap,
    Hours,
    Layer,
    OnCall,
    OnCallSchedule,
    Override,
    Rotation,
    Shift,
    coverage,
    local_instant,
    next_on_call,
    on_call,
    parse_clock,
    parse_days,
    parse_duration,
    parse_weekday,
    parse_zone,
    shifts,
    slug_for,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")
H = timedelta(hours=1)
D = timedelta(days=1)
PRIMARY = ("alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com")
SECONDARY = ("erin@example.com", "frank@example.com")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekly(users: tuple[str, ...], zone: ZoneInfo, **kwargs) -> OnCallSchedule:
    return OnCallSchedule("Weekly", (Layer(Rotation("weekly", time(9), timezone=zone, **kwargs), users),))


def handoffs(schedule: OnCallSchedule, start: datetime, end: datetime) -> list[Shift]:
    """The shifts that start inside the window (the first one is clipped to it)."""
    return shifts(schedule, [], start, end)[1:]


# --- the config's words --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5min", timedelta(minutes=5)),
        ("10min", timedelta(minutes=10)),
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("2w", timedelta(weeks=2)),
        ("1.5h", timedelta(minutes=90)),
        (" 10 min ", timedelta(minutes=10)),
    ],
)
def test_durations_read_as_the_issue_writes_them(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "0m", "-1h", "m", "5 lightyears", "2h30m"])
def test_a_bad_duration_is_refused_naming_the_value(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_clock_days_weekday_and_zone_words() -> None:
    """Times of day, day sets (ranges wrap), weekday names and IANA zones parse or fail with ValueError."""
    assert parse_clock("09:00") == time(9) and parse_clock("7:30") == time(7, 30)
    assert parse_clock("24:00", allow_24=True) == time(0)
    for bad in ("24:00", "9", "12:60", "noon"):
        with pytest.raises(ValueError, match="time of day"):
            parse_clock(bad)
    assert parse_days("mon-fri") == {0, 1, 2, 3, 4}
    assert parse_days("sat,sun") == parse_days(["sat", "sun"]) == {5, 6}
    assert parse_days("fri-mon") == {4, 5, 6, 0}
    assert parse_days("Wednesday") == {2}
    assert parse_weekday("monday") == 0 and parse_weekday("SUN") == 6
    with pytest.raises(ValueError, match="day of the week"):
        parse_days("mon-funday")
    assert parse_zone("Europe/Berlin") == BERLIN
    for bad in ("Mars/Olympus", "", "../etc/passwd"):
        with pytest.raises(ValueError, match="IANA"):
            parse_zone(bad)


def test_slug_is_the_lowercased_name_with_runs_of_other_characters_as_one_dash() -> None:
    assert slug_for("Platform Team Primary") == "platform-team-primary"
    assert slug_for("  SRE / Follow-the-Sun (EU+US) ") == "sre-follow-the-sun-eu-us"
    assert OnCallSchedule("DB on-call #2", (Layer(Rotation(), ("a",)),)).slug == "db-on-call-2"


def test_impossible_rotations_are_refused() -> None:
    """An empty rotation, an unknown type, custom without a whole-day `every`, and a nameless schedule."""
    with pytest.raises(ValueError, match="at least one user"):
        Layer(Rotation(), ())
    with pytest.raises(ValueError, match="rotation type"):
        Rotation("monthly")
    with pytest.raises(ValueError, match="needs `every`"):
        Rotation("custom")
    with pytest.raises(ValueError, match="whole number of days"):
        Rotation("custom", every=timedelta(hours=12))
    with pytest.raises(ValueError, match="letter or digit"):
        OnCallSchedule("--", (Layer(Rotation(), ("a",)),))
    with pytest.raises(ValueError, match="no time zone"):
        on_call(weekly(PRIMARY, NY), [], datetime(2026, 3, 1, 12))


# --- local times that do not exist or exist twice ----------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "clock", "expected"),
    [
        # nonexistent: the first instant after the gap, i.e. when the clocks jump (03:00 local)
        (NY, date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7)),
        (NY, date(2026, 3, 8), time(2, 0), utc(2026, 3, 8, 7)),
        (BERLIN, date(2026, 3, 29), time(2, 30), utc(2026, 3, 29, 1)),
        # ambiguous: the first occurrence (still summer time)
        (NY, date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30)),
        (BERLIN, date(2026, 10, 25), time(2, 30), utc(2026, 10, 25, 0, 30)),
        # either side of a gap, unaffected
        (NY, date(2026, 3, 8), time(1, 59), utc(2026, 3, 8, 6, 59)),
        (NY, date(2026, 3, 8), time(3, 0), utc(2026, 3, 8, 7)),
    ],
)
def test_nonexistent_time_is_the_end_of_the_gap_and_ambiguous_time_its_first_occurrence(
    zone: ZoneInfo, day: date, clock: time, expected: datetime
) -> None:
    assert local_instant(day, clock, zone) == expected


def test_a_daily_handoff_inside_the_spring_gap_happens_when_the_clocks_jump() -> None:
    """A 02:30 daily handoff in New York: 02:30 EST the day before, 03:00 EDT (the gap's end) on
    8 March, 02:30 EDT after; the fall-back day's 01:30 handoff is the first 01:30."""
    gap = OnCallSchedule("N", (Layer(Rotation("daily", time(2, 30), timezone=NY), ("a", "b")),))
    starts = [s.start for s in handoffs(gap, utc(2026, 3, 6), utc(2026, 3, 10))]
    assert starts == [
        utc(2026, 3, 6, 7, 30),
        utc(2026, 3, 7, 7, 30),
        utc(2026, 3, 8, 7),
        utc(2026, 3, 9, 6, 30),
    ]
    fold = OnCallSchedule("F", (Layer(Rotation("daily", time(1, 30), timezone=NY), ("a", "b")),))
    starts = [s.start for s in handoffs(fold, utc(2026, 10, 31), utc(2026, 11, 3))]
    assert starts == [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


# --- rotations across 2026's DST changes -------------------------------------------------------------------

DST_CHANGES = [
    # zone, the Sunday of the change, the UTC hour of 09:00 local before it and after it
    pytest.param(NY, date(2026, 3, 8), 14, 13, id="new-york-spring"),
    pytest.param(NY, date(2026, 11, 1), 13, 14, id="new-york-fall"),
    pytest.param(BERLIN, date(2026, 3, 29), 8, 7, id="berlin-spring"),
    pytest.param(BERLIN, date(2026, 10, 25), 7, 8, id="berlin-fall"),
]


@pytest.mark.parametrize(("zone", "change", "before", "after"), DST_CHANGES)
def test_weekly_0900_handoff_stays_0900_local_across_the_change(
    zone: ZoneInfo, change: date, before: int, after: int
) -> None:
    schedule = weekly(PRIMARY, zone)
    around = datetime.combine(change, time(12), UTC)
    found = handoffs(schedule, around - 21 * D, around + 21 * D)
    assert len(found) == 6
    for shift in found:
        local = shift.start.astimezone(zone)
        assert (local.weekday(), local.time()) == (0, time(9))
    hours = [s.start.hour for s in found]
    assert hours == [before] * 3 + [after] * 3
    # the week holding the change is an hour shorter (spring) or longer (fall); the others are 168 h
    lengths = [(b.start - a.start) / H for a, b in zip(found, found[1:], strict=False)]
    assert lengths == [168, 168, 168 + (after - before), 168, 168]
    # and the users keep turning, one a week
    names = [s.users[0] for s in found]
    assert all(PRIMARY.index(b) == (PRIMARY.index(a) + 1) % 4 for a, b in zip(names, names[1:], strict=False))


@pytest.mark.parametrize(("zone", "change", "before", "after"), DST_CHANGES)
def test_weekly_handoff_on_the_day_of_the_change_is_at_0900_local_that_day(
    zone: ZoneInfo, change: date, before: int, after: int
) -> None:
    """handoff_day sunday: the handoff falls on the change's own Sunday, after the change (09:00 is
    well past it), so it is already at the new offset."""
    schedule = weekly(("x", "y"), zone, handoff_day=6)
    at = on_call(schedule, [], datetime.combine(change, time(12), UTC) + D)
    assert at.since == datetime.combine(change, time(after), UTC)
    assert at.until == datetime.combine(change + 7 * D, time(after), UTC)


def test_daily_handoff_keeps_the_local_time_and_the_change_day_is_23_hours() -> None:
    schedule = OnCallSchedule("D", (Layer(Rotation("daily", time(9), timezone=BERLIN), ("a", "b", "c")),))
    found = handoffs(schedule, utc(2026, 3, 26), utc(2026, 4, 1))
    assert [s.start for s in found] == [utc(2026, 3, d, 8) for d in (26, 27, 28)] + [
        utc(2026, 3, d, 7) for d in (29, 30, 31)
    ]
    assert found[2].end - found[2].start == 23 * H  # 28 March 09:00 CET -> 29 March 09:00 CEST
    first = ("a", "b", "c").index(found[0].users[0])
    assert [s.users[0] for s in found] == [("a", "b", "c")[(first + i) % 3] for i in range(6)]


def test_custom_every_two_weeks_from_a_start_date() -> None:
    """users[0] takes the first turn on `start` at handoff_time; turns last 14 local days; before the
    first turn nobody holds the layer."""
    rotation = Rotation("custom", time(9), timezone=NY, start=date(2026, 2, 2), every=parse_duration("2w"))
    schedule = OnCallSchedule("Two weeks", (Layer(rotation, ("a", "b", "c")),))
    found = shifts(schedule, [], utc(2026, 1, 20), utc(2026, 4, 20))
    assert found[0] == Shift((), utc(2026, 1, 20), utc(2026, 2, 2, 14))
    assert [(s.users, s.start) for s in found[1:]] == [
        (("a",), utc(2026, 2, 2, 14)),
        (("b",), utc(2026, 2, 16, 14)),
        (("c",), utc(2026, 3, 2, 14)),  # holds across 8 March: 13 days 23 hours
        (("a",), utc(2026, 3, 16, 13)),
        (("b",), utc(2026, 3, 30, 13)),
        (("c",), utc(2026, 4, 13, 13)),
    ]
    before = on_call(schedule, [], utc(2026, 1, 25))
    assert before.users == () and before.since is None and before.until == utc(2026, 2, 2, 14)


def test_weekly_start_date_not_on_the_handoff_day_begins_on_the_next_handoff_day() -> None:
    schedule = weekly(("a", "b"), NY, start=date(2026, 1, 7), handoff_day=parse_weekday("friday"))
    first = next_on_call(schedule, [], utc(2026, 1, 7, 20))
    assert first is not None and first.users == ("a",)
    assert first.since == utc(2026, 1, 9, 14) and first.until == utc(2026, 1, 16, 14)


# --- the seed's schedules ----------------------------------------------------------------------------------


def seed_schedules() -> list[OnCallSchedule]:
    """The seed config: both weekly at 09:00, the second in the top-level time_zone (America/New_York)."""
    return [
        OnCallSchedule(
            "Platform Team Primary",
            (
                Layer(
                    Rotation("weekly", parse_clock("09:00"), timezone=parse_zone("America/New_York")), PRIMARY
                ),
            ),
        ),
        OnCallSchedule(
            "Platform Team Secondary",
            (Layer(Rotation("weekly", parse_clock("09:00"), timezone=NY), SECONDARY),),
        ),
    ]


def test_seed_schedules_count_turns_from_monday_1_january_2024() -> None:
    primary, secondary = seed_schedules()
    weeks = (date(2026, 3, 9) - date(2024, 1, 1)).days // 7  # Monday 9 March 2026, just after the change
    before, after = utc(2026, 3, 9, 12, 59), utc(2026, 3, 9, 13, 0)
    assert on_call(primary, [], before).users == (PRIMARY[(weeks - 1) % 4],)
    assert on_call(primary, [], after).users == (PRIMARY[weeks % 4],)
    assert on_call(secondary, [], before).users == (SECONDARY[(weeks - 1) % 2],)
    now = on_call(secondary, [], after)
    assert now == OnCall("Platform Team Secondary", (SECONDARY[weeks % 2],), after, after + 7 * 24 * H)
    assert on_call(primary, [], utc(2024, 1, 1, 14)).users == (PRIMARY[0],)
    assert on_call(primary, [], utc(2024, 1, 1, 13, 59)).users == ()  # before the first turn
    upcoming = next_on_call(primary, [], after)
    assert upcoming is not None and upcoming.users == (PRIMARY[(weeks + 1) % 4],)
    assert upcoming.since == utc(2026, 3, 16, 13)


def test_seed_schedules_cover_every_hour_and_share_it_evenly() -> None:
    start = utc(2026, 1, 5, 14)  # a Monday handoff; four weeks without a DST change
    report = coverage(seed_schedules(), [], start, start + 28 * D)
    assert report.gaps == () and report.overlaps == ()
    assert report.hours == {**dict.fromkeys(SECONDARY, 14 * D), **dict.fromkeys(PRIMARY, 7 * D)}


# --- layers, hours and overrides ----------------------------------------------------------------------------


def business_hours_schedule(days: str = "mon-fri") -> OnCallSchedule:
    """A weekly base layer, and a later daytime layer that wins 07:00-19:00 New York on `days`."""
    return OnCallSchedule(
        "Layered",
        (
            Layer(Rotation("weekly", time(9), timezone=NY), ("base",)),
            Layer(
                Rotation("daily", time(7), timezone=NY),
                ("day1", "day2"),
                Hours(time(7), time(19), parse_days(days)),
            ),
        ),
    )


def test_a_later_layer_wins_inside_its_hours_and_the_earlier_one_shows_outside_them() -> None:
    schedule = business_hours_schedule()
    # Friday 6 March 2026 (EST) and Monday 9 March (EDT)
    friday = shifts(schedule, [], utc(2026, 3, 6, 5), utc(2026, 3, 9, 23))
    holders = [(s.users, s.start, s.end) for s in friday]
    day = holders[1][0]
    assert holders == [
        (("base",), utc(2026, 3, 6, 5), utc(2026, 3, 6, 12)),
        (day, utc(2026, 3, 6, 12), utc(2026, 3, 7, 0)),
        (("base",), utc(2026, 3, 7, 0), utc(2026, 3, 9, 11)),  # the weekend: mon-fri only
        ((("day1",) if day == ("day2",) else ("day2",)), utc(2026, 3, 9, 11), utc(2026, 3, 9, 23)),
    ]


def test_an_overnight_window_belongs_to_the_day_it_starts() -> None:
    """hours fri 22:00-06:00: Friday night into Saturday morning, not Thursday night."""
    schedule = OnCallSchedule(
        "Nights",
        (
            Layer(
                Rotation("weekly", time(9), timezone=BERLIN),
                ("night",),
                Hours(time(22), time(6), parse_days("fri")),
            ),
        ),
    )
    found = [s for s in shifts(schedule, [], utc(2026, 3, 1), utc(2026, 3, 15)) if s.users]
    assert [(s.start, s.end) for s in found] == [
        (utc(2026, 3, 6, 21), utc(2026, 3, 7, 5)),
        (utc(2026, 3, 13, 21), utc(2026, 3, 14, 5)),
    ]
    gap = on_call(schedule, [], utc(2026, 3, 10))
    assert gap.users == () and (gap.since, gap.until) == (utc(2026, 3, 7, 5), utc(2026, 3, 13, 21))


def test_an_overnight_window_across_the_spring_change_is_an_hour_shorter() -> None:
    schedule = OnCallSchedule(
        "Nights", (Layer(Rotation("daily", time(22), timezone=NY), ("n",), Hours(time(22), time(6))),)
    )
    held = on_call(schedule, [], utc(2026, 3, 8, 6))
    assert held.users == ("n",) and (held.since, held.until) == (utc(2026, 3, 8, 3), utc(2026, 3, 8, 10))


def test_overrides_win_over_every_layer_and_the_later_override_wins() -> None:
    schedule = business_hours_schedule()
    monday_noon = utc(2026, 3, 9, 16)
    overrides = [
        Override("Layered", "ovr1", monday_noon - H, monday_noon + 2 * H),
        Override("layered", "ovr2", monday_noon, monday_noon + H),  # by slug, later: wins where both hold
        Override("Someone else's", "nope", monday_noon - 5 * H, monday_noon + 5 * H),
    ]
    found = shifts(schedule, overrides, monday_noon - 2 * H, monday_noon + 3 * H)
    day = found[0].users
    assert [(s.users, s.start, s.end) for s in found] == [
        (day, monday_noon - 2 * H, monday_noon - H),
        (("ovr1",), monday_noon - H, monday_noon),
        (("ovr2",), monday_noon, monday_noon + H),
        (("ovr1",), monday_noon + H, monday_noon + 2 * H),
        (day, monday_noon + 2 * H, monday_noon + 3 * H),
    ]
    assert on_call(schedule, overrides, monday_noon + 30 * timedelta(minutes=1)).until == monday_noon + H


def test_an_override_fills_a_gap_and_nobody_is_on_call_with_bounds_elsewhere() -> None:
    schedule = OnCallSchedule(
        "Days only",
        (
            Layer(
                Rotation("daily", time(9), timezone=NY),
                ("d",),
                Hours(time(9), time(17), parse_days("mon-fri")),
            ),
        ),
    )
    saturday = utc(2026, 3, 14, 16)
    nobody = on_call(schedule, [], saturday)
    assert nobody.users == ()
    assert (nobody.since, nobody.until) == (utc(2026, 3, 13, 21), utc(2026, 3, 16, 13))
    upcoming = next_on_call(schedule, [], saturday)
    assert upcoming is not None and (upcoming.users, upcoming.since) == (("d",), utc(2026, 3, 16, 13))
    covered = [Override("Days only", "weekend", saturday - 2 * H, saturday + 2 * H)]
    assert on_call(schedule, covered, saturday).users == ("weekend",)
    found = shifts(schedule, covered, utc(2026, 3, 14), utc(2026, 3, 15))
    assert [s.users for s in found] == [(), ("weekend",), ()]
    report = coverage([schedule], covered, utc(2026, 3, 14), utc(2026, 3, 15))
    assert report.gaps == (
        Gap("Days only", utc(2026, 3, 14), saturday - 2 * H),
        Gap("Days only", saturday + 2 * H, utc(2026, 3, 15)),
    )
    assert report.hours == {"weekend": 4 * H}


def test_a_lone_user_without_hours_holds_it_beyond_the_horizon() -> None:
    held = on_call(weekly(("solo",), NY), [], utc(2026, 6, 1))
    assert held.users == ("solo",) and held.since is None and held.until is None


def test_coverage_reports_a_person_holding_two_schedules_at_once() -> None:
    primary, secondary = seed_schedules()
    start = utc(2026, 1, 5, 14)
    clash = [Override("Platform Team Secondary", PRIMARY[0], start + D, start + D + 3 * H)]
    report = coverage([primary, secondary], clash, start, start + 7 * D)
    holder = on_call(primary, [], start + D).users[0]
    if holder == PRIMARY[0]:
        assert [(o.user, o.schedules, o.start, o.end) for o in report.overlaps] == [
            (PRIMARY[0], ("Platform Team Primary", "Platform Team Secondary"), start + D, start + D + 3 * H)
        ]
    else:
        assert report.overlaps == ()
    weeks = (date(2026, 1, 5) - date(2024, 1, 1)).days // 7
    assert holder == PRIMARY[weeks % 4]


# --- follow-the-sun ----------------------------------------------------------------------------------------


def follow_the_sun() -> OnCallSchedule:
    """Europe/London 00:00-12:00, then America/New_York 07:00-19:00 (the later layer)."""
    return OnCallSchedule(
        "Follow the sun",
        (
            Layer(Rotation("weekly", time(0), timezone=LONDON), ("emea1", "emea2"), Hours(time(0), time(12))),
            Layer(Rotation("weekly", time(7), timezone=NY), ("amer1", "amer2"), Hours(time(7), time(19))),
        ),
    )


def test_follow_the_sun_has_an_hourly_gap_only_while_the_regions_dst_dates_differ() -> None:
    """23:00-24:00 UTC each day from 8 to 28 March and from 25 to 31 October 2026, nothing else."""
    report = coverage([follow_the_sun()], [], utc(2026, 1, 1), utc(2027, 1, 1))
    days = [date(2026, 3, d) for d in range(8, 29)] + [date(2026, 10, d) for d in range(25, 32)]
    expected = tuple(
        Gap("Follow the sun", datetime.combine(d, time(23), UTC), datetime.combine(d + D, time(0), UTC))
        for d in days
    )
    assert report.gaps == expected
    assert len(expected) == 28
    assert sum(report.hours.values(), timedelta(0)) == (365 * 24 - 28) * H


def test_follow_the_sun_hands_over_at_each_regions_local_time() -> None:
    schedule = follow_the_sun()
    winter = on_call(schedule, [], utc(2026, 2, 2, 13))
    assert winter.users[0].startswith("amer") and (winter.since, winter.until) == (
        utc(2026, 2, 2, 12),
        utc(2026, 2, 3, 0),
    )
    summer = on_call(schedule, [], utc(2026, 7, 1, 5))
    assert summer.users[0].startswith("emea") and (summer.since, summer.until) == (
        utc(2026, 6, 30, 23),
        utc(2026, 7, 1, 11),
    )
    march = on_call(schedule, [], utc(2026, 3, 10, 11, 30))  # both hold; New York is the later layer
    assert march.users[0].startswith("amer") and march.since == utc(2026, 3, 10, 11)


# --- property: shifts tile any window and agree with on_call and a direct reading ---------------------------

ZONES = [NY, BERLIN, LONDON, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Asia/Kolkata"), ZoneInfo("UTC")]
POOL = ("u1", "u2", "u3", "u4")
clocks = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))

rotations = st.builds(
    Rotation,
    kind=st.sampled_from(["daily", "weekly", "custom"]),
    handoff_time=clocks,
    handoff_day=st.integers(0, 6),
    timezone=st.sampled_from(ZONES),
    start=st.dates(date(2025, 6, 1), date(2026, 12, 31)),
    every=st.integers(1, 21).map(lambda n: timedelta(days=n)),
)
hours = st.none() | st.builds(Hours, clocks, clocks, st.frozensets(st.integers(0, 6), min_size=1, max_size=7))
layers = st.builds(
    Layer, rotations, st.lists(st.sampled_from(POOL), min_size=1, max_size=4).map(tuple), hours
)
schedules = st.builds(OnCallSchedule, st.just("Prop"), st.lists(layers, min_size=1, max_size=3).map(tuple))
instants = st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC))
overrides = st.lists(
    st.builds(
        lambda name, user, start, minutes: Override(name, user, start, start + timedelta(minutes=minutes)),
        st.sampled_from(["Prop", "prop", "Other"]),
        st.sampled_from(("o1", "o2")),
        instants,
        st.integers(1, 3 * 24 * 60),
    ),
    max_size=3,
)


def holder_at(schedule: OnCallSchedule, given: list[Override], at: datetime) -> str | None:
    """Who holds `schedule` at `at`, read directly at that one instant (no sweeping)."""
    for override in reversed(given):
        if slug_for(override.schedule) == schedule.slug and override.start <= at < override.end:
            return override.user
    for layer in reversed(schedule.layers):
        rotation, zone = layer.rotation, layer.rotation.timezone
        local_day = at.astimezone(zone).date()
        if layer.hours is not None:
            windows = [
                (
                    local_instant(day, layer.hours.from_time, zone),
                    local_instant(
                        day + (D if layer.hours.overnight else timedelta(0)), layer.hours.to_time, zone
                    ),
                )
                for day in (local_day - D, local_day)
                if day.weekday() in layer.hours.days
            ]
            if not any(a <= at < b for a, b in windows):
                continue
        turn = [
            n
            for n in range(
                (local_day - rotation.first_day).days // rotation.turn_days - 2,
                (local_day - rotation.first_day).days // rotation.turn_days + 2,
            )
            if local_instant(rotation.first_day + n * rotation.turn_days * D, rotation.handoff_time, zone)
            <= at
        ]
        n = max(turn)
        if n >= 0:
            return layer.users[n % len(layer.users)]
    return None


@settings(max_examples=150, deadline=None)
@given(
    schedule=schedules,
    given_overrides=overrides,
    start=instants,
    length_minutes=st.integers(1, 40 * 24 * 60),
    probes=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=6),
)
def test_shifts_tile_the_window_and_agree_with_on_call_everywhere(
    schedule: OnCallSchedule,
    given_overrides: list[Override],
    start: datetime,
    length_minutes: int,
    probes: list[int],
) -> None:
    end = start + timedelta(minutes=length_minutes)
    found = shifts(schedule, given_overrides, start, end)
    assert found[0].start == start and found[-1].end == end
    for a, b in zip(found, found[1:], strict=False):
        assert a.end == b.start and a.users != b.users  # contiguous, no overlap, merged
    assert all(s.start < s.end for s in found)
    span = (end - start) // timedelta(microseconds=1)
    for probe in probes:
        at = start + timedelta(microseconds=span * probe >> 32)  # a point in [start, end)
        shift = next(s for s in found if s.start <= at < s.end)
        now = on_call(schedule, given_overrides, at)
        assert now.users == shift.users
        direct = holder_at(schedule, given_overrides, at)
        assert shift.users == (() if direct is None else (direct,))
        # on_call's bounds are the shift's own wherever the window did not clip it
        if shift.start > start:
            assert now.since == shift.start
        elif now.since is not None:
            assert now.since <= shift.start
        if shift.end < end:
            assert now.until == shift.end
        elif now.until is not None:
            assert now.until >= shift.end
