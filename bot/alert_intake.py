"""POST /webhooks/alertmanager: Alertmanager's webhook receiver, as a small WSGI handler.

It answers fast: validation and one write to the log happen in the request; Slack work is
queued for after the response.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Executor

from bot import logs
from bot.core.alerts import AlertGroup, BadPayload, parse_webhook
from bot.core.audience import Destination
from bot.service import IncidentService
from bot.sync_queue import SyncQueue

log = logging.getLogger(__name__)

ALERTMANAGER_PATH = "/webhooks/alertmanager"
MAX_BODY = 1024 * 1024  # Alertmanager groups are small; a megabyte is already generous


def make_alert_handler(
    service: IncidentService,
    queue: SyncQueue,
    token: str | None,
    post_triage: Callable[[AlertGroup, Destination], None],
    background: Executor,
    count: Callable[[str], None] | None = None,
) -> Callable[[dict, Callable], Iterable[bytes]]:
    """`count` hears the action taken on each notification (declare, ...), or `refused` for one
    turned away (no or a wrong token, too large, not JSON, not Alertmanager's format)."""

    def handle(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if count is None:
            return check(environ, start_response)
        statuses: list[str] = []

        def starting(status: str, headers: list, exc_info: object = None) -> Callable:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        reply = check(environ, starting)
        if not statuses or not statuses[0].startswith("200"):
            count("refused")
        return reply

    def check(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _reply(start_response, "405 Method Not Allowed", {"ok": False, "error": "POST only"})
        if not token:
            error = "alert intake is off: set ALERTMANAGER_TOKEN"
            return _reply(start_response, "404 Not Found", {"ok": False, "error": error})
        given = environ.get("HTTP_AUTHORIZATION", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            # Never the token that was sent: it may be a real one pasted in the wrong place.
            log.warning(
                "refused an Alertmanager request from %s: missing or wrong bearer token", _peer(environ)
            )
            return _reply(
                start_response, "401 Unauthorized", {"ok": False, "error": "missing or wrong bearer token"}
            )
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            error = f"body must be at most {MAX_BODY} bytes"
            return _reply(start_response, "413 Payload Too Large", {"ok": False, "error": error})
        raw = environ["wsgi.input"].read(length)
        try:
            group = parse_webhook(json.loads(raw))
        except (ValueError, UnicodeDecodeError):
            return _reply(start_response, "400 Bad Request", {"ok": False, "error": "body is not JSON"})
        except BadPayload as exc:
            return _reply(start_response, "400 Bad Request", {"ok": False, "error": exc.reason})
        outcome = service.receive_alerts(group)
        logs.bind(incident=outcome.incident)
        log.info("alert group %s: %s", group.identity, outcome.action)
        if outcome.incident is not None:
            queue.request(outcome.incident, urgent=outcome.action == "declare")  # a page: its channel first
        if outcome.post_to is not None:
            background.submit(_safely, post_triage, group, outcome.post_to)
        body = {"ok": True, "action": outcome.action}
        if outcome.incident is not None:
            body["incident"] = f"INC-{outcome.incident}"
        if count is not None:
            count(outcome.action)
        return _reply(start_response, "200 OK", body)

    return handle


def _safely(post: Callable[[AlertGroup, Destination], None], group: AlertGroup, to: Destination) -> None:
    try:
        post(group, to)
    except Exception:
        log.exception("could not post alert group %s to the triage channel", group.identity)


def _peer(environ: dict) -> str:
    return str(environ.get("REMOTE_ADDR") or "an unknown address")


def _reply(start_response: Callable, status: str, body: dict) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
