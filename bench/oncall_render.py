"""How long the final schedule takes to compute: 90 days of shifts for 200 schedules of 3 layers.

Run from the repository root:

    .venv/bin/python bench/oncall_render.py [--schedules 200] [--days 90] [--repeat 5]

Each schedule has three layers in zones on both sides of the Atlantic (so the window crosses DST
changes): a weekly primary rotation of 4-8 users, a daily follow-the-sun layer limited to 07:00-19:00
on weekdays, and a custom 2-week layer with an overnight window (22:00-06:00), plus two overrides.
Handoff times and zones vary between schedules. The window is the 90 days from 1 March 2026, which
holds the American and European spring changes.

Printed: the time for the whole set, cold (first run in this process, local times not yet cached)
and the best of --repeat warm runs; the aim is under 1 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import time as clock
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.oncall import (  # noqa: E402
    Hours,
    Layer,
    OnCallSchedule,
    Override,
    Rotation,
    local_instant,
    parse_days,
    parse_duration,
    shifts,
)

ZONES = ("America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Asia/Tokyo", "UTC")
START = datetime(2026, 3, 1, tzinfo=UTC)


def build(count: int, seed: int = 12) -> tuple[list[OnCallSchedule], list[Override]]:
    rng = random.Random(seed)
    schedules: list[OnCallSchedule] = []
    overrides: list[Override] = []
    for n in range(count):
        people = [f"user{n}-{i}@example.com" for i in range(rng.randint(4, 8))]
        zone = ZoneInfo(rng.choice(ZONES))
        other = ZoneInfo(rng.choice(ZONES))
        handoff = time(rng.randint(0, 23), rng.choice((0, 30)))
        layers = (
            Layer(Rotation("weekly", handoff, rng.randint(0, 6), zone), tuple(people)),
            Layer(
                Rotation("daily", time(7), timezone=other),
                tuple(rng.sample(people, 3)),
                Hours(time(7), time(19), parse_days("mon-fri")),
            ),
            Layer(
                Rotation("custom", handoff, timezone=zone, every=parse_duration("2w")),
                tuple(rng.sample(people, 2)),
                Hours(time(22), time(6)),
            ),
        )
        schedule = OnCallSchedule(f"Team {n} on call", layers)
        schedules.append(schedule)
        for _ in range(2):
            begin = START + timedelta(hours=rng.randint(0, 24 * 89))
            overrides.append(Override(schedule.name, rng.choice(people), begin, begin + timedelta(hours=6)))
    return schedules, overrides


def render(schedules: list[OnCallSchedule], overrides: list[Override], days: int) -> tuple[float, int]:
    began = clock.perf_counter()
    total = sum(len(shifts(s, overrides, START, START + timedelta(days=days))) for s in schedules)
    return clock.perf_counter() - began, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=200)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    schedules, overrides = build(args.schedules)
    local_instant.cache_clear()
    cold, total = render(schedules, overrides, args.days)
    warm = min(render(schedules, overrides, args.days)[0] for _ in range(args.repeat))
    print(
        f"{args.schedules} schedules x 3 layers, {args.days} days, {len(overrides)} overrides: "
        f"{total} shifts; cold {cold:.3f} s, warm best of {args.repeat} {warm:.3f} s (aim < 1 s)"
    )


if __name__ == "__main__":
    main()
