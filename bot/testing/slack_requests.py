"""Sends requests into the bot exactly as Slack does: form-encoded, signed with the v0 HMAC scheme."""

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
    """Plays Slack's side of the HTTP contract against the bot's real endpoint."""

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
        fields = [
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
        body = urlencode(fields).encode()
        return self.post(body, "application/x-www-form-urlencoded", timestamp=timestamp, secret=secret)

    def trigger_id(self) -> str:
        """A fresh trigger id, shaped like Slack's: `<issued unix seconds>.<n>.<hex>`."""
        self._trigger += 1
        return f"{int(time.time())}.{self._trigger}.0123456789abcdef"

    def block_action(
        self,
        action_id: str,
        *,
        user_id: str,
        channel_id: str,
        message_ts: str,
        value: str | None = None,
        selected: str | None = None,
        response_url: str = "https://hooks.slack.com/actions/T0001/1/x",
        block_id: str = "summary.actions",
    ) -> HttpReply:
        """A button press (value) or a static select choice (selected), as `payload=` JSON."""
        if selected is not None:
            action = {
                "type": "static_select",
                "action_id": action_id,
                "block_id": block_id,
                "selected_option": {"text": {"type": "plain_text", "text": selected}, "value": selected},
                "action_ts": f"{time.time():.6f}",
            }
        else:
            action = {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "action_ts": f"{time.time():.6f}",
            }
        payload = {
            **self._interaction_envelope("block_actions", user_id),
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel_id,
                "is_ephemeral": False,
            },
            "channel": {"id": channel_id, "name": "channel"},
            "message": {"type": "message", "user": "UBOT0001", "ts": message_ts, "text": "", "blocks": []},
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
            "is_enterprise_install": False,
        }
        return self.interaction(payload)

    def view_submission(self, view: dict, values: dict[str, dict], *, user_id: str) -> HttpReply:
        """Submit an opened `view` (as views.open returned it) with state `values`:
        {block_id: {action_id: element state}}."""
        submitted = {
            **view,
            "state": {"values": values},
            "hash": f"{time.time():.0f}.abcdef12",
            "previous_view_id": None,
            "root_view_id": view.get("id"),
            "app_id": "A0INCIDENT",
            "bot_id": "B0001",
        }
        payload = {
            **self._interaction_envelope("view_submission", user_id),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
        }
        return self.interaction(payload)

    def _interaction_envelope(self, kind: str, user_id: str) -> dict:
        """The fields every interaction payload carries, in Slack's shape."""
        return {
            "type": kind,
            "team": {"id": self.team_id, "domain": "example"},
            "user": {
                "id": user_id,
                "username": user_id.lower(),
                "name": user_id.lower(),
                "team_id": self.team_id,
            },
            "api_app_id": "A0INCIDENT",
            "token": "legacy-verification-token",
            "trigger_id": self.trigger_id(),
        }

    def interaction(self, payload: dict) -> HttpReply:
        """Interactivity arrives form-encoded as a single `payload` field of JSON."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded")

    def event(self, event: dict, *, event_id: str, retry_num: int | None = None) -> HttpReply:
        """An Events API delivery (JSON body); a retry carries X-Slack-Retry-Num and -Reason."""
        payload = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "api_app_id": "A0INCIDENT",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": "UBOT0001",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(json.dumps(payload).encode(), "application/json", headers=headers)

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
