"""Slack's side of Socket Mode, on loopback: the WebSocket server that apps.connections.open on the
local Slack points at, and the envelopes Slack sends over it.

Each URL it issues is good for one connection (Slack's `ticket`). A connection first gets `hello`;
then the test sends `slash_commands`, `interactive` and `events_api` envelopes in Slack's shape
(`envelope_id`, `payload`, `type`, `accepts_response_payload`, `retry_attempt`, `retry_reason`),
`disconnect` messages, and reads the bot's acks. Like Slack it pings each connection, and it holds
the bot to the contract: an ack must name an envelope that was sent, carry only `envelope_id` and
`payload`, and carry a payload only where the envelope accepts one. Breaches go to `problems`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from bot.local_slack import HttpReply, LocalSlack, SlackError
from bot.local_slack.validation import check_response_payload
from tests.interaction_sender import InteractionSender

WAIT = 15.0


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None
    connection: int  # index of the connection that carried it, in the order they were opened


class SocketModeServer:
    """A Socket Mode server attached to a :class:`LocalSlack` (its apps.connections.open)."""

    def __init__(self, slack: LocalSlack, *, ping_interval: float = 0.2) -> None:
        self.slack = slack
        self.problems: list[str] = []
        self._lock = threading.Condition()
        self._tickets: set[str] = set()
        self._connections: list[ServerConnection] = []
        self._open: list[bool] = []
        self._sent: dict[str, dict[str, Any]] = {}
        self._acks: list[Ack] = []
        # Slack pings its clients; it also keeps the built-in client's 3 s socket reads short.
        self._server = serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            compression=None,
            ping_interval=ping_interval,
            ping_timeout=None,
        )
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="socket-mode", daemon=True)
        self._thread.start()
        slack.socket_mode = self

    # apps.connections.open ----------------------------------------------------------------

    def new_url(self) -> str:
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.slack.app_id}"

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        ticket = (parse_qs(url.query).get("ticket") or [""])[0]
        with self._lock:
            if url.path == "/link/" and ticket in self._tickets:
                self._tickets.discard(ticket)  # one connection per URL
                return None
            self.problems.append(f"connection with an unknown or used URL {request.path}")
        return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")

    # connections --------------------------------------------------------------------------

    def _handle(self, connection: ServerConnection) -> None:
        with self._lock:
            index = len(self._connections)
            self._connections.append(connection)
            self._open.append(True)
            self._lock.notify_all()
        hello = {
            "type": "hello",
            "num_connections": sum(self._open),
            "debug_info": {"host": "applink-local", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.slack.app_id},
        }
        try:
            connection.send(json.dumps(hello))
            for message in connection:
                self._on_message(index, message)
        except ConnectionClosed:
            pass  # the built-in client closes the TCP connection without a close frame
        finally:
            with self._lock:
                self._open[index] = False
                self._lock.notify_all()

    def _on_message(self, index: int, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        with self._lock:
            if not isinstance(message, dict) or not isinstance(message.get("envelope_id"), str):
                self.problems.append(f"not an ack: {raw!r}")
                return
            envelope = self._sent.get(message["envelope_id"])
            if envelope is None:
                self.problems.append(f"ack for an envelope never sent: {message['envelope_id']}")
                return
            if set(message) - {"envelope_id", "payload"}:
                self.problems.append(f"ack with unknown fields: {sorted(message)}")
            payload = message.get("payload")
            if payload is not None and not envelope["accepts_response_payload"]:
                self.problems.append(f"payload in the ack of a {envelope['type']} envelope, which takes none")
            if payload is not None and envelope["type"] == "slash_commands":
                try:
                    check_response_payload(payload)
                except SlackError as exc:
                    self.problems.append(f"invalid slash command response {payload}: {exc.error}")
            self._acks.append(Ack(message["envelope_id"], payload, index))
            self._lock.notify_all()

    def wait_connections(self, count: int, timeout: float = WAIT) -> None:
        """Until `count` connections have been opened in all."""
        assert self._wait(lambda: len(self._connections) >= count, timeout), (
            f"{len(self._connections)} Socket Mode connections opened, expected {count}"
        )

    def open_connections(self) -> list[int]:
        with self._lock:
            return [i for i, is_open in enumerate(self._open) if is_open]

    def wait_closed(self, index: int, timeout: float = WAIT) -> None:
        assert self._wait(lambda: not self._open[index], timeout), f"connection {index} is still open"

    # what Slack sends ---------------------------------------------------------------------

    def send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        retry_attempt: int = 0,
        retry_reason: str = "",
        connection: int | None = None,
    ) -> str:
        """Send one envelope on `connection` (default: the newest open one); its envelope id."""
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        self._send_on(connection, envelope)
        return envelope["envelope_id"]

    def disconnect(self, reason: str = "refresh_requested", connection: int | None = None) -> None:
        """Slack's notice that this connection will go away: the client must open a new one."""
        self._send_on(
            connection, {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-local"}}
        )

    def _send_on(self, connection: int | None, message: dict[str, Any]) -> None:
        # The client's handshake can finish a moment before this server has registered it.
        assert self._wait(lambda: any(self._open), WAIT), "no Socket Mode connection is open"
        with self._lock:
            open_now = [i for i, is_open in enumerate(self._open) if is_open]
            index = open_now[-1] if connection is None else connection
            if "envelope_id" in message:
                self._sent[message["envelope_id"]] = message
            target = self._connections[index]
        target.send(json.dumps(message))

    # acks ---------------------------------------------------------------------------------

    def acks(self, envelope_id: str) -> list[Ack]:
        with self._lock:
            return [a for a in self._acks if a.envelope_id == envelope_id]

    def wait_ack(self, envelope_id: str, timeout: float = WAIT) -> Ack:
        assert self._wait(lambda: any(a.envelope_id == envelope_id for a in self._acks), timeout), (
            f"envelope {envelope_id} was not acked"
        )
        return self.acks(envelope_id)[0]

    def _wait(self, ready: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not ready():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self.slack.socket_mode = None


class SocketModeSender(InteractionSender):
    """Sends what :class:`InteractionSender` sends over HTTP as Socket Mode envelopes instead, and
    answers with the bot's ack as an :class:`HttpReply` (200, the ack's payload as the body)."""

    def __init__(self, server: SocketModeServer, *, team_id: str = "T0001") -> None:
        super().__init__(url="", signing_secret="", team_id=team_id)
        self.server = server

    def slash_command(self, text: str, **fields: Any) -> HttpReply:  # type: ignore[override]
        payload = dict(self.slash_command_fields(text, **fields))
        return self._ack(self.server.send("slash_commands", payload, accepts_response_payload=True))

    def interaction(self, payload: dict) -> HttpReply:
        # Slack takes a response (response_action) from a modal submission, not from a button.
        accepts = payload["type"] == "view_submission"
        return self._ack(self.server.send("interactive", payload, accepts_response_payload=accepts))

    def event(self, event: dict, *, event_id: str, retry_num: int | None = None) -> HttpReply:
        return self._ack(
            self.server.send(
                "events_api",
                self.event_payload(event, event_id=event_id),
                accepts_response_payload=False,
                retry_attempt=retry_num or 0,
                retry_reason="timeout" if retry_num else "",
            )
        )

    def post(self, *args: Any, **kwargs: Any) -> HttpReply:
        raise AssertionError("nothing goes over HTTP to the bot in Socket Mode")

    def _ack(self, envelope_id: str) -> HttpReply:
        ack = self.server.wait_ack(envelope_id)
        return HttpReply(200, json.dumps(ack.payload).encode() if ack.payload is not None else b"")
