"""Socket Mode: the same Bolt app, reached over a WebSocket the bot opens to Slack.

Bolt's own handler with slack_sdk's built-in client (no extra dependency) opens the connection
with the app-level token (apps.connections.open, on the same Web API base URL as every other
call), acks each envelope by its `envelope_id` with what the listener answered, and reconnects
when Slack asks it to (`disconnect`) or the connection goes quiet. Every request it answers is
counted in `RequestsInFlight`, like an HTTP one, so Slack work lets the acks go first.
"""

from __future__ import annotations

import logging
import threading

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.sync_queue import RequestsInFlight

log = logging.getLogger(__name__)

# Seconds between the client's pings; a connection without a pong for 4 of them is replaced.
PING_INTERVAL = 10.0
# Envelopes handled at once (each runs its listener up to the ack, like an HTTP worker thread).
WORKERS = 16


class _CountingHandler(SocketModeHandler):
    """Bolt's handler, with each envelope counted in flight until its ack is sent."""

    def __init__(self, app: App, app_token: str, in_flight: RequestsInFlight, **options: float) -> None:
        self.in_flight = in_flight
        super().__init__(app, app_token, **options)  # type: ignore[arg-type]

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        with self.in_flight:
            super().handle(client, req)


class SocketModeConnection:
    """One Socket Mode connection to Slack, kept open (and renewed) until `close()`."""

    def __init__(
        self,
        app: App,
        app_token: str,
        in_flight: RequestsInFlight,
        *,
        ping_interval: float = PING_INTERVAL,
        workers: int = WORKERS,
    ) -> None:
        self.in_flight = in_flight
        self._closed = False
        self._closing = threading.Lock()  # a second close() waits until the first has finished
        self._handler = _CountingHandler(
            app, app_token, in_flight, ping_interval=ping_interval, concurrency=workers
        )

    @property
    def client(self) -> SocketModeClient:
        return self._handler.client

    def connect(self) -> None:
        """Open the first connection; raises SlackApiError if Slack refuses the app token."""
        self._handler.connect()
        log.info("connected to Slack over Socket Mode")

    def is_connected(self) -> bool:
        return self._handler.client.is_connected()

    def close(self) -> None:
        """Stop taking envelopes, let those being handled finish and send their acks, then close
        the socket and end the client's threads. Envelopes received but not yet started stay
        unacked, so Slack delivers them again (to another replica, or after the restart)."""
        with self._closing:
            if self._closed:
                return
            self._close()
            self._closed = True

    def _close(self) -> None:
        client = self._handler.client
        client.auto_reconnect_enabled = False
        client.closed = True  # the client's message loop ends after the message it waits for...
        client.message_queue.put(None)  # ...which this is, if nothing else is waiting (None is skipped)
        if client.message_processor.is_alive():
            client.message_processor.shutdown()
        client.message_workers.shutdown(wait=True)
        client.close()  # the slack_sdk client closes the TCP socket (it sends no close frame)
        log.info("closed the Socket Mode connection")
