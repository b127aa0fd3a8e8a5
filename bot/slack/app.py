"""The Bolt app: thin listeners that parse, ack within Slack's 3 seconds, and hand slow work on.

A listener never calls the Web API itself: a modal is opened through the transport, and every
other Slack step is owed work of the incident, done after the ack. Mistakes and failures are
answered by one error handler.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, Protocol

from slack_bolt import Ack, App, BoltRequest, BoltResponse, Respond
from slack_sdk import WebClient

from bot import logs
from bot.core.commands import VERBS
from bot.core.errors import FormErrors, UserError
from bot.core.forms import FIRST_FIELD
from bot.core.replies import reply
from bot.core.state import IncidentState
from bot.render import ids
from bot.render.views import Messages
from bot.service import IncidentService, Outcome
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
    ids.PAGE_ACK: "ack",  # Acknowledge on a page's direct message: the same decision as the summary's
    ids.PUBLISH: "publish",
}
VIEW_FORMS = {
    ids.DECLARE_VIEW: "declare",
    ids.UPDATE_VIEW: "update",
    ids.MITIGATE_VIEW: "mitigate",
    ids.RESOLVE_VIEW: "resolve",
    ids.PUBLISH_VIEW: "publish",
}


class ViewOpener(Protocol):
    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None: ...


class RequestObserver(Protocol):
    """Told how long each Slack request took to ack, and how each /incident command ended."""

    def acked(self, kind: str, seconds: float) -> None: ...

    def command(self, verb: str, outcome: str) -> None: ...


class MeasuredApp(App):
    """Bolt's App, timing each request from Bolt receiving it to its ack being ready. Both ways in
    (the WSGI adapter and Socket Mode) go through `dispatch`, and with process_before_response the
    listener has acked by the time it returns."""

    observer: RequestObserver | None = None

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        started = time.perf_counter()
        try:
            return super().dispatch(req)
        finally:
            if self.observer is not None:
                self.observer.acked(kind_of(req.body), time.perf_counter() - started)


def kind_of(body: dict[str, Any]) -> str:
    """command, action, view, event, or other (shortcuts, options, anything new)."""
    if "command" in body:
        return "command"
    kind = body.get("type")
    if kind == "block_actions":
        return "action"
    if kind in ("view_submission", "view_closed"):
        return "view"
    if kind == "event_callback":
        return "event"
    return "other"


def verb_of(text: str) -> str:
    """The command's verb as a metric label: one of the known verbs (skipping an `INC-n` before
    it), `help` for no text, else `unknown`, so what people type never becomes a label."""
    words = text.split()
    if words and words[0].lower().startswith("inc-"):
        words = words[1:]
    if not words:
        return "help"
    verb = words[0].lower()
    return verb if verb in VERBS else "unknown"


def build_bolt_app(
    *,
    client: WebClient,
    signing_secret: str,
    service: IncidentService,
    queue: SyncQueue,
    views: ViewOpener,
    verify_token: bool = True,
    listeners: TrackingExecutor | None = None,
    observer: RequestObserver | None = None,
) -> App:
    # Bolt's default pool of 5 would queue acks behind one another under a burst.
    pool = listeners or TrackingExecutor(max_workers=32, thread_name_prefix="bolt-listener")
    app = MeasuredApp(
        client=client,
        signing_secret=signing_secret,
        # The listener runs on the request's own thread and its response goes out as soon as it
        # returns (Bolt otherwise polls for the ack every 10 ms); slow Slack calls run after it.
        process_before_response=True,
        token_verification_enabled=verify_token,
        listener_executor=pool,
    )
    app.observer = observer
    app.use(tag_request)
    report = error_handler(service.messages)
    app.error(report)
    later = Later(pool, report)
    register_command(app, service, queue, views, later, observer)
    register_actions(app, service, queue, views, later)
    register_views(app, service, queue)
    register_reactions(app, service, later)
    return app


def tag_request(body: dict[str, Any], next_: Callable[[], None]) -> None:
    """Bolt middleware: what the bot logs about a Slack request carries Slack's own id for it (an
    event's id, else the trigger id), so a line can be matched with what the person did."""
    slack_id = body.get("event_id") or body.get("trigger_id")
    logs.begin(request_id=slack_id or logs.current().get("request_id") or logs.new_id("slack"))
    next_()


ErrorHandler = Callable[[Exception, dict[str, Any], Respond | None], BoltResponse | None]


