"""`incident-bot` (and `python -m bot`): serve Slack over HTTP, or play a demo incident locally."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from bot.config import load_settings
from bot.core.errors import ConfigError
from bot.oncall_cli import add_oncall_parser
from bot.runbooks_cli import add_runbooks_parser
from bot.slo_cli import add_slo_parser

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
    serve.add_argument(
        "--shutdown-timeout",
        type=float,
        default=20.0,
        help="on SIGTERM, seconds to let requests in flight finish (default 20)",
    )
    serve.add_argument(
        "--socket-mode",
        action="store_true",
        help="take Slack's requests over Socket Mode (SLACK_APP_TOKEN) instead of /slack/events",
    )
    serve.add_argument(
        "--status-page-only",
        action="store_true",
        help="serve only the public status page and its API (needs DATABASE_URL and INCIDENT_BOT_CONFIG)",
    )
    manifest = commands.add_parser("manifest", help="print the Slack app manifest (YAML)")
    manifest.add_argument("--socket-mode", action="store_true", help="for Socket Mode: no request URLs")
    manifest.add_argument("--url", help="the bot's public base URL (default https://bot.example.com)")
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
    config = commands.add_parser("config", help="work with the YAML config file")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    config_check = config_commands.add_parser(
        "check", help="check a config file and print what the bot understood from it"
    )
    config_check.add_argument("file", nargs="?", help="the config file (default: $INCIDENT_BOT_CONFIG)")
    db = commands.add_parser("db", help="the database schema: upgrade it, or show its revision and history")
    db.add_argument(
        "action",
        choices=["upgrade", "current", "history"],
        help="upgrade: migrate DATABASE_URL to this code's schema; current: its revision; "
        "history: the migrations this code knows",
    )
    add_oncall_parser(commands)
    add_slo_parser(commands)
    add_runbooks_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bot.logs import setup_logging

    try:
        setup_logging()  # LOG_FORMAT, LOG_LEVEL; secrets never reach a line
    except ConfigError as exc:
        print(f"incident-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # a line per plugin per run
    try:
        code = _run(args)
        sys.stdout.flush()  # here, not at exit, so a closed pipe is caught below
        return code
    except BrokenPipeError:  # `incident-bot config check | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python flushes stdout at exit
        return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from bot.demo import run_demo

        return run_demo(args.db)
    if args.command in ("postmortem", "metrics"):
        return _report(args)
    if args.command == "db":
        return _db(args.action)
    if args.command == "config":
        return _config_check(args.file)
    if args.command == "oncall":
        from bot.oncall_cli import run_oncall

        return run_oncall(args)
    if args.command == "slo":
        from bot.slo_cli import run_slo

        return run_slo(args)
    if args.command == "runbooks":
        from bot.runbooks_cli import run_runbooks

        return run_runbooks(args)
    if args.command == "manifest":
        return _manifest(args.socket_mode, args.url)
    if args.status_page_only:
        from bot.status_cli import serve_status_page

        return serve_status_page(args)
    return _serve(
        args.host,
        args.port,
        args.threads,
        args.connection_limit,
        args.shutdown_timeout,
        socket_mode=args.socket_mode,
    )


def _manifest(socket_mode: bool, url: str | None) -> int:
    """Needs no credentials: the manifest comes from manifest.yml."""
    from bot.slack.manifest import app_manifest, render_manifest

    if socket_mode and url is not None:
        print(
            "incident-bot: note: --url is unused with --socket-mode (Slack needs no request URL)",
            file=sys.stderr,
        )
    try:
        manifest = app_manifest(socket_mode=socket_mode, url=url)
    except ConfigError as exc:
        print(f"incident-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    sys.stdout.write(render_manifest(manifest))
    return 0


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
    from bot.store.migrate import SchemaError, upgrade

    store = EventStore(make_engine(database_url))
    try:
        upgrade(store.engine)
    except SchemaError as exc:
        print(f"incident-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
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


def _config_check(file: str | None) -> int:
    """Check every section of the config file and render the templates it names, as `serve` would
    at start, with no Slack credentials and no database. Mistakes print as `FILE:LINE: key: reason`."""
    import os
    from datetime import UTC, datetime
    from pathlib import Path

    from bot.config import check_config_file, settings_from_checked
    from bot.render.renderer import Renderer
    from bot.render.views import Messages
    from bot.slack.template_check import check_templates

    name = file or os.environ.get("INCIDENT_BOT_CONFIG")
    if not name:
        print("incident-bot: config check needs a FILE (or INCIDENT_BOT_CONFIG naming one)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        checked = check_config_file(Path(name))
        fields = settings_from_checked(checked)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    try:
        check_templates(Messages(Renderer(fields.get("template_dir")), fields["policy"]), datetime.now(UTC))
    except ConfigError as exc:
        print(f"{checked.where('templates')} {exc}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"{name}: OK")
    print(checked.summary())
    return 0


def _db(action: str) -> int:
    """`incident-bot db upgrade|current|history`: needs only DATABASE_URL."""
    import os

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from bot.config import DEFAULT_DATABASE_URL
    from bot.store import migrate
    from bot.store.db import make_engine, normalize_url

    for quiet in ("alembic", "bot.store.migrate"):  # this command prints what happened itself
        logging.getLogger(quiet).setLevel(logging.WARNING)
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    shown = make_url(normalize_url(url)).render_as_string(hide_password=True)
    engine = make_engine(url)
    try:
        if action == "history":
            return _db_history(migrate, migrate.status(engine).revision)
        if action == "current":
            return _db_current(migrate, migrate.status(engine), shown)
        done = migrate.upgrade(engine)
        if done.stamped_baseline:
            print(f"{shown}: made before migrations; stamped at the baseline {migrate.BASELINE}")
        for revision in done.applied:
            print(f"{shown}: applied {revision} ({_doc_line(migrate, revision)})")
        if done.applied or done.stamped_baseline:
            print(f"{shown}: now at {done.revision} (head)")
        else:
            print(f"{shown}: already at {done.revision} (head); nothing to apply")
        return 0
    except migrate.SchemaError as exc:
        print(f"incident-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except SQLAlchemyError as exc:
        print(
            f"incident-bot: cannot use the database {shown}: {getattr(exc, 'orig', None) or exc}",
            file=sys.stderr,
        )
        return 1
    finally:
        engine.dispose()


def _doc_line(migrate, revision: str) -> str:
    script = migrate.script_directory().get_revision(revision)
    return (script.doc or "").strip().splitlines()[0] if script is not None and script.doc else ""


def _db_current(migrate, status, shown: str) -> int:
    if status.revision is None:
        if status.made_before_migrations:
            print(
                f"{shown}: no revision; made before migrations (all of incident-bot's tables are there). "
                f"`incident-bot db upgrade` (or serve) stamps it at {migrate.BASELINE}, then applies what follows up to {status.head}"
            )
        elif status.tables:
            print(
                f"{shown}: no revision, and only some of incident-bot's tables: {', '.join(sorted(status.tables))}"
            )
            return EXIT_CONFIG
        else:
            print(
                f"{shown}: empty (no revision); `incident-bot db upgrade` (or serve) creates the schema at {status.head}"
            )
    elif not status.known:
        print(f"incident-bot: {migrate.DatabaseNewerThanCode(status.revision, status.head)}", file=sys.stderr)
        return EXIT_CONFIG
    elif status.revision == status.head:
        print(f"{shown}: at {status.revision} (head)")
    else:
        print(
            f"{shown}: at {status.revision}; this code's head is {status.head}: run `incident-bot db upgrade`"
        )
    return 0


def _db_history(migrate, current: str | None) -> int:
    scripts = list(migrate.script_directory().walk_revisions())  # newest first
    head = scripts[0].revision if scripts else None
    for script in scripts:
        marks = [
            m for m, on in (("head", script.revision == head), ("current", script.revision == current)) if on
        ]
        label = f" ({', '.join(marks)})" if marks else ""
        print(f"{script.revision}{label}: {_doc_line(migrate, script.revision)}")
    return 0


def _serve(
    host: str,
    port: int,
    threads: int,
    connection_limit: int = 1000,
    shutdown_timeout: float = 20.0,
    *,
    socket_mode: bool = False,
) -> int:
    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError
    from sqlalchemy.exc import SQLAlchemyError

    from bot.server import Drain, build_bot, make_http_server

    try:
        settings = load_settings(socket_mode=socket_mode)
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
    if socket_mode:
        try:
            bot.start_socket_mode()
        except SlackApiError as exc:
            print(
                f"incident-bot: Slack refused the Socket Mode connection: {exc.response.get('error')}",
                file=sys.stderr,
            )
            bot.close()
            return EXIT_CONFIG
    bot.start_heartbeat()
    server = make_http_server(bot.wsgi, host, port, threads, connection_limit)
    stop = threading.Event()
    log = logging.getLogger("bot")

    def shutdown(signum, frame) -> None:
        if stop.is_set():
            return
        stop.set()
        log.info("%s: taking no new requests; finishing those in flight", signal.Signals(signum).name)
        bot.stop_heartbeat_soon()
        if bot.socket is not None:  # no new envelopes from now; those in hand are acked (Bot.close waits)
            threading.Thread(target=bot.socket.close, name="socket-close", daemon=True).start()
        Drain(server).start(shutdown_timeout)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    if socket_mode:
        log.info(
            "taking Slack's requests over Socket Mode; serving /healthz and the Alertmanager webhook on http://%s:%s",
            host,
            server.effective_port,
        )
    else:
        log.info("serving Slack on http://%s:%s/slack/events", host, server.effective_port)
    try:
        server.run()
    except (OSError, ValueError):
        if not stop.is_set():
            raise
    finally:
        bot.close()
    log.info("stopped cleanly")
    return 0
