"""`incident-bot oncall [--schedule NAME] [--at ISO8601] [--json]` and
`incident-bot oncall coverage [--from ISO8601] [--weeks 4] [--json]`: the config file and the
database only (the email cache `serve` fills), no Slack credentials."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

EXIT_CONFIG = 2


def add_oncall_parser(commands: Any) -> None:
    oncall = commands.add_parser("oncall", help="who is on call (config and database only)")
    oncall.add_argument("--schedule", metavar="NAME", help="only this schedule (its name or slug)")
    oncall.add_argument("--at", metavar="ISO8601", help="at this instant (default now; no zone means UTC)")
    oncall.add_argument("--json", action="store_true", help="print JSON instead of text")
    views = oncall.add_subparsers(dest="oncall_command")
    coverage = views.add_parser("coverage", help="gaps, overlaps and hours per person over some weeks")
    coverage.add_argument("--from", dest="start", metavar="ISO8601", help="start (default now)")
    coverage.add_argument("--weeks", type=int, default=4, help="weeks to cover (default 4)")
    coverage.add_argument("--json", action="store_true", help="print JSON instead of text")


def parse_instant(text: str) -> datetime:
    """ISO 8601 (`2026-03-08T12:00Z`, `2026-03-08T07:00-05:00`, `2026-03-08`); without a zone, UTC."""
    value = datetime.fromisoformat(text.strip())
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def run_oncall(args: argparse.Namespace) -> int:
    from bot.config import load_report_settings
    from bot.core.errors import ConfigError
    from bot.core.policy import Policy
    from bot.render.renderer import Renderer
    from bot.render.views import Messages
    from bot.service.oncall import OnCallReads
    from bot.store.db import make_engine
    from bot.store.migrate import SchemaError, upgrade
    from bot.store.oncall_emails import OnCallEmailStore
    from bot.store.oncall_events import OnCallEventStore

    for quiet in ("alembic", "bot.store.migrate"):  # a report command: the migration lines are noise here
        logging.getLogger(quiet).setLevel(logging.WARNING)

    def fail(message: str) -> int:
        print(f"incident-bot: {message}", file=sys.stderr)
        return EXIT_CONFIG

    try:
        database_url, policy, template_dir = load_report_settings()
    except ConfigError as exc:
        return fail(str(exc))
    config = (policy or Policy()).oncall
    now = datetime.now(UTC).replace(microsecond=0)
    coverage = args.oncall_command == "coverage"
    try:
        start = parse_instant(args.start) if coverage and args.start else now
        at = parse_instant(args.at) if not coverage and args.at else now
    except ValueError as exc:
        return fail(f"not an ISO 8601 instant like 2026-03-08T12:00Z: {exc}")
    if coverage and not 0 < args.weeks <= 520:
        return fail("--weeks takes a whole number of weeks from 1 to 520")
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        reads = OnCallReads.from_store(config, OnCallEmailStore(engine), OnCallEventStore(engine))
    except SchemaError as exc:
        return fail(str(exc))
    finally:
        engine.dispose()
    messages = Messages(Renderer(template_dir), policy or Policy())
    if coverage:
        report = reads.coverage(start, start + timedelta(weeks=args.weeks))
        text = messages.oncall_coverage(report, args.weeks)
    else:
        schedules = reads.schedules()
        if args.schedule:
            chosen = reads.schedule(args.schedule)
            if chosen is None:
                known = ", ".join(s.name for s in schedules) or "none configured"
                return fail(f"no on-call schedule {args.schedule!r} (the schedules are {known})")
            schedules = (chosen,)
        report = reads.on_call_at(at, schedules)
        text = messages.oncall(report)
    print(json.dumps(report, indent=2) if args.json else text)
    return 0