def error_handler(messages: Messages) -> ErrorHandler:
    """The one error handler, speaking through the reply catalogue."""

    def on_error(
        error: Exception, body: dict[str, Any], respond: Respond | None = None
    ) -> BoltResponse | None:
        """A person's mistake is answered with its reason, anything else with an error id that is
        in the log. Slack never gets an error status from the bot."""
        if isinstance(error, UserError):
            text = messages.user_error(error)
        else:
            error_id = uuid.uuid4().hex[:8]
            log.error(
                "error %s handling a %s request", error_id, body.get("type", "slash command"), exc_info=error
            )
            text = messages.reply(reply("internal_error", error_id=error_id))
        if body.get("type") == "view_submission":
            if isinstance(error, FormErrors):
                errors = {name: messages.reply(r) for name, r in error.errors.items()}
            else:
                errors = {_first_field(body): text}
            return _json_response({"response_action": "errors", "errors": errors})
        if body.get("type") == "block_actions":
            if respond is not None:
                _ephemeral(respond, text)
            return BoltResponse(status=200, body="")
        if "command" in body:
            return _json_response({"response_type": "ephemeral", "text": text})
        return BoltResponse(status=200, body="")  # an event: Slack only needs to hear it arrived

    return on_error


def _first_field(body: dict[str, Any]) -> str:
    form = VIEW_FORMS.get(body.get("view", {}).get("callback_id", ""), "declare")
    return FIRST_FIELD[form]


def _json_response(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(payload), headers={"content-type": "application/json;charset=utf-8"}
    )


