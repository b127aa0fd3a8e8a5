"""Socket Mode end to end: the real bot (build_bot) opens a WebSocket through apps.connections.open
on the strict local Slack, and Slack's side sends it envelopes shaped like Slack's own."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request

import pytest

from bot.core import events as ev
from bot.render import ids
from bot.server import EVENTS_PATH, HEALTH_PATH
from tests.events import data_of
from tests.harness import ALICE, BOB, CAROL, start_harness
from tests.processes import Serve
from tests.socket_mode_server import SocketModeServer
from tests.test_cli import clean_env, run_cli
from tests.test_interactions_http import reaction
from tests.test_manifest import manifest_bot_scopes


@pytest.fixture
def h(tmp_path):
    """Socket Mode is a transport: SQLite is enough here (the store tests cover PostgreSQL)."""
    harness = start_harness(f"sqlite:///{tmp_path / 'incidents.db'}", manifest_bot_scopes(), socket_mode=True)
    yield harness
    harness.close()
    assert harness.socket is not None and harness.socket.problems == []


def declared_in_socket_mode(h, text="declare sev2 Checkout slow"):
    reply = h.command(text, user=ALICE)
    h.settle()
    channel = h.incident_channel()
    return reply, channel, h.slack.channel(channel).messages[0]


def incidents_declared(h) -> list[str]:
    titles = []
    number = 1
    while events := h.bot.store.load(number):
        titles += [data_of(e)["title"] for e in events if e.type == ev.IncidentDeclared.TYPE]
        number += 1
    return titles


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_bot_connects_with_the_app_token_through_apps_connections_open(h):
    """One apps.connections.open, with the xapp- token, and one connection that got hello."""
    opens = h.slack.calls("apps.connections.open")
    assert [(c.ok, c.error) for c in opens] == [(True, None)]
    assert h.socket.open_connections() == [0]
    assert h.bot.socket is not None and h.bot.socket.is_connected()


def test_a_slash_command_is_acked_with_its_reply_and_declares_the_incident(h):
    """The ack carries the ephemeral reply Bolt gives; the incident and its channel exist in Slack."""
    reply, channel, summary = declared_in_socket_mode(h)
    assert reply.json()["response_type"] == "ephemeral"
    assert "*INC-1* declared (SEV2): Checkout slow" in reply.json()["text"]
    assert h.slack.channel(channel).name == "inc-1-checkout-slow"
    assert ALICE in h.slack.channel(channel).members
    assert summary.blocks and h.slack.channel(h.announcements).messages  # summary and announcement
    assert incidents_declared(h) == ["Checkout slow"]
    assert h.slack.responses[-1]["text"] == (  # the channel link, through the command's response_url
        f"INC-1 has its channel: <#{channel}>. Everyone working on it, join there."
    )


def test_a_button_press_and_a_modal_submission_work(h):
    """Acknowledge (a button) acks without a payload; Post update opens a modal whose submission
    records one update; an empty one is answered in the ack with inline field errors."""
    _, channel, summary = declared_in_socket_mode(h)
    press = h.sender.block_action(
        ids.ACK,
        user_id=BOB,
        channel_id=channel,
        message_ts=summary.ts,
        value="1",
        response_url=h.slack.response_url(),
    )
    assert press.status == 200 and press.body == b""
    h.settle()
    assert ev.IncidentAcknowledged.TYPE in h.types()
    h.sender.block_action(
        ids.UPDATE,
        user_id=BOB,
        channel_id=channel,
        message_ts=summary.ts,
        value="1",
        response_url=h.slack.response_url(),
    )
    h.settle()
    view = h.slack.views()[-1]
    assert view["callback_id"] == ids.UPDATE_VIEW
    empty = h.sender.view_submission(
        view, {"message": {"message": {"type": "plain_text_input", "value": ""}}}, user_id=BOB
    )
    assert empty.json() == {
        "response_action": "errors",
        "errors": {"message": "Say what changed and what happens next."},
    }
    values = {
        "status": {"status": {"type": "static_select", "selected_option": {"value": "identified"}}},
        "message": {"message": {"type": "plain_text_input", "value": "Rolled back the 14:20 deploy"}},
    }
    submitted = h.sender.view_submission(view, values, user_id=BOB)
    assert submitted.status == 200 and submitted.body == b""
    h.settle()
    updates = [e for e in h.bot.store.load(1) if e.type == ev.StatusUpdated.TYPE]
    assert [data_of(u)["status"] for u in updates] == ["identified"]


def test_a_reaction_event_works_and_a_redelivered_envelope_is_acked_again_with_one_effect(h):
    """📌 through events_api puts the message on the timeline; Slack's redelivery (retry_attempt 1,
    same event_id, a new envelope) is acked too and changes nothing."""
    _, channel, _ = declared_in_socket_mode(h)
    ts = h.slack.post_as_user(channel, CAROL, "DB CPU pinned at 100% since 14:20")
    first = h.sender.event(reaction("reaction_added", BOB, channel, ts), event_id="Ev0SOCKET1")
    h.settle()
    again = h.sender.event(reaction("reaction_added", BOB, channel, ts), event_id="Ev0SOCKET1", retry_num=1)
    h.settle()
    assert first.status == again.status == 200
    pins = [e for e in h.bot.store.load(1) if e.type == ev.MessagePinned.TYPE]
    assert len(pins) == 1 and data_of(pins[0])["message_ts"] == ts
    assert h.bot.service.state_of(1).pins.keys() == {ts}


def test_a_disconnect_makes_the_bot_reconnect_and_no_command_around_it_is_lost(h):
    """`disconnect` (refresh_requested) -> a second apps.connections.open and a new socket; a
    command sent on the old socket right behind the notice, and one on the new socket as soon as it
    opens, are both acked (one late) and each declares exactly one incident."""
    socket = h.socket
    socket.disconnect("refresh_requested", connection=0)
    fields = {"user_id": ALICE, "channel_id": h.general, "channel_name": "general"}
    fields["response_url"] = h.slack.response_url()
    during = socket.send(
        "slash_commands",
        dict(h.sender.slash_command_fields("declare sev3 Sent during the refresh", **fields)),
        accepts_response_payload=True,
        connection=0,
    )
    socket.wait_connections(2)
    after = socket.send(
        "slash_commands",
        dict(h.sender.slash_command_fields("declare sev3 Sent after the refresh", **fields)),
        accepts_response_payload=True,
        connection=1,
    )
    for envelope_id in (during, after):
        assert "declared" in socket.wait_ack(envelope_id).payload["text"]
    h.settle()
    assert sorted(incidents_declared(h)) == ["Sent after the refresh", "Sent during the refresh"]
    assert len(h.slack.calls("apps.connections.open")) == 2
    socket.wait_closed(0)  # the bot let the old socket go once the new one was up
    assert socket.open_connections() == [1]
    assert len(socket.acks(during)) == len(socket.acks(after)) == 1
    # The notice came first, so the command behind it waited for the new socket and was acked there.
    assert socket.acks(during)[0].connection == 1


def test_socket_mode_requests_count_as_in_flight_for_the_acks_first_gate(h):
    """While Bolt answers an envelope, RequestsInFlight counts it, so background Slack syncs wait."""
    seen: list[int] = []

    def record(next):
        seen.append(h.bot.in_flight.count)
        next()

    h.bot.app.use(record)
    declared_in_socket_mode(h)
    assert seen and all(n >= 1 for n in seen)
    assert h.bot.in_flight.count == 0


def test_closing_acks_the_envelope_in_hand_then_closes_the_socket(h):
    """Shutdown takes no new envelope, lets the one being handled finish and send its ack, and
    only then closes the socket (and the client's threads end)."""
    entered, release = threading.Event(), threading.Event()

    def slow(body, next):
        if "Slow one" in str(body.get("text", "")):
            entered.set()
            release.wait(5)
        next()

    h.bot.app.use(slow)
    fields = {"user_id": ALICE, "channel_id": h.general, "channel_name": "general"}
    fields["response_url"] = h.slack.response_url()
    slow_id = h.socket.send(
        "slash_commands",
        dict(h.sender.slash_command_fields("declare sev3 Slow one", **fields)),
        accepts_response_payload=True,
    )
    assert entered.wait(5)
    closing = threading.Thread(target=h.bot.socket.close)
    closing.start()
    time.sleep(0.2)  # close() is now waiting for the envelope in hand
    assert h.socket.open_connections() == [0] and not h.socket.acks(slow_id)
    release.set()
    closing.join(10)
    assert not closing.is_alive()
    assert "declared" in h.socket.wait_ack(slow_id).payload["text"]
    h.socket.wait_closed(0)
    assert not h.bot.socket.client.message_processor.is_alive()
    assert len(h.slack.calls("apps.connections.open")) == 1  # closing is not a reason to reconnect


def test_slack_events_is_not_served_over_http_in_socket_mode_but_healthz_is(h):
    """With no signing secret nothing on HTTP could be verified: /slack/events is 404; /healthz 200."""
    assert get(h.server.url + HEALTH_PATH) == 200
    signed_looking = urllib.request.Request(
        h.server.url + EVENTS_PATH,
        data=b"command=/incident&text=declare+sev1+x",
        headers={"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=00"},
    )
    try:
        urllib.request.urlopen(signed_looking, timeout=5)
        status = 200
    except urllib.error.HTTPError as exc:
        status = exc.code
    assert status == 404
    assert incidents_declared(h) == []


@pytest.mark.parametrize(
    ("app_token", "expected"),
    [
        (None, "incident-bot: missing environment variable SLACK_APP_TOKEN"),
        (
            "xoxb-123-456-secretvalue",
            "incident-bot: SLACK_APP_TOKEN must be an app-level token starting with xapp- (the app's "
            "Basic Information -> App-Level Tokens, with the connections:write scope), not xoxb-",
        ),
    ],
)
def test_serve_socket_mode_refuses_to_start_without_an_app_token(app_token, expected, tmp_path):
    """No SLACK_APP_TOKEN, or one that is not xapp-: one clear line (never the token), exit 2."""
    env = clean_env(SLACK_BOT_TOKEN="xoxb-1", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    if app_token:
        env["SLACK_APP_TOKEN"] = app_token
    result = run_cli("serve", "--socket-mode", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [expected]
    assert "secretvalue" not in result.stderr


def test_serve_socket_mode_with_an_app_token_slack_refuses_exits_2_naming_the_error(tmp_path):
    """An xapp- token Slack does not know: apps.connections.open says invalid_auth; one line, exit 2."""
    from bot.local_slack import LocalSlack

    with LocalSlack() as slack:
        socket = SocketModeServer(slack)
        env = clean_env(
            SLACK_BOT_TOKEN=slack.token,
            SLACK_APP_TOKEN="xapp-1-A0OTHER-1-revoked",
            SLACK_API_URL=slack.base_url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        )
        result = run_cli("serve", "--socket-mode", "--port", "0", env=env)
        socket.stop()
    assert result.returncode == 2
    assert (
        "incident-bot: Slack refused the Socket Mode connection: invalid_auth" in result.stderr.splitlines()
    )
    assert "revoked" not in result.stderr
    assert socket.open_connections() == []


def test_serve_socket_mode_runs_without_a_signing_secret_and_closes_its_socket_on_sigterm(tmp_path):
    """`incident-bot serve --socket-mode` as an operator runs it: no SLACK_SIGNING_SECRET; it
    connects out, serves /healthz but not /slack/events, and on SIGTERM closes the socket, exit 0."""
    from bot.local_slack import LocalSlack

    with LocalSlack() as slack:
        socket = SocketModeServer(slack)
        env = clean_env(
            SLACK_BOT_TOKEN=slack.token,
            SLACK_APP_TOKEN=slack.app_token,
            SLACK_API_URL=slack.base_url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        )
        serve = Serve(env, "--socket-mode")
        try:
            socket.wait_connections(1)
            assert get(f"{serve.url}{HEALTH_PATH}") == 200
            assert get(f"{serve.url}{EVENTS_PATH}") == 404
            assert [c.method for c in slack.calls()] == ["auth.test", "apps.connections.open"]
        finally:
            code = serve.terminate(timeout=20)
        assert code == 0
        socket.wait_closed(0)
        socket.stop()
        assert socket.problems == []


def test_settings_in_socket_mode_need_the_app_token_instead_of_the_signing_secret():
    """load_settings(socket_mode=True): SLACK_APP_TOKEN required, SLACK_SIGNING_SECRET optional;
    over HTTP the signing secret is still required and the app token unused."""
    from bot.config import load_settings
    from bot.core.errors import ConfigError

    socket = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1-A1-2-x"}, socket_mode=True
    )
    assert (socket.socket_mode, socket.app_token, socket.signing_secret) == (True, "xapp-1-A1-2-x", "")
    http = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_APP_TOKEN": "xapp-1"}
    )
    assert (http.socket_mode, http.app_token) == (False, None)
    with pytest.raises(ConfigError, match="missing environment variable SLACK_SIGNING_SECRET"):
        load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    with pytest.raises(ConfigError, match="not something else"):
        load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "abc"}, socket_mode=True)
