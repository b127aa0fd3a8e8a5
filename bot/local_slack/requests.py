"""Sends slash commands into the bot exactly as Slack does: form-encoded, signed with the v0 HMAC scheme.

The demo uses it; the tests add button presses, modal submissions and Events API deliveries
(``tests/interaction_sender.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode


def slack_signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body) if self.body else {}

    @property
    def text(self) -> str:
        """The ephemeral text of an ack, or the raw body."""
        try:
            return str(self.json().get("text", ""))
        except ValueError:
            return self.body.decode()


class SlackRequestSender:
    """Plays Slack's side of the HTTP contract against the bot's real endpoint: slash commands."""

    def __init__(self, url: str, signing_secret: str, *, team_id: str = "T0001", timeout: float = 10) -> None:
        self.url = url
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.timeout = timeout
        self._trigger = 0

    def slash_command(
        self,
        text: str,
        *,
        user_id: str,
        user_name: str = "",
        channel_id: str = "C0GENERAL1",
        channel_name: str = "general",
        response_url: str = "https://hooks.slack.com/commands/T0001/1/x",
        command: str = "/incident",
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> HttpReply:
        """A slash command, its fields in the order and encoding Slack uses."""
        fields = self.slash_command_fields(
            text,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            channel_name=channel_name,
            response_url=response_url,
            command=command,
        )
        body = urlencode(fields).encode()
        return self.post(body, "application/x-www-form-urlencoded", timestamp=timestamp, secret=secret)

    def slash_command_fields(
        self,
        text: str,
        *,
        user_id: str,
        user_name: str = "",
        channel_id: str = "C0GENERAL1",
        channel_name: str = "general",
        response_url: str = "https://hooks.slack.com/commands/T0001/1/x",
        command: str = "/incident",
    ) -> list[tuple[str, str]]:
        """A slash command's fields in Slack's order (form-encoded over HTTP, a JSON object in a
        Socket Mode envelope)."""
        return [
            ("token", "legacy-verification-token"),
            ("team_id", self.team_id),
            ("team_domain", "example"),
            ("channel_id", channel_id),
            ("channel_name", channel_name),
            ("user_id", user_id),
            ("user_name", user_name or user_id.lower()),
            ("command", command),
            ("text", text),
            ("api_app_id", "A0INCIDENT"),
            ("is_enterprise_install", "false"),
            ("response_url", response_url),
            ("trigger_id", self.trigger_id()),
        ]

    def trigger_id(self) -> str:
        """A fresh trigger id, shaped like Slack's: `<issued unix seconds>.<n>.<hex>`."""
        self._trigger += 1
        return f"{int(time.time())}.{self._trigger}.0123456789abcdef"

    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpReply:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        request = urllib.request.Request(self.url, data=body, method="POST")
        request.add_header("Content-Type", content_type)
        request.add_header("X-Slack-Request-Timestamp", ts)
        request.add_header("X-Slack-Signature", slack_signature(secret or self.signing_secret, ts, body))
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return HttpReply(response.status, response.read())
        except urllib.error.HTTPError as exc:
            return HttpReply(exc.code, exc.read())
