"""What only the tests send into the bot: button presses, modal submissions and Events API deliveries,
shaped and signed as Slack sends them (slash commands are in ``bot.local_slack.requests``)."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from bot.local_slack import HttpReply, SlackRequestSender


class InteractionSender(SlackRequestSender):
    """A :class:`SlackRequestSender` that also sends interactivity payloads and Events API deliveries."""

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
        return self.interaction(
            self.block_action_payload(
                action_id,
                user_id=user_id,
                channel_id=channel_id,
                message_ts=message_ts,
                value=value,
                selected=selected,
                response_url=response_url,
                block_id=block_id,
            )
        )

    def block_action_payload(
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
    ) -> dict:
        """The `block_actions` payload of a button press or a static select choice."""
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
        return {
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

    def view_submission(self, view: dict, values: dict[str, dict], *, user_id: str) -> HttpReply:
        """Submit an opened `view` (as views.open returned it) with state `values`:
        {block_id: {action_id: element state}}."""
        return self.interaction(self.view_submission_payload(view, values, user_id=user_id))

    def view_submission_payload(self, view: dict, values: dict[str, dict], *, user_id: str) -> dict:
        """The `view_submission` payload of an opened `view` submitted with state `values`."""
        submitted = {
            **view,
            "state": {"values": values},
            "hash": f"{time.time():.0f}.abcdef12",
            "previous_view_id": None,
            "root_view_id": view.get("id"),
            "app_id": "A0INCIDENT",
            "bot_id": "B0001",
        }
        return {
            **self._interaction_envelope("view_submission", user_id),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
        }

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
        payload = self.event_payload(event, event_id=event_id)
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return self.post(json.dumps(payload).encode(), "application/json", headers=headers)

    def event_payload(self, event: dict, *, event_id: str) -> dict:
        """The `event_callback` body Slack delivers for `event`."""
        return {
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
