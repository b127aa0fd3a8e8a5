"""The Web API methods the local Slack implements (all but the file upload flow, in ``files.py``).

``LocalSlack`` routes ``/api/<method>`` to ``_api_<method>`` (dots become underscores) once the
token, the parameters and the method's scopes have passed; each returns the body after ``"ok": true``
or raises :class:`~bot.local_slack.errors.SlackError`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.local_slack.errors import SlackError, invalid_arguments
from bot.local_slack.validation import (
    MAX_TEXT,
    MAX_TOPIC,
    name_problem,
    parse_bool,
    require,
    validate_blocks,
    validate_view,
)
from bot.local_slack.workspace import Channel, Message, Workspace

TRIGGER_TTL = 3
DEFAULT_LIMIT = 100
MAX_LIMIT = 999
_TRIGGER_ID = re.compile(r"(\d+)\.(\d+)\.([0-9a-f]+)")


class SocketModeEndpoint(Protocol):
    def new_url(self) -> str:
        """A fresh WebSocket URL for one Socket Mode connection (``ws://127.0.0.1:PORT/...``)."""
        ...


class WebApi(Workspace):
    """auth, conversations, chat, pins, users and views methods, and the JSON shapes they answer with."""

    app_id: str
    bot_id: str
    team_id: str
    _views: list[dict[str, Any]]
    _used_triggers: set[str]
    _view_seq: int
    socket_mode: SocketModeEndpoint | None

    def views(self) -> list[dict[str, Any]]:
        """Deep copies of the views opened by views.open, in order, as the API returned them."""
        with self._lock:
            return copy.deepcopy(self._views)

    def _api_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        data = {"url": "https://fake-workspace.slack.com/", "team": "Fake Workspace", "team_id": self.team_id}
        data |= {
            "user": self._users[self.bot_user_id].name,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
        }
        return data | {"is_enterprise_install": False}

    def _api_conversations_create(self, params: dict[str, Any]) -> dict[str, Any]:
        name = require(params, "name", "invalid_name_required")
        is_private = bool(parse_bool(params.get("is_private", False)))
        self._check_channel_scope("conversations.create", is_private)
        problem = name_problem(name)
        if problem:
            raise SlackError(problem)
        if self._find_by_name(name) is not None:
            raise SlackError("name_taken")
        chan = self._new_channel(name, is_private, {self.bot_user_id}, self.bot_user_id)
        return {"channel": self._channel_json(chan)}

    def _api_conversations_invite(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._member_channel(params, "conversations.invite")
        user_ids = [u.strip() for u in require(params, "users", "no_user").split(",") if u.strip()]
        if not user_ids:
            raise SlackError("no_user")
        errors = [
            {"user": u, "ok": False, "error": e} for u in user_ids if (e := self._invite_problem(chan, u))
        ]
        if errors:
            raise SlackError(str(errors[0]["error"]), errors=errors)
        chan.members.update(user_ids)
        return {"channel": self._channel_json(chan)}

    def _invite_problem(self, chan: Channel, user_id: str) -> str | None:
        if user_id == self.bot_user_id:
            return "cant_invite_self"
        if user_id not in self._users:
            return "user_not_found"
        if user_id in chan.members:
            return "already_in_channel"
        return None

    def _api_conversations_setTopic(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._member_channel(params, "conversations.setTopic")
        topic = params.get("topic")
        if topic is None:
            invalid_arguments("missing required field: topic")
        if len(topic) > MAX_TOPIC:
            raise SlackError("too_long")
        chan.topic, chan.topic_creator, chan.topic_last_set = topic, self.bot_user_id, int(time.time())
        return {"channel": self._channel_json(chan)}

    def _api_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._visible_channel(params)
        self._check_channel_scope("conversations.info", chan.is_private)
        with_count = bool(parse_bool(params.get("include_num_members", False)))
        return {"channel": self._channel_json(chan, num_members=with_count)}

    def _api_conversations_list(self, params: dict[str, Any]) -> dict[str, Any]:
        """Channels the bot can see, in creation order: public ones with channels:read, private
        ones it is a member of with groups:read (`types` public_channel,private_channel; default
        public only). The cursor is the index of the next channel."""
        types = set(str(params.get("types") or "public_channel").split(","))
        if types - {"public_channel", "private_channel"}:
            invalid_arguments(f"types '{params.get('types')}' is not supported here")
        if "public_channel" in types:
            self._check_scope({"channels:read"})
        if "private_channel" in types:
            self._check_scope({"groups:read"})
        visible = [
            chan
            for chan in self._channels.values()
            if (not chan.is_private and "public_channel" in types)
            or (chan.is_private and "private_channel" in types and self.bot_user_id in chan.members)
        ]
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        page = visible[start : start + limit]
        next_cursor = str(start + limit) if start + limit < len(visible) else ""
        return {
            "channels": [self._channel_json(chan) for chan in page],
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _api_conversations_join(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._channels.get(require(params, "channel", "channel_not_found"))
        if chan is None:
            raise SlackError("channel_not_found")
        if chan.is_private:
            raise SlackError("method_not_supported_for_channel_type")
        if self.bot_user_id in chan.members:
            meta = {"warnings": ["already_in_channel"]}
            return {
                "channel": self._channel_json(chan),
                "warning": "already_in_channel",
                "response_metadata": meta,
            }
        chan.members.add(self.bot_user_id)
        return {"channel": self._channel_json(chan)}

    def _content(self, params: dict[str, Any]) -> tuple[str | None, list[Any] | None]:
        """Validate text/blocks/attachments; returns (text, blocks) as given."""
        text = params.get("text")
        blocks = validate_blocks(params["blocks"]) if "blocks" in params else None
        attachments = params.get("attachments")
        if isinstance(attachments, str):
            try:
                attachments = json.loads(attachments)
            except ValueError:
                attachments = None
        if "attachments" in params and not (
            isinstance(attachments, list) and all(isinstance(a, dict) for a in attachments)
        ):
            raise SlackError("invalid_attachments")
        if text is not None and len(text) > MAX_TEXT:
            raise SlackError("msg_too_long")
        if not text and not blocks and not attachments:
            raise SlackError("no_text")
        return text, blocks

    def _api_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._postable_channel(params)
        self._take_rate_token(chan.id)
        text, blocks = self._content(params)
        thread_ts = params.get("thread_ts") or None
        self._check_thread(chan, thread_ts)
        msg = Message(self._next_ts(), self.bot_user_id, text or "", blocks, thread_ts)
        chan.messages.append(msg)
        return {"channel": chan.id, "ts": msg.ts, "message": self._message_json(msg)}

    def _api_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._visible_channel(params)
        msg = self._find_message(chan, require(params, "ts", "message_not_found"))
        if msg.user != self.bot_user_id:
            raise SlackError("cant_update_message")
        text, blocks = self._content(params)
        if text is not None:
            msg.text = text
        if blocks is not None:
            msg.blocks = blocks or None
        msg.edited, msg.edited_ts = True, self._next_ts()
        message = self._message_json(msg)
        return {"channel": chan.id, "ts": msg.ts, "text": msg.text, "message": message}

    def _api_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._postable_channel(params)
        user_id = require(params, "user", "user_not_found")
        if user_id not in self._users:
            raise SlackError("user_not_found")
        if user_id not in chan.members:
            raise SlackError("user_not_in_channel")
        self._content(params)
        self._check_thread(chan, params.get("thread_ts") or None)
        return {"message_ts": self._next_ts()}

    def _api_conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._member_channel(params, "conversations.history")
        contains, limit, resume = _time_window(params), _limit(params), _cursor_ts(params)
        found = [
            m
            for m in sorted(chan.messages, key=lambda m: Decimal(m.ts), reverse=True)
            if m.thread_ts is None and contains(m.ts) and (resume is None or Decimal(m.ts) <= resume)
        ]
        return self._page(chan, found, limit) | {
            "pin_count": len(chan.pins),
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }

    def _api_conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._member_channel(params, "conversations.replies")
        ts = params.get("ts")
        if not ts:
            invalid_arguments("missing required field: ts")
        contains, limit, resume = _time_window(params), _limit(params), _cursor_ts(params)
        found = next((m for m in chan.messages if m.ts == ts), None)
        if found is None:
            raise SlackError("thread_not_found")
        parent = found if found.thread_ts is None else self._find_message(chan, found.thread_ts)
        replies = [
            m
            for m in sorted(chan.messages, key=lambda m: Decimal(m.ts))
            if m.thread_ts == parent.ts and contains(m.ts) and (resume is None or Decimal(m.ts) >= resume)
        ]
        return self._page(chan, ([parent] if resume is None else []) + replies, limit)

    def _page(self, chan: Channel, found: list[Message], limit: int) -> dict[str, Any]:
        page, rest = found[:limit], found[limit:]
        return {
            "messages": [self._stored_message_json(chan, m) for m in page],
            "has_more": bool(rest),
            "response_metadata": {"next_cursor": _encode_cursor(rest[0].ts) if rest else ""},
        }

    def _api_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger_id = params.get("trigger_id")
        if not trigger_id:
            invalid_arguments("missing required field: trigger_id")
        if not params.get("view"):
            invalid_arguments("missing required field: view")
        if not isinstance(params["view"], str | dict):
            invalid_arguments("expected a JSON object for 'view'")
        self._check_trigger(trigger_id)
        view = copy.deepcopy(validate_view(params["view"]))
        external_id = view.get("external_id", "")
        if external_id and any(v["external_id"] == external_id for v in self._views):
            raise SlackError("duplicate_external_id")
        self._used_triggers.add(trigger_id)
        self._view_seq += 1
        view_id = f"V{self._view_seq:010d}"
        opened: dict[str, Any] = {"id": view_id, "team_id": self.team_id, "type": "modal"}
        opened |= {"blocks": view["blocks"], "private_metadata": view.get("private_metadata", "")}
        opened |= {"callback_id": view.get("callback_id", ""), "state": {"values": {}}}
        opened |= {"hash": f"{int(time.time())}.{self._view_seq:08x}", "title": view["title"]}
        opened |= {"clear_on_close": view.get("clear_on_close", False)}
        opened |= {"notify_on_close": view.get("notify_on_close", False)}
        opened |= {"close": view.get("close"), "submit": view.get("submit")}
        opened |= {"previous_view_id": None, "root_view_id": view_id, "app_id": self.app_id}
        opened |= {"external_id": external_id, "app_installed_team_id": self.team_id, "bot_id": self.bot_id}
        opened["submit_disabled"] = view.get("submit_disabled", False)
        self._views.append(copy.deepcopy(opened))
        return {"view": opened}

    def _check_trigger(self, trigger_id: str) -> None:
        """Slack's trigger rules: parseable, used once, at most TRIGGER_TTL seconds old."""
        match = _TRIGGER_ID.fullmatch(trigger_id)
        now = time.time()
        if match is None or int(match[1]) > now + 1:
            raise SlackError("invalid_trigger_id")
        if trigger_id in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        if int(now) - int(match[1]) > TRIGGER_TTL:
            raise SlackError("expired_trigger_id")

    def _api_pins_add(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._member_channel(params, "pins.add")
        msg = self._find_message(chan, require(params, "timestamp", "no_item_specified"))
        if msg.ts in chan.pins:
            raise SlackError("already_pinned")
        chan.pins.append(msg.ts)
        return {}

    def _api_users_lookupByEmail(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 (Slack's name)
        """As Slack: the user whose profile has this email (any case), else users_not_found."""
        email = require(params, "email", "users_not_found").strip().lower()
        for candidate in self._users.values():
            if candidate.email and candidate.email.lower() == email:
                return self._api_users_info({"user": candidate.id})
        raise SlackError("users_not_found")

    def _api_apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.socket_mode is None:
            raise SlackError("socket_mode_not_enabled")
        return {"url": self.socket_mode.new_url()}

    def _api_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(require(params, "user", "user_not_found"))
        if user is None:
            raise SlackError("user_not_found")
        user_json: dict[str, Any] = {
            "id": user.id,
            "team_id": self.team_id,
            "name": user.name,
            "real_name": user.real_name,
        }
        user_json |= {"deleted": False, "is_bot": user.is_bot}
        if user.tz:  # as Slack: the zone's name, a label and the offset from UTC now, in seconds
            offset = datetime.now(ZoneInfo(user.tz)).utcoffset() or timedelta(0)
            label = datetime.now(ZoneInfo(user.tz)).tzname() or user.tz
            user_json |= {"tz": user.tz, "tz_label": label, "tz_offset": int(offset.total_seconds())}
        profile = {
            "display_name": user.display_name,
            "display_name_normalized": user.display_name,
            "real_name": user.real_name,
            "real_name_normalized": user.real_name,
        }
        if user.email and "users:read.email" in self.scopes:
            profile["email"] = user.email  # Slack shows emails only to apps with this scope
        return {"user": user_json | {"profile": profile}}

    def _channel_json(self, chan: Channel, *, num_members: bool = False) -> dict[str, Any]:
        topic = {"value": chan.topic, "creator": chan.topic_creator, "last_set": chan.topic_last_set}
        data: dict[str, Any] = {
            "id": chan.id,
            "name": chan.name,
            "name_normalized": chan.name,
            "topic": topic,
        }
        data |= {"is_channel": True, "is_group": False, "is_im": False, "is_private": chan.is_private}
        data |= {"is_archived": False, "is_general": False, "created": chan.created, "creator": chan.creator}
        data |= {
            "is_member": self.bot_user_id in chan.members,
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        if num_members:
            data["num_members"] = len(chan.members)
        return data

    def _message_json(self, msg: Message) -> dict[str, Any]:
        data: dict[str, Any] = {"type": "message", "user": msg.user, "text": msg.text, "ts": msg.ts}
        data["team"] = self.team_id
        if msg.user == self.bot_user_id:
            data["bot_id"] = self.bot_id
        if msg.blocks is not None:
            data["blocks"] = msg.blocks
        if msg.thread_ts is not None:
            data["thread_ts"] = msg.thread_ts
        if msg.edited_ts is not None:
            data["edited"] = {"user": msg.user, "ts": msg.edited_ts}
        if msg.files is not None:
            data |= {"files": copy.deepcopy(msg.files), "upload": True, "display_as_bot": False}
        return data

    def _stored_message_json(self, chan: Channel, msg: Message) -> dict[str, Any]:
        """A message as conversations.history/replies show it, with thread and pin details."""
        data = self._message_json(msg)
        if msg.thread_ts is None:
            replies = [m for m in chan.messages if m.thread_ts == msg.ts]
            if replies:
                users = list(dict.fromkeys(m.user for m in replies))
                data |= {"thread_ts": msg.ts, "reply_count": len(replies), "reply_users_count": len(users)}
                data |= {"reply_users": users, "latest_reply": replies[-1].ts}
        else:
            parent = next((m for m in chan.messages if m.ts == msg.thread_ts), None)
            if parent is not None:
                data["parent_user_id"] = parent.user
        if msg.ts in chan.pins:
            data["pinned_to"] = [chan.id]
        return data


def _ts_param(params: dict[str, Any], name: str) -> Decimal | None:
    """A ``latest``/``oldest`` timestamp as an exact Decimal; invalid_ts_<name> if malformed."""
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidOperation
        number = Decimal(str(value))
    except InvalidOperation:
        raise SlackError(f"invalid_ts_{name}") from None
    if not number.is_finite() or number < 0:
        raise SlackError(f"invalid_ts_{name}")
    return number


def _time_window(params: dict[str, Any]) -> Callable[[str], bool]:
    """Predicate on message ts for Slack's oldest/latest/inclusive arguments."""
    oldest, latest = _ts_param(params, "oldest"), _ts_param(params, "latest")
    inclusive = bool(parse_bool(params.get("inclusive", False)))

    def contains(ts: str) -> bool:
        value = Decimal(ts)
        above = oldest is None or value > oldest or (inclusive and value == oldest)
        below = latest is None or value < latest or (inclusive and value == latest)
        return above and below

    return contains


def _limit(params: dict[str, Any]) -> int:
    raw = params.get("limit")
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).isdigit():
        invalid_arguments("expected a non-negative integer for 'limit'")
    return min(int(raw), MAX_LIMIT) or DEFAULT_LIMIT


def _encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _cursor_ts(params: dict[str, Any]) -> Decimal | None:
    """The ts a cursor resumes at (inclusive), or None on the first page; invalid_cursor if bogus."""
    raw = params.get("cursor")
    if not raw:
        return None
    try:
        prefix, _, ts = base64.b64decode(raw, validate=True).decode().partition(":")
        resume = Decimal(ts)
        if prefix != "next_ts" or not resume.is_finite():
            raise ValueError(raw)
        return resume
    except (ValueError, binascii.Error, InvalidOperation):
        raise SlackError("invalid_cursor") from None
