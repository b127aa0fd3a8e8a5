"""The Bolt app: thin listeners that parse, ack within Slack's 3 seconds, and hand slow work on."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.state import IncidentState
from bot.errors import FormErrors, UserError
from bot.service import IncidentService, Outcome
from bot.slack import ids
from bot.slack.forms import form_values
from bot.sync_queue import SyncQueue, TrackingExecutor

log = logging.getLogger(__name__)

SLASH_COMMAND = "/incident"
SUMMARY_ACTIONS = {
    ids.ACK: "ack",
    ids.UPDATE: "update",
    ids.SEVERITY: "severity",
    ids.MITIGATE: "mitigate",
    ids.RESOLVE: "resolve",
}


def build_bolt_app(
    *,
    client: WebClient,
    signing_secret: str,
    service: IncidentService,
    queue: SyncQueue,
    verify_token: bool = True,
    listeners: TrackingExecutor | None = None,
) -> App:
    app = App(
        client=client,
        signing_secret=signing_secret,
        process_before_response=False,
        token_verification_enabled=verify_token,
        # Bolt's default pool of 5 would queue acks behind one another under a burst.
        listener_executor=listeners or TrackingExecutor(max_workers=32, thread_name_prefix="bolt-listener"),
    )
    register_command(app, service, queue)
    register_actions(app, service, queue)
    register_views(app, service, queue)
    register_reactions(app, service)
    return app


def _error_text(what: str) -> str:
    error_id = uuid.uuid4().hex[:8]
    log.exception("error %s handling %s", error_id, what)
    return f"Sorry, something went wrong on my side (error id `{error_id}`). It is logged."


def _ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def register_command(app: App, service: IncidentService, queue: SyncQueue) -> None:
    @app.command(SLASH_COMMAND)
    def handle_incident_command(ack: Ack, command: dict, respond: Respond, client: WebClient) -> None:
        try:
            outcome = service.handle_command(
                command.get("text", ""), command["user_id"], command.get("channel_id")
            )
        except UserError as exc:
            ack(text=f"{exc.message}\n{exc.usage}" if exc.usage else exc.message, response_type="ephemeral")
            return
        except Exception:
            ack(text=_error_text(f"/incident {command.get('text', '')!r}"), response_type="ephemeral")
            return
        if outcome.open_view is not None:
            ack()
            client.views_open(trigger_id=command["trigger_id"], view=outcome.open_view)
            return
        ack(text=outcome.reply, response_type="ephemeral")
        _follow_up(outcome, queue, service, respond)


def _follow_up(outcome: Outcome, queue: SyncQueue, service: IncidentService, respond: Respond | None) -> None:
    if outcome.incident is None:
        return
    if outcome.declared and respond is not None:
        queue.request(outcome.incident, after=_tell_declarer(service, respond))
    else:
        queue.request(outcome.incident)


def _tell_declarer(service: IncidentService, respond: Respond) -> Callable[[IncidentState | None], None]:
    def after(state: IncidentState | None) -> None:
        _ephemeral(respond, service.channel_ready_text(state))

    return after


def register_actions(app: App, service: IncidentService, queue: SyncQueue) -> None:
    def on_summary_action(ack: Ack, body: dict, action: dict, respond: Respond, client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        raw = (
            action.get("selected_option", {}).get("value")
            if action["type"] == "static_select"
            else action["value"]
        )
        number_text, _, value = str(raw).partition(":")
        try:
            outcome = service.press(
                SUMMARY_ACTIONS[action["action_id"]], int(number_text), user, value or None
            )
        except UserError as exc:
            _ephemeral(respond, exc.message)
            return
        except Exception:
            _ephemeral(respond, _error_text(f"button {action['action_id']}"))
            return
        if outcome.open_view is not None:
            client.views_open(trigger_id=body["trigger_id"], view=outcome.open_view)
            return
        if outcome.reply:
            _ephemeral(respond, outcome.reply)
        _follow_up(outcome, queue, service, None)

    for action_id in SUMMARY_ACTIONS:
        app.action(action_id)(on_summary_action)

    @app.action(ids.RUNBOOK)
    @app.action(ids.DASHBOARD)
    def on_link(ack: Ack) -> None:
        ack()  # the browser opens the link; there is nothing to do here

    @app.action(ids.JOIN)
    def on_join(ack: Ack, body: dict, action: dict, respond: Respond, client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        try:
            channel = service.channel_of(int(action["value"]))
        except UserError as exc:
            _ephemeral(respond, exc.message)
            return
        if channel is None:
            _ephemeral(respond, "The incident channel is still being set up; try again in a moment.")
            return
        try:
            client.conversations_invite(channel=channel, users=user)
        except SlackApiError as exc:
            if exc.response.get("error") != "already_in_channel":
                _ephemeral(respond, _error_text("join"))
                return
            _ephemeral(respond, f"You are already in <#{channel}>.")
            return
        _ephemeral(respond, f"You're in: <#{channel}>.")


def register_views(app: App, service: IncidentService, queue: SyncQueue) -> None:
    def handler(submit: Callable[[dict, dict, str, str], Outcome], first_field: str):
        def on_submit(ack: Ack, body: dict, view: dict) -> None:
            user = body["user"]["id"]
            try:
                outcome = submit(view, form_values(view), user, f"view:{view['id']}")
            except FormErrors as exc:
                ack(response_action="errors", errors=exc.errors)
                return
            except UserError as exc:
                ack(response_action="errors", errors={first_field: exc.message})
                return
            except Exception:
                ack(
                    response_action="errors",
                    errors={first_field: _error_text(f"view {view.get('callback_id')}")},
                )
                return
            ack()
            _follow_up(outcome, queue, service, None)

        return on_submit

    def incident_of(view: dict) -> int:
        return int(view["private_metadata"])

    app.view(ids.DECLARE_VIEW)(
        handler(
            lambda v, f, u, s: service.submit_declare(f, u, v.get("private_metadata") or None, s), "title"
        )
    )
    app.view(ids.UPDATE_VIEW)(
        handler(lambda v, f, u, s: service.submit_update(incident_of(v), f, u, s), "message")
    )
    app.view(ids.MITIGATE_VIEW)(
        handler(lambda v, f, u, s: service.submit_mitigate(incident_of(v), f, u, s), "note")
    )
    app.view(ids.RESOLVE_VIEW)(
        handler(lambda v, f, u, s: service.submit_resolve(incident_of(v), f, u, s), "summary")
    )


def register_reactions(app: App, service: IncidentService) -> None:
    @app.event("reaction_added")
    def on_reaction_added(event: dict, body: dict, client: WebClient) -> None:
        item = event.get("item") or {}
        if event.get("reaction") != ids.PIN_REACTION or item.get("type") != "message":
            return
        if service.incident_for_channel(item["channel"]) is None:
            return
        message = fetch_message(client, item["channel"], item["ts"])
        if message is None:
            log.info(
                "pinned message %s in %s not found (a thread reply?); not on the timeline",
                item["ts"],
                item["channel"],
            )
            return
        service.pin_message(item["channel"], message, event["user"], f"event:{body['event_id']}")

    @app.event("reaction_removed")
    def on_reaction_removed(event: dict, body: dict) -> None:
        item = event.get("item") or {}
        if event.get("reaction") != ids.PIN_REACTION or item.get("type") != "message":
            return
        service.unpin_message(item["channel"], item["ts"], event["user"], f"event:{body['event_id']}")


def fetch_message(client: WebClient, channel: str, ts: str) -> dict[str, Any] | None:
    """The message a reaction is on: its author, text and own time (from its ts)."""
    response = client.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1)
    for message in response.get("messages", []):
        if message.get("ts") == ts:
            at = datetime.fromtimestamp(float(ts), tz=UTC)
            author = message.get("user") or message.get("bot_id") or "unknown"
            return {
                "message_ts": ts,
                "author": author,
                "text": message.get("text", ""),
                "message_at": at.isoformat(),
            }
    return None
