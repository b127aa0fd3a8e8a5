"""`incident-bot` (and `python -m bot`): serve Slack over HTTP, or play a demo incident locally."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from bot.config import load_settings
from bot.errors import ConfigError

EXIT_CONFIG = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="incident-bot", description="Slack-native incident response bot")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve Slack's requests over HTTP")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=3000, help="port to listen on (default 3000)")
    serve.add_argument("--threads", type=int, default=16, help="HTTP worker threads (default 16)")
    demo = commands.add_parser("demo", help="play a whole incident against a local fake Slack")
    demo.add_argument("--db", help="SQLite file for the event log (default: a new file in a temp folder)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        from bot.demo import run_demo

        return run_demo(args.db)
    return _serve(args.host, args.port, args.threads)


def _serve(host: str, port: int, threads: int) -> int:
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
            f"incident-bot: cannot use the database: {type(exc).__name__}: {exc.orig or exc}", file=sys.stderr
        )
        return 1
    bot.start_heartbeat()
    server = make_http_server(bot.wsgi, host, port, threads)
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
