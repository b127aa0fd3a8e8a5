"""The Bolt app: thin listeners that parse, ack within Slack's 3 seconds, and hand slow work on."""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.core.state import IncidentState
from bot.errors import UserError
from bot.service import IncidentService
from bot.sync_queue import SyncQueue

log = logging.getLogger(__name__)

SLASH_COMMAND = "/incident"


def build_bolt_app(
    *,
    client: WebClient,
    signing_secret: str,
    service: IncidentService,
    queue: SyncQueue,
    verify_token: bool = True,
) -> App:
    app = App(
        client=client,
        signing_secret=signing_secret,
        process_before_response=False,
        token_verification_enabled=verify_token,
        # Bolt's default pool of 5 would queue acks behind one another under a burst.
        listener_executor=ThreadPoolExecutor(max_workers=32, thread_name_prefix="bolt-listener"),
    )

    @app.command(SLASH_COMMAND)
    def handle_incident_command(ack: Ack, command: dict, respond: Respond) -> None:
        try:
            outcome = service.handle_command(
                command.get("text", ""), command["user_id"], command.get("channel_id")
            )
        except UserError as exc:
            ack(text=f"{exc.message}\n{exc.usage}" if exc.usage else exc.message, response_type="ephemeral")
            return
        except Exception:
            error_id = uuid.uuid4().hex[:8]
            log.exception("error %s handling /incident %r", error_id, command.get("text", ""))
            ack(
                text=f"Sorry, something went wrong on my side (error id `{error_id}`). It is logged.",
                response_type="ephemeral",
            )
            return
        ack(text=outcome.reply, response_type="ephemeral")
        if outcome.incident is None:
            return
        if outcome.declared:
            queue.request(outcome.incident, after=_tell_declarer(service, respond))
        else:
            queue.request(outcome.incident)

    return app


def _tell_declarer(service: IncidentService, respond: Respond):
    def after(state: IncidentState | None) -> None:
        respond(text=service.channel_ready_text(state), response_type="ephemeral", replace_original=False)

    return after