def _ephemeral(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def _follow_up(outcome: Outcome, queue: SyncQueue, respond: Respond | None) -> None:
    """Queue the incident's Slack work; when a person waits on it (a new incident's channel link,
    an invite), in the urgent lane, and tell them once it is done."""
    if outcome.incident is None:
        return
    tell = outcome.after_sync
    if tell is not None and respond is not None:
        queue.request(outcome.incident, after=_telling(respond, tell), urgent=True)
    else:
        queue.request(outcome.incident, urgent=tell is not None)


def _telling(
    respond: Respond, tell: Callable[[IncidentState | None], str]
) -> Callable[[IncidentState | None], None]:
    def after(state: IncidentState | None) -> None:
        _ephemeral(respond, tell(state))

    return after


class Later:
    """Work done after the ack, on the listener pool: the response goes out at once, and a failure
    reaches the person through the same error handler as one before the ack."""

    def __init__(self, pool: Executor, report: ErrorHandler) -> None:
        self.pool = pool
        self.report = report

    def __call__(self, body: dict[str, Any], respond: Respond | None, work: Callable[[], object]) -> None:
        def run() -> None:
            try:
                work()
            except Exception as error:
                self.report(error, body, respond)

        self.pool.submit(run)


def register_command(
    app: App,
    service: IncidentService,
    queue: SyncQueue,
    views: ViewOpener,
    later: Later,
    observer: RequestObserver | None = None,
) -> None:
    @app.command(SLASH_COMMAND)
    def handle_incident_command(
        ack: Ack, body: dict[str, Any], command: dict[str, Any], respond: Respond
    ) -> None:
        if observer is None:
            run_command(ack, body, command, respond)
            return
        verb = verb_of(command.get("text", ""))
        try:
            run_command(ack, body, command, respond)
        except UserError:
            observer.command(verb, "refused")
            raise
        except Exception:
            observer.command(verb, "error")
            raise
        observer.command(verb, "ok")

    def run_command(ack: Ack, body: dict[str, Any], command: dict[str, Any], respond: Respond) -> None:
        outcome = service.handle_command(
            command.get("text", ""), command["user_id"], command.get("channel_id")
        )
        if outcome.open_view is not None:
            ack()
            view = outcome.open_view
            later(body, respond, lambda: views.open_view(command["trigger_id"], view))
            return
        ack(text=outcome.reply, response_type="ephemeral")
        _follow_up(outcome, queue, respond)


def register_actions(
    app: App, service: IncidentService, queue: SyncQueue, views: ViewOpener, later: Later
) -> None:
    def press(body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        raw = (
            action.get("selected_option", {}).get("value")
            if action["type"] == "static_select"
            else action["value"]
        )
        number_text, _, value = str(raw).partition(":")
        outcome = service.press(
            SUMMARY_ACTIONS[action["action_id"]],
            int(number_text),
            body["user"]["id"],
            value or None,
            (body.get("channel") or {}).get("id"),
        )
        if outcome.open_view is not None:
            views.open_view(body["trigger_id"], outcome.open_view)
            return
        if outcome.reply:
            _ephemeral(respond, outcome.reply)
        _follow_up(outcome, queue, None)

    def on_summary_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        later(body, respond, lambda: press(body, action, respond))

    for action_id in SUMMARY_ACTIONS:
        app.action(action_id)(on_summary_action)

    @app.action(ids.RUNBOOK)
    @app.action(ids.DASHBOARD)
    def on_link(ack: Ack) -> None:
        ack()  # the browser opens the link; there is nothing to do here

    def tick(body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """Done or Skip on a runbook checklist's step: `value` is `<incident>:<step>:<runbook>`."""
        number, step, name = str(action["value"]).split(":", 2)
        outcome = "done" if action["action_id"] == ids.RUNBOOK_DONE else "skipped"
        channel = (body.get("channel") or {}).get("id")
        result = service.check_runbook_step(
            int(number), name, int(step), outcome, body["user"]["id"], channel
        )
        if result.reply:
            _ephemeral(respond, result.reply)
        _follow_up(result, queue, None)

    @app.action(ids.RUNBOOK_DONE)
    @app.action(ids.RUNBOOK_SKIP)
    def on_tick(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        later(body, respond, lambda: tick(body, action, respond))

    def add_suggestion(body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """Add on a suggested action item (the summary, once resolved): `value` is `<incident>:<index>`."""
        number, index = str(action["value"]).split(":", 1)
        channel = (body.get("channel") or {}).get("id")
        result = service.add_suggested_action(int(number), int(index), body["user"]["id"], channel)
        if result.reply:
            _ephemeral(respond, result.reply)
        _follow_up(result, queue, None)

    @app.action(ids.SUGGESTION_ADD)
    def on_add_suggestion(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        later(body, respond, lambda: add_suggestion(body, action, respond))

    def join(body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        outcome = service.join(int(action["value"]), body["user"]["id"])
        if outcome.reply:
            _ephemeral(respond, outcome.reply)
        _follow_up(outcome, queue, respond)

    @app.action(ids.JOIN)
    def on_join(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        later(body, respond, lambda: join(body, action, respond))


def register_views(app: App, service: IncidentService, queue: SyncQueue) -> None:
    submitters: dict[str, Callable[[dict[str, Any], dict[str, Any], str, str], Outcome]] = {
        ids.DECLARE_VIEW: lambda v, f, u, s: service.submit_declare(
            f, u, v.get("private_metadata") or None, s
        ),
        ids.UPDATE_VIEW: lambda v, f, u, s: service.submit_update(int(v["private_metadata"]), f, u, s),
        ids.MITIGATE_VIEW: lambda v, f, u, s: service.submit_mitigate(int(v["private_metadata"]), f, u, s),
        ids.RESOLVE_VIEW: lambda v, f, u, s: service.submit_resolve(int(v["private_metadata"]), f, u, s),
        ids.PUBLISH_VIEW: lambda v, f, u, s: service.submit_publish(int(v["private_metadata"]), f, u, s),
    }

    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        # Before the ack: a mistake must come back as inline field errors in the same response.
        submit = submitters[view["callback_id"]]
        outcome = submit(view, form_values(view), body["user"]["id"], f"view:{view['id']}")
        ack()
        _follow_up(outcome, queue, None)

    for callback_id in submitters:
        app.view(callback_id)(on_submit)


def register_reactions(app: App, service: IncidentService, later: Later) -> None:
    @app.event("reaction_added")
    def on_reaction_added(ack: Ack, event: dict[str, Any], body: dict[str, Any]) -> None:
        ack()
        item = event.get("item") or {}
        if event.get("reaction") == ids.PIN_REACTION and item.get("type") == "message":
            source = f"event:{body['event_id']}"
            later(
                body, None, lambda: service.pin_reaction(item["channel"], item["ts"], event["user"], source)
            )

    @app.event("reaction_removed")
    def on_reaction_removed(ack: Ack, event: dict[str, Any], body: dict[str, Any]) -> None:
        ack()
        item = event.get("item") or {}
        if event.get("reaction") == ids.PIN_REACTION and item.get("type") == "message":
            service.unpin_message(item["channel"], item["ts"], event["user"], f"event:{body['event_id']}")
