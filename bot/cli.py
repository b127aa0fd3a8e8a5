"""`incident-bot` (and `python -m bot`): serve Slack over HTTP, or play a demo incident locally."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from bot.config import load_settings
from bot.core.errors import ConfigError

EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: its subcommands and their options (the README documents each one)."""
    parser = argparse.ArgumentParser(prog="incident-bot", description="Slack-native incident response bot")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve Slack's requests over HTTP")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=3000, help="port to listen on (default 3000)")
    serve.add_argument("--threads", type=int, default=16, help="HTTP worker threads (default 16)")
    serve.add_argument(
        "--connection-limit",
        type=int,
        default=1000,
        help="open connections accepted at once (default 1000); idle ones are closed after 30 s",
    )
    demo = commands.add_parser("demo", help="play a whole incident against a local fake Slack")
    demo.add_argument("--db", help="SQLite file for the event log (default: a new file in a temp folder)")
    postmortem = commands.add_parser("postmortem", help="write an incident's postmortem as Markdown")
    postmortem.add_argument("incident", help="the incident, e.g. INC-7")
    postmortem.add_argument("--output", help="file to write (default: standard output)")
    postmortem.add_argument(
        "--include-private",
        action="store_true",
        help="write it even if the incident is private (you are allowed to read it)",
    )
    metrics = commands.add_parser("metrics", help="incident metrics over a window")
    metrics.add_argument("--since", default="30d", help="window ending now, in days, e.g. 30d (default 30d)")
    metrics.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bot.logs import setup_logging

    try:
        setup_logging()  # LOG_FORMAT, LOG_LEVEL; secrets never reach a line
    except ConfigError as exc:
        print(f"incident-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "demo":
        from bot.demo import run_demo

        return run_demo(args.db)
    if args.command in ("postmortem", "metrics"):
        return _report(args)
    return _serve(args.host, args.port, args.threads, args.connection_limit)


def _report(args: argparse.Namespace) -> int:
    """postmortem and metrics read the same database as serve; they need no Slack credentials."""
    import json
    import re
    from datetime import UTC, datetime, timedelta

    from bot.config import load_report_settings
    from bot.core.policy import Policy
    from bot.render.renderer import Renderer
    from bot.render.views import Messages
    from bot.service import IncidentService
    from bot.store.db import make_engine
    from bot.store.event_store import EventStore

    try:
        database_url, policy, template_dir = load_report_settings()
    except ConfigError as exc:
        print(f"incident-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    store = EventStore(make_engine(database_url))
    store.create_schema()
    service = IncidentService(store, policy or Policy(), Messages(Renderer(template_dir), policy or Policy()))
    if args.command == "postmortem":
        match = re.fullmatch(r"(?i)(?:inc-)?([0-9]{1,9})", args.incident.strip())
        if not match or not store.load(int(match.group(1))):
            print(f"incident-bot: no incident {args.incident} in {database_url}", file=sys.stderr)
            return EXIT_CONFIG
        if service.state_of(int(match.group(1))).private and not args.include_private:
            print(
                f"incident-bot: {args.incident} is a private incident; pass --include-private "
                "if you may read it",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        markdown = service.postmortem_markdown(int(match.group(1)))
        if args.output:
            with open(args.output, "w", encoding="utf-8") as out:
                out.write(markdown)
        else:
            sys.stdout.write(markdown)
        return 0
    days = re.fullmatch(r"([0-9]{1,4})d?", args.since.strip().lower())
    if not days or int(days.group(1)) == 0:
        print("incident-bot: --since takes a number of days, e.g. 30d", file=sys.stderr)
        return EXIT_CONFIG
    now = datetime.now(UTC)
    result = service.metrics(now - timedelta(days=int(days.group(1))), now)
    print(json.dumps(result.as_dict(), indent=2) if args.json else service.messages.metrics(result))
    return 0


def _serve(host: str, port: int, threads: int, connection_limit: int = 1000) -> int:
    from slack_bolt.error import BoltError
    from sqlalchemy.exc import SQLAlchemyError

    from bot.server import build_bot, make_http_server

    try:
        settings = load_settings()
        bot = build_bot(settings)
    except (ConfigError, BoltError) as exc:
        print(f"incident-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except SQLAlchemyError as exc:
        print(
            f"incident-bot: cannot use the database: {type(exc).__name__}: {getattr(exc, 'orig', None) or exc}",
            file=sys.stderr,
        )
        return 1
    bot.start_heartbeat()
    server = make_http_server(bot.wsgi, host, port, threads, connection_limit)
    stop = threading.Event()

    def shutdown(signum, frame) -> None:
        stop.set()
        server.close()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    logging.getLogger("bot").info("serving Slack on http://%s:%s/slack/events", host, server.effective_port)
    try:
        server.run()
    except (OSError, ValueError):
        if not stop.is_set():
            raise
    finally:
        bot.close()
    return 0
