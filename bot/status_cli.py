"""`incident-bot serve --status-page-only`: the public status page and its API alone, from the same
database. It needs DATABASE_URL and INCIDENT_BOT_CONFIG only: no Slack or Statuspage secrets, no
heartbeat, no Slack calls, so the public face can be exposed and scaled apart from the bot."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from bot.core.errors import ConfigError

EXIT_CONFIG = 2


def serve_status_page(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from sqlalchemy.exc import SQLAlchemyError

    from bot.config import load_report_settings
    from bot.core.policy import Policy
    from bot.render.renderer import Renderer
    from bot.server import Drain, make_http_server, make_status_page_wsgi
    from bot.status_site import StatusSite
    from bot.store.db import make_engine
    from bot.store.event_store import EventStore
    from bot.store.migrate import SchemaError, upgrade

    log = logging.getLogger("bot")
    try:
        database_url, policy, template_dir = load_report_settings()
        config = (policy or Policy()).status_page
        store = EventStore(make_engine(database_url))
        upgrade(store.engine)  # the same schema as serve (a no-op when the bot migrated it already)
        site = StatusSite(store, config, Renderer(template_dir), lambda: datetime.now(UTC))
    except (ConfigError, SchemaError) as exc:
        print(f"incident-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except SQLAlchemyError as exc:
        print(
            f"incident-bot: cannot use the database: {type(exc).__name__}: {getattr(exc, 'orig', None) or exc}",
            file=sys.stderr,
        )
        return 1
    if not config.enabled:
        log.warning("status_page has no components: every status page route answers 404")
    server = make_http_server(
        make_status_page_wsgi(store, site), args.host, args.port, args.threads, args.connection_limit
    )
    stop = threading.Event()

    def shutdown(signum, frame) -> None:
        if stop.is_set():
            return
        stop.set()
        log.info("%s: taking no new requests; finishing those in flight", signal.Signals(signum).name)
        Drain(server).start(args.shutdown_timeout)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    log.info(
        "serving /healthz and the public status page only on http://%s:%s/status",
        args.host,
        server.effective_port,
    )
    try:
        server.run()
    except (OSError, ValueError):
        if not stop.is_set():
            raise
    finally:
        store.engine.dispose()
    log.info("stopped cleanly")
    return 0
