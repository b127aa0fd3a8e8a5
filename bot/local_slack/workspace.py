"""The local workspace: its users and channels, the messages in them, and the rules of access.

:class:`Workspace` is a part of :class:`~bot.local_slack.server.LocalSlack`, which sets up the
state declared on it; the Web API methods (``web_api.py``, ``files.py``) build on it, and its
public methods let the demo and the tests set up a workspace and look inside it.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.local_slack.errors import SlackError
from bot.local_slack.validation import (
    CHANNEL_TYPE_SCOPES,
    name_problem,
    require,
    text_value,
    validate_blocks,
)

RATE_BURST = 5.0


@dataclass
class Message:
    """A message (top-level or thread reply) stored in a channel."""

    ts: str
    user: str
    text: str
    blocks: list[Any] | None
    thread_ts: str | None
    edited: bool = False
    edited_ts: str | None = None
    files: list[dict[str, Any]] | None = None  # file objects shared with the message, as Slack shows them


@dataclass
class Channel:
    """A public or private channel and everything posted in it."""

    id: str
    name: str
    is_private: bool
    members: set[str]
    topic: str = ""
    pins: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    created: int = 0
    creator: str = ""
    topic_creator: str = ""
    topic_last_set: int = 0


@dataclass
class User:
    """A member of the workspace: a person, or the bot itself."""

    id: str
    name: str  # the username (handle)
    is_bot: bool
    real_name: str = ""  # the full name; the username when not given
    display_name: str = ""  # what Slack shows; may be empty (then Slack shows the real name)
    email: str = ""  # the profile's email (users.lookupByEmail); none by default
    tz: str = ""  # the IANA zone users.info gives as `tz`; none by default (Slack gives none for bots)


class Workspace:
    """Users, channels and messages, and the rules every Web API method applies to them."""

    bot_user_id: str
    scopes: frozenset[str]
    post_rate_per_channel: float | None
    _lock: threading.RLock
    _users: dict[str, User]
    _channels: dict[str, Channel]
    _buckets: dict[str, tuple[float, float]]
    _channel_seq: int
    _last_ts_micros: int

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        is_bot: bool = False,
        real_name: str | None = None,
        display_name: str | None = None,
        email: str = "",
        tz: str = "",
    ) -> None:
        """Add (or replace) a user. As in Slack, `display_name` may be "" (none set); by default
        both names are the username."""
        with self._lock:
            self._users[user_id] = User(
                user_id,
                name,
                is_bot,
                real_name=name if real_name is None else real_name,
                display_name=name if display_name is None else display_name,
                email=email,
                tz=tz,
            )

    def add_channel(
        self,
        name: str,
        *,
        is_private: bool = False,
        members: Iterable[str] = (),
        channel_id: str | None = None,
    ) -> str:
        """Create a channel directly (no API call); members must be add_user()ed. Returns its id."""
        members = set(members)
        with self._lock:
            problem = name_problem(name)
            if problem or self._find_by_name(name) is not None:
                raise ValueError(f"bad channel name {name!r}: {problem or 'name_taken'}")
            if channel_id is not None and channel_id in self._channels:
                raise ValueError(f"channel id {channel_id!r} already exists")
            unknown = sorted(members - set(self._users))
            if unknown:
                raise ValueError(f"unknown users {unknown}; call add_user() first")
            creator = self.bot_user_id if self.bot_user_id in members else min(members, default="")
            return self._new_channel(name, is_private, members, creator, channel_id).id

    def channel(self, channel_id: str) -> Channel:
        """A snapshot (deep copy) of a channel; KeyError if unknown."""
        with self._lock:
            return copy.deepcopy(self._channels[channel_id])

    def channel_by_name(self, name: str) -> Channel | None:
        with self._lock:
            found = self._find_by_name(name.removeprefix("#"))
            return copy.deepcopy(found) if found else None

    def post_as_user(
        self,
        channel_id: str,
        user_id: str,
        text: str,
        *,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> str:
        """Add a message written by a (human) user, as if typed in Slack; returns ts.

        The message is stored like a posted one, so conversations.history/replies return it.
        KeyError for an unknown channel or user; ValueError if ``thread_ts`` is not a top-level
        message of the channel or ``blocks`` are invalid.
        """
        with self._lock:
            if user_id not in self._users:
                raise KeyError(user_id)
            chan = self._channels[channel_id]
            if thread_ts is not None and not any(
                m.ts == thread_ts and m.thread_ts is None for m in chan.messages
            ):
                raise ValueError(f"no top-level message {thread_ts} in {channel_id}")
            if blocks is not None:
                try:
                    validate_blocks(blocks)
                except SlackError as exc:
                    raise ValueError(f"invalid blocks: {exc.extra}") from None
            message = Message(self._next_ts(), user_id, text, copy.deepcopy(blocks), thread_ts)
            chan.messages.append(message)
            return message.ts

    def message(self, channel_id: str, ts: str) -> Message | None:
        """A deep copy of the message with this ts (top-level or reply), or None; KeyError if no channel."""
        with self._lock:
            found = next((m for m in self._channels[channel_id].messages if m.ts == ts), None)
            return copy.deepcopy(found)

    def dm(self, user_id: str) -> Channel | None:
        """A deep copy of the bot's direct-message channel with `user_id`, if one was opened."""
        with self._lock:
            for chan in self._channels.values():
                if chan.id.startswith("D") and chan.members == {self.bot_user_id, user_id}:
                    return copy.deepcopy(chan)
        return None

    def transcript(self, channel_id: str) -> str:
        """Human-readable dump: header, messages, indented thread replies, 📌 pins, 📎 files."""
        with self._lock:
            chan = self._channels[channel_id]
            lines = [f"#{chan.name} (topic: {chan.topic})"]
            for msg in chan.messages:
                if msg.thread_ts is None:
                    lines += _render(msg, msg.ts in chan.pins, "")
                    for reply in chan.messages:
                        if reply.thread_ts == msg.ts:
                            lines += _render(reply, reply.ts in chan.pins, "    ↳ ")
        return "\n".join(lines)

    def _check_scope(self, any_of: frozenset[str] | set[str]) -> None:
        if any_of and not any_of & self.scopes:
            needed = ",".join(sorted(any_of))
            raise SlackError("missing_scope", needed=needed, provided=",".join(sorted(self.scopes)))

    def _check_channel_scope(self, method: str, is_private: bool) -> None:
        if method in CHANNEL_TYPE_SCOPES:
            self._check_scope({CHANNEL_TYPE_SCOPES[method][int(is_private)]})

    def _find_by_name(self, name: str) -> Channel | None:
        return next((c for c in self._channels.values() if c.name == name), None)

    def _new_channel(
        self, name: str, is_private: bool, members: set[str], creator: str, channel_id: str | None = None
    ) -> Channel:
        if channel_id is None:
            self._channel_seq += 1
            channel_id = f"C{self._channel_seq:010d}"
        chan = Channel(channel_id, name, is_private, set(members), created=int(time.time()), creator=creator)
        self._channels[channel_id] = chan
        return chan

    def _next_ts(self) -> str:
        """Unique, increasing message timestamps that are also the time of posting (µs), as Slack's are."""
        micros = max(int(time.time() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _visible_channel(self, params: dict[str, Any]) -> Channel:
        """Channel by ID that the bot can see (public, or private and a member)."""
        chan = self._channels.get(require(params, "channel", "channel_not_found"))
        if chan is None or (chan.is_private and self.bot_user_id not in chan.members):
            raise SlackError("channel_not_found")
        return chan

    def _member_channel(self, params: dict[str, Any], method: str) -> Channel:
        """Visible channel the bot is a member of, after the channel-type scope check."""
        chan = self._visible_channel(params)
        self._check_channel_scope(method, chan.is_private)
        if self.bot_user_id not in chan.members:
            raise SlackError("not_in_channel")
        return chan

    def _postable_channel(self, params: dict[str, Any]) -> Channel:
        """Resolve an ID, '#name' or 'name' and apply Slack's posting rules. A user ID posts to
        the bot's direct message with that user, opening it the first time, as Slack does."""
        ref = require(params, "channel", "channel_not_found")
        if ref in self._users and ref not in self._channels:
            return self._direct_message(ref)
        chan = self._channels.get(ref)
        if chan is None:
            found = self._find_by_name(ref.removeprefix("#"))
            chan = found if found and not found.is_private else None
        if chan is None or (chan.is_private and self.bot_user_id not in chan.members):
            raise SlackError("channel_not_found")
        if self.bot_user_id not in chan.members and "chat:write.public" not in self.scopes:
            raise SlackError("not_in_channel")
        return chan

    def _direct_message(self, user_id: str) -> Channel:
        """The bot's DM channel (D...) with a user; not listed by name, private to the two."""
        for chan in self._channels.values():
            if chan.id.startswith("D") and chan.members == {self.bot_user_id, user_id}:
                return chan
        self._channel_seq += 1
        chan = Channel(
            f"D{self._channel_seq:010d}", f"dm-{user_id.lower()}", True, {self.bot_user_id, user_id}
        )
        self._channels[chan.id] = chan
        return chan

    def _find_message(self, chan: Channel, ts: str) -> Message:
        found = next((m for m in chan.messages if m.ts == ts), None)
        if found is None:
            raise SlackError("message_not_found")
        return found

    def _check_thread(self, chan: Channel, thread_ts: str | None) -> None:
        parents = (m.ts for m in chan.messages if m.thread_ts is None)
        if thread_ts is not None and thread_ts not in parents:
            raise SlackError("thread_not_found")

    def _take_rate_token(self, channel_id: str) -> None:
        """Per-channel token bucket for chat.postMessage (burst RATE_BURST)."""
        rate = self.post_rate_per_channel
        if rate is None:
            return
        now = time.monotonic()
        tokens, last = self._buckets.get(channel_id, (RATE_BURST, now))
        tokens = min(RATE_BURST, tokens + (now - last) * rate)
        if tokens < 1:
            self._buckets[channel_id] = (tokens, now)
            raise SlackError("ratelimited", status=429, retry_after=1)
        self._buckets[channel_id] = (tokens - 1, now)


def _block_text_lines(blocks: list[Any]) -> list[str]:
    """Human-readable text of header/section/context/actions blocks."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("header", "section") and text_value(block.get("text")):
            lines.append(text_value(block.get("text")))
        fields = [text_value(f) for f in block.get("fields") or []]
        if kind == "section" and fields:
            lines.append(" | ".join(fields))
        elements = block.get("elements") or []
        if kind == "context":
            parts = [text_value(e) for e in elements if e.get("type") in ("mrkdwn", "plain_text")]
            lines.append(" · ".join(p for p in parts if p))
        if kind == "actions":
            labels = [f"[{text_value(e.get('text'))}]" for e in elements if e.get("type") == "button"]
            lines.append(" ".join(labels))
    return [line for line in lines if line]


def _render(msg: Message, pinned: bool, prefix: str) -> list[str]:
    """Transcript lines for one message: '[HH:MM:SS] text' plus continuation lines."""
    clock = datetime.fromtimestamp(float(msg.ts), tz=UTC).strftime("%H:%M:%S")
    # Slack shows the blocks when a message has them; `text` is only the notification fallback.
    body = "\n".join(_block_text_lines(msg.blocks)) if msg.blocks else msg.text
    first, *rest = body.split("\n")
    attached = [f"📎 {f['name']} ({f['size']} bytes)" for f in msg.files or ()]
    body = "\n".join([" ".join(part for part in [first, *attached] if part), *rest])
    body = ("📌 " if pinned else "") + body + (" (edited)" if msg.edited else "")
    first, *rest = body.split("\n")
    head = f"{prefix}[{clock}] "
    return [head + first] + [" " * len(head) + line for line in rest]
