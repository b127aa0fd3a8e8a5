"""A strict fake of the Slack Web API, served over real HTTP on loopback.

Point ``slack_sdk.WebClient(token=..., base_url=fake.base_url)`` at a started :class:`FakeSlack`.
It is deliberately *stricter* than Slack so that a loose client cannot pass: per-method parameter
allow-lists (:data:`METHOD_PARAMS`, a subset of Slack's OpenAPI spec), bot scopes per method and
channel type (:data:`METHOD_SCOPES`), Block Kit validated with ``slack_sdk.models.blocks`` plus
Slack's limits, ``thread_ts`` must name an existing top-level message, Slack's error codes for
channel names, membership, pins and edits.

Documented choices where Slack is ambiguous or the fake is stricter:

* ``team_id`` (sent by slack_sdk/Bolt clients as a default parameter) is accepted on every method
  but must be the fake's own team, else invalid_arguments.
* A ``token`` inside a JSON body is ignored (Slack wants the Authorization header) -> not_authed.
* GET is accepted only for :data:`READ_METHODS`; other methods answer HTTP 405.
* Only chat.postMessage/chat.postEphemeral resolve channel names; other methods need an ID.
  DMs (user IDs as channel) are not modelled: channel_not_found.
* conversations.invite is all-or-nothing: if any user fails, nobody is invited.
* A response URL accepts 5 POSTs, then HTTP 404 ``used_url``; unknown ones HTTP 404
  ``expired_url``; invalid payloads HTTP 400.
* :meth:`FakeSlack.channel` returns a deep-copied snapshot; transcript times are UTC.
* Extra helper :meth:`FakeSlack.post_as_user` adds a message written by a human user;
  :meth:`FakeSlack.message` and :meth:`FakeSlack.views` return deep-copied snapshots.
* views.open: trigger ids are parsed as ``"<unix seconds>.<n>.<hex>"`` (the shape
  ``bot.testing.slack_requests`` issues); a trigger is expired once the whole seconds between its
  issue time and now exceed 3 (so real ages in (3 s, 4 s] may still pass), more than 1 s in the future
  or unparseable is invalid_trigger_id, and it is consumed only by a successful call.  Views are
  validated strictly (unknown view properties are rejected); submit is required with input blocks.
* conversations.history/replies: without ``latest`` there is no upper bound (Slack: "now");
  ``limit`` 0 or absent means 100, above 999 is clamped, anything else non-integer is
  invalid_arguments.  Cursors are opaque ``next_ts`` cursors that resume at the next message.
  replies always starts its first page with the thread parent (ranges filter replies only) and a
  reply's ts selects its whole thread.  Broadcast replies are not modelled (history omits them).
* File uploads use Slack's current flow (what slack_sdk's ``files_upload_v2`` does):
  files.getUploadURLExternal -> ``POST <root_url>/upload/<file_id>`` -> files.completeUploadExternal.
  The upload URL takes the raw bytes (or a multipart/form-data ``file`` field), answers
  ``200 OK - <length>`` as text, HTTP 400 if the byte count differs from the declared ``length``
  (the URL stays usable) and HTTP 404 for unknown or already used URLs.  Uploads are not
  recorded in :meth:`FakeSlack.calls`.  ``length`` 0 is Slack's ``missing_argument``; other
  non-positive-integer lengths are invalid_arguments.  completeUploadExternal is all-or-nothing:
  an id never issued, never uploaded or already completed is ``file_not_found`` (Slack: "Could not
  find the file from the upload ticket"; the method "can only be called once").  Sharing needs the
  bot in each channel (not_in_channel, even with chat:write.public); ``channel_id`` and
  ``channels`` together, or ``initial_comment``/``thread_ts`` without a channel, are
  invalid_arguments; ``thread_ts`` needs exactly one channel and follows chat.postMessage's rule.
  Each target channel gets one bot message with the ``initial_comment`` as text and the files.
  Uploaded-but-never-completed files are discarded (not in :meth:`FakeSlack.files`).
  ``url_private``/``permalink`` are shaped like Slack's but not served; mimetype/filetype come
  from a small extension table.
* Retired methods (:data:`RETIRED_METHODS`, e.g. files.upload) answer ``method_deprecated`` before
  any authentication or body parsing, as Slack does for methods it has switched off.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NoReturn
from urllib.parse import parse_qsl, quote, urlsplit

from slack_sdk.models.blocks import Block


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


DEFAULT_SCOPES: frozenset[str] = _names(
    "commands chat:write chat:write.public channels:manage groups:write channels:read pins:write users:read"
)


# Allowed parameter names per method; each set is a subset of the parameters that
# web_api_openapi_v2.json lists for the method.  `as_user` is deliberately left out
# of the chat.* methods: it is a classic-app argument that granular bot tokens
# must not send.
METHOD_PARAMS: dict[str, frozenset[str]] = {
    "auth.test": _names("token"),
    "conversations.create": _names("token name is_private"),
    "conversations.invite": _names("token channel users"),
    "conversations.setTopic": _names("token channel topic"),
    "conversations.info": _names("token channel include_locale include_num_members"),
    "conversations.join": _names("token channel"),
    "chat.postMessage": _names(
        "token channel text blocks attachments thread_ts reply_broadcast mrkdwn unfurl_links"
        " unfurl_media parse link_names username icon_emoji icon_url"
    ),
    "chat.update": _names("token channel ts text blocks attachments parse link_names"),
    "chat.postEphemeral": _names(
        "token channel user text blocks attachments thread_ts parse link_names username icon_emoji icon_url"
    ),
    "pins.add": _names("token channel timestamp"),
    "users.info": _names("token user include_locale"),
    "views.open": _names("token trigger_id view"),
    "conversations.history": _names("token channel latest oldest inclusive limit cursor"),
    "conversations.replies": _names("token channel ts latest oldest inclusive limit cursor"),
}
# Parameters allowed although the 2020 OpenAPI spec lacks them (each needs a reason).
# team_id: slack_sdk's WebClient(team_id=...) -- which Bolt builds for every listener -- sends it as a
# default parameter on every call (org-wide apps need it); the fake requires it to name its own team.
METHOD_PARAM_EXTRAS: dict[str, frozenset[str]] = {method: _names("team_id") for method in METHOD_PARAMS}
# Methods that post-date the 2020 OpenAPI spec: Slack added the external upload flow later, as the
# replacement for files.upload (see RETIRED_METHODS).  The spec cannot vouch for any of their
# parameters, so every one of them is an extra; the parameter lists follow Slack's method docs and
# what slack_sdk 3.48's files_upload_v2 sends.
METHODS_AFTER_SPEC: frozenset[str] = frozenset({"files.getUploadURLExternal", "files.completeUploadExternal"})
METHOD_PARAM_EXTRAS |= {
    "files.getUploadURLExternal": _names("token team_id filename length alt_txt snippet_type"),
    "files.completeUploadExternal": _names(
        "token team_id files channel_id channels initial_comment thread_ts"
    ),
}
METHOD_PARAMS = {
    method: METHOD_PARAMS.get(method, frozenset()) | extras for method, extras in METHOD_PARAM_EXTRAS.items()
}
# Methods Slack has switched off; calling one answers {"ok": false, "error": "method_deprecated"}.
RETIRED_METHODS: dict[str, str] = {
    "files.upload": "retired by Slack; use files.getUploadURLExternal + files.completeUploadExternal",
}

_PUBLIC_PRIVATE = frozenset({"channels:manage", "groups:write"})
# Granular bot scopes, any one of which allows the method at all.
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "auth.test": frozenset(),
    "conversations.create": _PUBLIC_PRIVATE,
    "conversations.invite": _PUBLIC_PRIVATE,
    "conversations.setTopic": _PUBLIC_PRIVATE,
    "conversations.info": frozenset({"channels:read", "groups:read"}),
    "conversations.join": frozenset({"channels:join"}),
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "chat.postEphemeral": frozenset({"chat:write"}),
    "pins.add": frozenset({"pins:write"}),
    "users.info": frozenset({"users:read"}),
    "views.open": frozenset(),
    "conversations.history": frozenset({"channels:history", "groups:history"}),
    "conversations.replies": frozenset({"channels:history", "groups:history"}),
    "files.getUploadURLExternal": frozenset({"files:write"}),
    "files.completeUploadExternal": frozenset({"files:write"}),
}
# method -> (scope needed for a public channel, scope needed for a private one)
CHANNEL_TYPE_SCOPES: dict[str, tuple[str, str]] = {
    "conversations.create": ("channels:manage", "groups:write"),
    "conversations.invite": ("channels:manage", "groups:write"),
    "conversations.setTopic": ("channels:manage", "groups:write"),
    "conversations.info": ("channels:read", "groups:read"),
    "conversations.history": ("channels:history", "groups:history"),
    "conversations.replies": ("channels:history", "groups:history"),
}
READ_METHODS: frozenset[str] = frozenset(
    {"auth.test", "conversations.info", "users.info", "conversations.history", "conversations.replies"}
)

_STRING_PARAMS = _names(
    "channel name users topic text thread_ts ts timestamp user parse username icon_emoji icon_url"
    " trigger_id cursor team_id filename alt_txt snippet_type channel_id channels initial_comment"
)
_BOOL_PARAMS = _names(
    "is_private include_locale include_num_members reply_broadcast mrkdwn unfurl_links"
    " unfurl_media link_names inclusive"
)
MAX_BLOCKS = 50
MAX_TEXT = 40_000
MAX_TOPIC = 250
MAX_NAME = 80
MAX_ID = 255
RATE_BURST = 5.0
RESPONSE_URL_MAX_USES = 5
_TEXT_LIMITS = {"section": 3000, "header": 150}
_BUTTON_TEXT_LIMIT = 75
MAX_MODAL_BLOCKS = 100
MAX_VIEW_TEXT = 24  # title, submit and close
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_BYTES = 250_000
TRIGGER_TTL = 3
DEFAULT_LIMIT = 100
MAX_LIMIT = 999
_VIEW_KEYS = _names(
    "type title blocks close submit private_metadata callback_id clear_on_close notify_on_close"
    " external_id submit_disabled"
)
_TRIGGER_ID = re.compile(r"(\d+)\.(\d+)\.([0-9a-f]+)")
MAX_ALT_TXT = 1000
MAX_SNIPPET_BYTES = 1024 * 1024
MAX_SHARE_CHANNELS = 100
_FILE_ENTRY_KEYS = _names("id title highlight_type")
# extension -> (Slack filetype, mimetype); anything else is ("binary", "application/octet-stream").
_FILE_TYPES: dict[str, tuple[str, str]] = {
    "txt": ("text", "text/plain"),
    "log": ("text", "text/plain"),
    "md": ("markdown", "text/plain"),
    "markdown": ("markdown", "text/plain"),
    "csv": ("csv", "text/csv"),
    "json": ("json", "application/json"),
    "yaml": ("yaml", "text/plain"),
    "yml": ("yaml", "text/plain"),
    "html": ("html", "text/html"),
    "pdf": ("pdf", "application/pdf"),
    "png": ("png", "image/png"),
    "jpg": ("jpg", "image/jpeg"),
    "jpeg": ("jpg", "image/jpeg"),
    "gif": ("gif", "image/gif"),
}
_MULTIPART_FILE_FIELD = re.compile(rb'(?:^|[;\s])name="?file"?(?:[;\s]|$)', re.IGNORECASE | re.MULTILINE)


@dataclass
class Call:
    """One recorded Web API call."""

    method: str
    params: dict[str, Any]
    ok: bool
    error: str | None
    status: int


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
class _User:
    id: str
    name: str
    is_bot: bool


@dataclass
class _Upload:
    """A file from files.getUploadURLExternal through its upload to files.completeUploadExternal."""

    id: str
    filename: str
    length: int
    created: int
    alt_txt: str | None
    snippet_type: str | None
    content: bytes | None = None  # set by the single successful POST to the upload URL
    title: str = ""
    completed: bool = False
    channels: list[str] = field(default_factory=list)


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None
    remaining: int

    def to_error(self) -> SlackError:
        default = (
            "ratelimited" if self.status == 429 else "internal_error" if self.status >= 500 else "fatal_error"
        )
        retry_after = self.retry_after or 1 if self.status == 429 else self.retry_after
        return SlackError(self.error or default, status=self.status, retry_after=retry_after)


@dataclass
class _Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # sent as text/plain instead of the JSON body (upload URLs)


def _text_reply(status: int, text: str) -> _Reply:
    return _Reply(status, {}, text=text)


class SlackError(Exception):
    """A Slack-level error: becomes ``{"ok": false, "error": ...}``."""

    def __init__(
        self, error: str, *, status: int = 200, retry_after: int | None = None, **extra: Any
    ) -> None:
        super().__init__(error)
        self.error, self.status, self.retry_after, self.extra = error, status, retry_after, extra

    def reply(self) -> _Reply:
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        return _Reply(self.status, {"ok": False, "error": self.error, **self.extra}, headers)


def _messages(*lines: str) -> dict[str, Any]:
    return {"response_metadata": {"messages": [f"[ERROR] {line}" for line in lines]}}


def _invalid_arguments(*lines: str) -> NoReturn:
    raise SlackError("invalid_arguments", **_messages(*lines))


def _invalid_blocks(message: str, pointer: str = "") -> NoReturn:
    raise SlackError("invalid_blocks", **_messages(f"{message} [json-pointer:/blocks{pointer}]"))


def _text_value(obj: Any) -> str:
    """The text of a text object (or a plain string); "" if absent."""
    if isinstance(obj, dict):
        obj = obj.get("text")
    return obj if isinstance(obj, str) else ""


def _walk(node: Any, pointer: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield every dict nested in ``node`` together with its JSON pointer."""
    if isinstance(node, dict):
        yield pointer, node
        for key, value in node.items():
            yield from _walk(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{pointer}/{index}")


_MISSING = object()


def _first_loss(raw: Any, out: Any, pointer: str) -> str | None:
    """JSON pointer to the first part of ``raw`` that slack_sdk's model dropped or changed."""
    if isinstance(raw, dict):
        if not isinstance(out, dict):
            return pointer
        losses = (_first_loss(v, out.get(k, _MISSING), f"{pointer}/{k}") for k, v in raw.items())
        return next((loss for loss in losses if loss), None)
    if isinstance(raw, list):
        if not isinstance(out, list) or len(out) != len(raw):
            return pointer
        losses = (_first_loss(a, b, f"{pointer}/{i}") for i, (a, b) in enumerate(zip(raw, out, strict=True)))
        return next((loss for loss in losses if loss), None)
    return None if type(raw) is type(out) and raw == out else pointer


def _check_limits(block: dict[str, Any], pointer: str) -> None:
    limit = _TEXT_LIMITS.get(block.get("type", ""))
    if limit is not None and len(_text_value(block.get("text"))) > limit:
        _invalid_blocks(f"must be less than {limit + 1} characters", f"{pointer}/text/text")
    action_ids: set[str] = set()
    for where, node in _walk(block, pointer):
        if node.get("type") == "button" and len(_text_value(node.get("text"))) > _BUTTON_TEXT_LIMIT:
            _invalid_blocks(f"must be less than {_BUTTON_TEXT_LIMIT + 1} characters", f"{where}/text")
        for key in ("action_id", "block_id"):
            value = node.get(key)
            if key in node and not isinstance(value, str):
                _invalid_blocks("must be a string", f"{where}/{key}")
            if isinstance(value, str) and len(value) > MAX_ID:
                _invalid_blocks(f"must be less than {MAX_ID + 1} characters", f"{where}/{key}")
        action_id = node.get("action_id")
        if isinstance(action_id, str):
            if action_id in action_ids:
                _invalid_blocks(f"duplicate action_id '{action_id}'", f"{where}/action_id")
            action_ids.add(action_id)


def _check_block(block: Any, pointer: str) -> None:
    if not isinstance(block, dict):
        _invalid_blocks("must be an object", pointer)
    try:
        parsed = Block.parse(block)
    except Exception as exc:  # slack_sdk raises assorted errors on malformed input
        _invalid_blocks(f"malformed block: {exc}", pointer)
    if parsed is None or type(parsed) is Block:
        _invalid_blocks(f"unsupported block type '{block.get('type')}'", f"{pointer}/type")
    try:
        rendered = parsed.to_dict()  # runs validate_json() on the block and every nested object
    except Exception as exc:  # SlackObjectFormationError, or a crash on wrongly typed values
        _invalid_blocks(str(exc), pointer)
    loss = _first_loss(block, rendered, pointer)
    if loss is not None:  # slack_sdk silently drops unknown elements/fields and coerces bad types
        _invalid_blocks("unsupported element, field or value", loss)
    _check_limits(block, pointer)


def validate_blocks(raw: Any, *, max_blocks: int = MAX_BLOCKS) -> list[dict[str, Any]]:
    """Parse and validate ``blocks`` (JSON string or list); raise SlackError if invalid."""
    blocks = raw
    if isinstance(raw, str):
        try:
            blocks = json.loads(raw)
        except ValueError:
            _invalid_blocks("blocks must be valid JSON")
    if not isinstance(blocks, list):
        _invalid_blocks("must be an array")
    if len(blocks) > max_blocks:
        _invalid_blocks(f"no more than {max_blocks} items allowed")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        _check_block(block, f"/{index}")
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids:
                _invalid_blocks(f"duplicate block_id '{block_id}'", f"/{index}/block_id")
            block_ids.add(block_id)
    return blocks


def _view_error(message: str, pointer: str = "") -> NoReturn:
    _invalid_arguments(f"{message} [json-pointer:/view{pointer}]")


def _check_view_text(view: dict[str, Any], key: str, *, required: bool) -> None:
    """``view[key]`` must be a plain_text object of at most MAX_VIEW_TEXT characters."""
    obj = view.get(key)
    if obj is None:
        if required:
            _view_error(f"missing required field: {key}")
        return
    if (
        not isinstance(obj, dict)
        or obj.get("type") != "plain_text"
        or not isinstance(obj.get("text"), str)
        or not obj["text"]
        or set(obj) - {"type", "text", "emoji"}
        or not isinstance(obj.get("emoji", False), bool)
    ):
        _view_error("must be a plain_text object with non-empty text", f"/{key}")
    if len(obj["text"]) > MAX_VIEW_TEXT:
        _view_error(f"must be less than {MAX_VIEW_TEXT + 1} characters", f"/{key}/text")


def validate_view(raw: Any) -> dict[str, Any]:
    """Parse and validate a modal ``view`` (JSON string or dict) for views.open.

    Raises SlackError ``invalid_arguments`` (Slack's code for bad views) or ``view_too_large``.
    """
    view = raw
    if isinstance(raw, str):
        try:
            view = json.loads(raw)
        except ValueError:
            _view_error("view must be valid JSON")
    if not isinstance(view, dict):
        _view_error("must be an object")
    for name in sorted(set(view) - _VIEW_KEYS):
        _view_error(f"unsupported property '{name}'", f"/{name}")
    if len(json.dumps(view)) > MAX_VIEW_BYTES:
        raise SlackError("view_too_large")
    if view.get("type") != "modal":
        _view_error("must be 'modal' for views.open", "/type")
    _check_view_text(view, "title", required=True)
    _check_view_text(view, "submit", required=False)
    _check_view_text(view, "close", required=False)
    for key, limit in (
        ("callback_id", MAX_ID),
        ("external_id", MAX_ID),
        ("private_metadata", MAX_PRIVATE_METADATA),
    ):
        value = view.get(key)
        if key in view and not isinstance(value, str):
            _view_error("must be a string", f"/{key}")
        if isinstance(value, str) and len(value) > limit:
            _view_error(f"must be less than {limit + 1} characters", f"/{key}")
    for key in ("clear_on_close", "notify_on_close", "submit_disabled"):
        if key in view and not isinstance(view[key], bool):
            _view_error("must be a boolean", f"/{key}")
    if "blocks" not in view:
        _view_error("missing required field: blocks")
    if not isinstance(view["blocks"], list):
        _view_error("must be an array", "/blocks")
    try:
        validate_blocks(view["blocks"], max_blocks=MAX_MODAL_BLOCKS)
    except SlackError as exc:  # Slack reports bad blocks in a view as invalid_arguments under /view
        lines = exc.extra.get("response_metadata", {}).get("messages", [])
        lines = [line.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks") for line in lines]
        raise SlackError("invalid_arguments", response_metadata={"messages": lines}) from None
    if "submit" not in view and any(block.get("type") == "input" for block in view["blocks"]):
        _view_error("submit is required when the view has an input block", "/submit")
    return view


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
    inclusive = bool(_parse_bool(params.get("inclusive", False)))

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
        _invalid_arguments("expected a non-negative integer for 'limit'")
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


def _block_text_lines(blocks: list[Any]) -> list[str]:
    """Human-readable text of header/section/context/actions blocks."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("header", "section") and _text_value(block.get("text")):
            lines.append(_text_value(block.get("text")))
        fields = [_text_value(f) for f in block.get("fields") or []]
        if kind == "section" and fields:
            lines.append(" | ".join(fields))
        elements = block.get("elements") or []
        if kind == "context":
            parts = [_text_value(e) for e in elements if e.get("type") in ("mrkdwn", "plain_text")]
            lines.append(" · ".join(p for p in parts if p))
        if kind == "actions":
            labels = [f"[{_text_value(e.get('text'))}]" for e in elements if e.get("type") == "button"]
            lines.append(" ".join(labels))
    return [line for line in lines if line]


def _parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"1": True, "true": True, "0": False, "false": False, "": False}.get(str(value).lower())


def _check_params(method: str, params: dict[str, Any]) -> None:
    unknown = sorted(set(params) - METHOD_PARAMS[method])
    if unknown:
        _invalid_arguments(*(f"unknown parameter '{name}'" for name in unknown))
    for name, value in params.items():
        if name in _STRING_PARAMS and not isinstance(value, str):
            _invalid_arguments(f"expected a string for '{name}'")
        if name in _BOOL_PARAMS and _parse_bool(value) is None:
            _invalid_arguments(f"expected a boolean for '{name}'")


def _require(params: dict[str, Any], name: str, error: str) -> str:
    value = params.get(name)
    if not value:
        raise SlackError(error)
    return value


def _decode_body(content_type: str, body: bytes) -> tuple[dict[str, Any], bool]:
    """Return (params, is_json) for a urlencoded or JSON request body."""
    if not body:
        return {}, False
    mime = content_type.split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SlackError("invalid_form_data", **_messages("body is not UTF-8")) from None
    if mime == "application/json":
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise SlackError("invalid_json", **_messages("body must be a JSON object"))
        return data, True
    if mime in ("", "application/x-www-form-urlencoded"):
        return dict(parse_qsl(text, keep_blank_values=True)), False
    raise SlackError("invalid_form_data", **_messages(f"unsupported content type '{mime}'"))


def _upload_length(params: dict[str, Any]) -> int:
    """files.getUploadURLExternal's ``length``: a positive byte count (int in JSON, digits in a form)."""
    raw = params.get("length")
    if raw is None or raw == "":
        _invalid_arguments("missing required field: length")
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not re.fullmatch(r"\d+", str(raw)):
        _invalid_arguments("expected a positive integer for 'length'")
    if int(raw) == 0:
        raise SlackError("missing_argument")  # Slack documents this code for a length of 0
    return int(raw)


def _file_entries(raw: Any) -> list[dict[str, Any]]:
    """Parse files.completeUploadExternal's ``files`` (JSON string or list of {"id", "title"?})."""
    if raw is None or raw == "":
        _invalid_arguments("missing required field: files")
    entries = raw
    if isinstance(raw, str):
        try:
            entries = json.loads(raw)
        except ValueError:
            _invalid_arguments("files must be valid JSON [json-pointer:/files]")
    if not isinstance(entries, list) or not entries:
        _invalid_arguments("must be a non-empty array [json-pointer:/files]")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            _invalid_arguments(f"must be an object with a string id [json-pointer:/files/{index}]")
        for name in sorted(set(entry) - _FILE_ENTRY_KEYS):
            _invalid_arguments(f"unsupported property '{name}' [json-pointer:/files/{index}/{name}]")
        for name in ("title", "highlight_type"):
            if name in entry and not isinstance(entry[name], str):
                _invalid_arguments(f"must be a string [json-pointer:/files/{index}/{name}]")
    ids = [entry["id"] for entry in entries]
    if len(set(ids)) != len(ids):
        _invalid_arguments("duplicate file id [json-pointer:/files]")
    return entries


def _upload_bytes(content_type: str, body: bytes) -> bytes:
    """The uploaded file: the raw body, or the ``file`` field of a multipart/form-data body."""
    mime, _, rest = content_type.partition(";")
    if mime.strip().lower() != "multipart/form-data":
        return body
    match = re.search(r'boundary="?([^";]+)"?', rest)
    if match is None:
        raise ValueError("multipart/form-data without a boundary")
    for part in body.split(b"--" + match[1].strip().encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        head, separator, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator or not content.endswith(b"\r\n"):
            raise ValueError("malformed multipart part")
        if _MULTIPART_FILE_FIELD.search(head):
            return content.removesuffix(b"\r\n")
    raise ValueError("multipart/form-data without a 'file' field")


def _file_type(filename: str, snippet_type: str | None) -> tuple[str, str]:
    """(Slack filetype, mimetype) for a file name; a snippet is text of its snippet_type."""
    if snippet_type:
        return snippet_type, "text/plain"
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    return _FILE_TYPES.get(extension, ("binary", "application/octet-stream"))


def _name_problem(name: str) -> str | None:
    """Slack's error for an invalid channel name, or None if the name is fine."""
    if not name:
        return "invalid_name_required"
    if len(name) > MAX_NAME:
        return "invalid_name_maxlength"
    if not re.fullmatch(r"[a-z0-9_-]+", name):
        return "invalid_name_specials"
    if re.fullmatch(r"[_-]+", name):
        return "invalid_name_punctuation"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeSlack) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    headers: HTTPMessage

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self._serve("POST")

    def _serve(self, verb: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        body = self.rfile.read(length) if length > 0 else b""
        reply = self.server.fake.handle_http(verb, self.path, self.headers, body)
        if reply.text is None:
            payload, content_type = json.dumps(reply.body).encode("utf-8"), "application/json; charset=utf-8"
        else:
            payload, content_type = reply.text.encode("utf-8"), "text/plain; charset=utf-8"
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Stay quiet."""


class FakeSlack:
    """Strict in-process Slack Web API; see the module docstring."""

    def __init__(
        self,
        *,
        token: str = "xoxb-fake-token",
        scopes: Iterable[str] = DEFAULT_SCOPES,
        latency: float = 0.0,
        bot_user_id: str = "UBOT0001",
        team_id: str = "T0001",
        post_rate_per_channel: float | None = None,
    ) -> None:
        self.token = token
        self.scopes = frozenset(scopes)
        self.latency = latency
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id.removeprefix("U")
        self.app_id = "A" + bot_user_id.removeprefix("U")
        self.team_id = team_id
        self.post_rate_per_channel = post_rate_per_channel
        self._lock = threading.RLock()
        self._users: dict[str, _User] = {}
        self._channels: dict[str, Channel] = {}
        self._calls: list[Call] = []
        self._failures: dict[str, deque[_Failure]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._responses: list[dict[str, Any]] = []
        self._response_uses: dict[str, int] = {}
        self._views: list[dict[str, Any]] = []
        self._used_triggers: set[str] = set()
        self._view_seq = 0
        self._uploads: dict[str, _Upload] = {}
        self._completed_files: list[str] = []
        self._file_seq = 0
        self._channel_seq = 0
        self._response_seq = 0
        self._last_ts_micros = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.add_user(bot_user_id, "incident-bot", is_bot=True)

    def start(self) -> FakeSlack:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeSlack already started")
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/api/"

    def add_user(self, user_id: str, name: str, *, is_bot: bool = False) -> None:
        with self._lock:
            self._users[user_id] = _User(user_id, name, is_bot)

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
            problem = _name_problem(name)
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

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (queued in order)."""
        if method not in METHOD_PARAMS:
            raise ValueError(f"unknown method {method!r}")
        if times < 1 or not 200 <= status <= 599:
            raise ValueError("times must be >= 1 and status an HTTP status")
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.append(_Failure(status, error, retry_after, times))

    def response_url(self, key: str = "") -> str:
        """A fresh Slack-like response URL on this server."""
        with self._lock:
            self._response_seq += 1
            path = f"/response/{self._response_seq}" + (f"/{quote(key, safe='')}" if key else "")
            self._response_uses[path] = 0
        return self.root_url + path

    @property
    def responses(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._responses)

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

    def views(self) -> list[dict[str, Any]]:
        """Deep copies of the views opened by views.open, in order, as the API returned them."""
        with self._lock:
            return copy.deepcopy(self._views)

    def files(self) -> list[dict[str, Any]]:
        """Deep copies of the files completed by files.completeUploadExternal, in order of completion.

        Each is ``{"id", "filename", "title", "length", "content", "channels", "alt_txt",
        "snippet_type"}``; ``content`` is the uploaded bytes and ``channels`` the ids shared to
        (empty for a private file).
        """
        with self._lock:
            found = [self._uploads[file_id] for file_id in self._completed_files]
            return [
                {
                    "id": f.id,
                    "filename": f.filename,
                    "title": f.title,
                    "length": f.length,
                    "content": f.content,
                    "channels": list(f.channels),
                    "alt_txt": f.alt_txt,
                    "snippet_type": f.snippet_type,
                }
                for f in found
            ]

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a completed file; KeyError if unknown or not (yet) completed."""
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None or not upload.completed or upload.content is None:
                raise KeyError(file_id)
            return upload.content

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

    def handle_http(self, verb: str, path: str, headers: HTTPMessage, body: bytes) -> _Reply:
        """Route one HTTP request (called from the server threads)."""
        url = urlsplit(path)
        if url.path.startswith("/api/"):
            return self._handle_api(verb, url.path.removeprefix("/api/"), url.query, headers, body)
        if url.path.startswith("/response/"):
            return self._handle_response_url(verb, url.path, body)
        if url.path.startswith("/upload/"):
            return self._handle_upload(verb, url.path.removeprefix("/upload/"), headers, body)
        return _Reply(404, {"ok": False, "error": "not_found"})

    def _handle_api(self, verb: str, method: str, query: str, headers: HTTPMessage, body: bytes) -> _Reply:
        if self.latency > 0:
            time.sleep(self.latency)
        params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        if method in RETIRED_METHODS:  # switched off: no auth, and the body (often multipart) is not read
            reply = SlackError("method_deprecated").reply()
            with self._lock:
                self._calls.append(Call(method, params, False, "method_deprecated", reply.status))
            return reply
        auth = headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        token = token or params.get("token")
        with self._lock:
            try:
                body_params, is_json = _decode_body(headers.get("Content-Type", ""), body)
                params.update(body_params)
                if not is_json:
                    token = token or body_params.get("token")
                reply = self._dispatch(verb, method, params, token)
            except SlackError as exc:
                reply = exc.reply()
            except Exception as exc:  # a bug in the fake: answer loudly rather than drop the connection
                reply = _Reply(500, {"ok": False, "error": "fake_slack_bug", "detail": repr(exc)})
            error = reply.body.get("error")
            self._calls.append(Call(method, params, reply.body.get("ok") is True, error, reply.status))
        return reply

    def _dispatch(self, verb: str, method: str, params: dict[str, Any], token: str | None) -> _Reply:
        if method not in METHOD_PARAMS:
            raise SlackError("unknown_method", status=404)
        queue = self._failures.get(method)
        if queue:
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.popleft()
            raise failure.to_error()
        if verb != "POST" and method not in READ_METHODS:
            raise SlackError("method_not_allowed", status=405)
        if not token:
            raise SlackError("not_authed")
        if token != self.token:
            raise SlackError("invalid_auth")
        _check_params(method, params)
        if params.get("team_id", self.team_id) != self.team_id:
            _invalid_arguments(f"team_id '{params['team_id']}' is not the token's team")
        self._check_scope(METHOD_SCOPES[method])
        handler: Callable[[dict[str, Any]], dict[str, Any]] = getattr(
            self, "_api_" + method.replace(".", "_")
        )
        return _Reply(200, {"ok": True, **handler(params)})

    def _handle_response_url(self, verb: str, path: str, body: bytes) -> _Reply:
        if verb != "POST":
            return _Reply(405, {"ok": False, "error": "method_not_allowed"})
        with self._lock:
            uses = self._response_uses.get(path)
            if uses is None:
                return _Reply(404, {"ok": False, "error": "expired_url"})
            if uses >= RESPONSE_URL_MAX_USES:
                return _Reply(404, {"ok": False, "error": "used_url"})
            try:
                payload, is_json = _decode_body("application/json", body)
                _check_response_payload(payload if is_json else None)
            except SlackError as exc:
                return _Reply(400, exc.reply().body)
            self._response_uses[path] = uses + 1
            self._responses.append({**payload, "_url": self.root_url + path})
        return _Reply(200, {"ok": True})

    def _handle_upload(self, verb: str, file_id: str, headers: HTTPMessage, body: bytes) -> _Reply:
        """An upload URL from files.getUploadURLExternal: one successful POST of exactly ``length`` bytes."""
        if verb != "POST":
            return _text_reply(405, "405 Method Not Allowed")
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None or upload.content is not None:
                return _text_reply(404, "404 Not Found - unknown or already used upload URL")
            try:
                data = _upload_bytes(headers.get("Content-Type", ""), body)
            except ValueError as exc:
                return _text_reply(400, f"400 Bad Request - {exc}")
            if len(data) != upload.length:
                return _text_reply(400, f"400 Bad Request - got {len(data)} bytes, declared {upload.length}")
            upload.content = data
        return _text_reply(200, f"OK - {len(data)}")

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
        chan = self._channels.get(_require(params, "channel", "channel_not_found"))
        if chan is None or (chan.is_private and self.bot_user_id not in chan.members):
            raise SlackError("channel_not_found")
        return chan

    def _share_channel(self, channel_id: str) -> Channel:
        """A channel (by ID) a file can be shared to: visible, and the bot is a member."""
        chan = self._channels.get(channel_id)
        if chan is None or (chan.is_private and self.bot_user_id not in chan.members):
            raise SlackError("channel_not_found")
        if self.bot_user_id not in chan.members:
            raise SlackError("not_in_channel")
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
        ref = _require(params, "channel", "channel_not_found")
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

    def dm(self, user_id: str) -> Channel | None:
        """A deep copy of the bot's direct-message channel with `user_id`, if one was opened."""
        with self._lock:
            for chan in self._channels.values():
                if chan.id.startswith("D") and chan.members == {self.bot_user_id, user_id}:
                    return copy.deepcopy(chan)
        return None

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

    def _file_json(self, upload: _Upload) -> dict[str, Any]:
        """A Slack file object for a completed upload."""
        filetype, mimetype = _file_type(upload.filename, upload.snippet_type)
        name = quote(upload.filename, safe="")
        private = f"{self.root_url}/files-pri/{self.team_id}-{upload.id}/{name}"
        shared = [self._channels[c] for c in upload.channels]
        data: dict[str, Any] = {"id": upload.id, "created": upload.created, "timestamp": upload.created}
        data |= {"name": upload.filename, "title": upload.title, "mimetype": mimetype, "filetype": filetype}
        data |= {"pretty_type": filetype.capitalize(), "user": self.bot_user_id, "user_team": self.team_id}
        data |= {"editable": bool(upload.snippet_type), "size": upload.length}
        data |= {"mode": "snippet" if upload.snippet_type else "hosted", "is_external": False}
        data |= {"external_type": "", "is_public": any(not c.is_private for c in shared)}
        data |= {"public_url_shared": False, "display_as_bot": False, "username": ""}
        data |= {"url_private": private, "url_private_download": f"{private}?download=1"}
        data |= {
            "permalink": f"https://fake-workspace.slack.com/files/{self.bot_user_id}/{upload.id}/{name}",
            "permalink_public": f"https://slack-files.com/{self.team_id}-{upload.id}",
        }
        data |= {"channels": [c.id for c in shared if not c.is_private]}
        data |= {"groups": [c.id for c in shared if c.is_private], "ims": [], "has_rich_preview": False}
        if upload.alt_txt is not None:
            data["alt_txt"] = upload.alt_txt
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

    def _api_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        data = {"url": "https://fake-workspace.slack.com/", "team": "Fake Workspace", "team_id": self.team_id}
        data |= {
            "user": self._users[self.bot_user_id].name,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
        }
        return data | {"is_enterprise_install": False}

    def _api_conversations_create(self, params: dict[str, Any]) -> dict[str, Any]:
        name = _require(params, "name", "invalid_name_required")
        is_private = bool(_parse_bool(params.get("is_private", False)))
        self._check_channel_scope("conversations.create", is_private)
        problem = _name_problem(name)
        if problem:
            raise SlackError(problem)
        if self._find_by_name(name) is not None:
            raise SlackError("name_taken")
        chan = self._new_channel(name, is_private, {self.bot_user_id}, self.bot_user_id)
        return {"channel": self._channel_json(chan)}

    def _api_conversations_invite(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._member_channel(params, "conversations.invite")
        user_ids = [u.strip() for u in _require(params, "users", "no_user").split(",") if u.strip()]
        if not user_ids:
            raise SlackError("no_user")
        errors = [
            {"user": u, "ok": False, "error": e} for u in user_ids if (e := self._invite_problem(chan, u))
        ]
        if errors:
            raise SlackError(errors[0]["error"], errors=errors)
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
            _invalid_arguments("missing required field: topic")
        if len(topic) > MAX_TOPIC:
            raise SlackError("too_long")
        chan.topic, chan.topic_creator, chan.topic_last_set = topic, self.bot_user_id, int(time.time())
        return {"channel": self._channel_json(chan)}

    def _api_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._visible_channel(params)
        self._check_channel_scope("conversations.info", chan.is_private)
        with_count = bool(_parse_bool(params.get("include_num_members", False)))
        return {"channel": self._channel_json(chan, num_members=with_count)}

    def _api_conversations_join(self, params: dict[str, Any]) -> dict[str, Any]:
        chan = self._channels.get(_require(params, "channel", "channel_not_found"))
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
        msg = self._find_message(chan, _require(params, "ts", "message_not_found"))
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
        user_id = _require(params, "user", "user_not_found")
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
            _invalid_arguments("missing required field: ts")
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
            _invalid_arguments("missing required field: trigger_id")
        if not params.get("view"):
            _invalid_arguments("missing required field: view")
        if not isinstance(params["view"], str | dict):
            _invalid_arguments("expected a JSON object for 'view'")
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
        msg = self._find_message(chan, _require(params, "timestamp", "no_item_specified"))
        if msg.ts in chan.pins:
            raise SlackError("already_pinned")
        chan.pins.append(msg.ts)
        return {}

    def _api_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = params.get("filename")
        if not filename:
            _invalid_arguments("missing required field: filename")
        length = _upload_length(params)
        alt_txt, snippet_type = params.get("alt_txt"), params.get("snippet_type") or None
        if alt_txt is not None and len(alt_txt) > MAX_ALT_TXT:
            raise SlackError("alt_txt_too_large")
        if snippet_type and length > MAX_SNIPPET_BYTES:
            raise SlackError("snippet_too_large")
        self._file_seq += 1
        file_id = f"F{self._file_seq:010d}"
        self._uploads[file_id] = _Upload(file_id, filename, length, int(time.time()), alt_txt, snippet_type)
        return {"upload_url": f"{self.root_url}/upload/{file_id}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = _file_entries(params.get("files"))
        uploads = [self._uploads.get(entry["id"]) for entry in entries]
        if any(u is None or u.content is None or u.completed for u in uploads):
            raise SlackError("file_not_found")  # never issued, never uploaded, or already completed
        targets = self._share_targets(params)
        comment, thread_ts = params.get("initial_comment") or "", params.get("thread_ts") or None
        if (comment or thread_ts) and not targets:
            _invalid_arguments("initial_comment and thread_ts need channel_id or channels")
        if thread_ts is not None:
            if len(targets) != 1:
                _invalid_arguments("thread_ts needs exactly one channel")
            self._check_thread(targets[0], thread_ts)
        if len(comment) > MAX_TEXT:
            raise SlackError("msg_too_long")
        completed = [u for u in uploads if u is not None]
        for upload, entry in zip(completed, entries, strict=True):
            upload.title = entry.get("title") or upload.filename
            upload.channels = [chan.id for chan in targets]
            upload.completed = True
            self._completed_files.append(upload.id)
        shared = [self._file_json(upload) for upload in completed]
        for chan in targets:
            files = copy.deepcopy(shared)
            chan.messages.append(
                Message(self._next_ts(), self.bot_user_id, comment, None, thread_ts, files=files)
            )
        return {"files": shared}

    def _share_targets(self, params: dict[str, Any]) -> list[Channel]:
        """Channels from ``channel_id`` or comma-separated ``channels`` (not both); may be empty."""
        channel_id = params.get("channel_id") or None
        listed = [c.strip() for c in (params.get("channels") or "").split(",") if c.strip()]
        if channel_id and listed:
            _invalid_arguments("pass channel_id or channels, not both")
        refs = [channel_id] if channel_id else list(dict.fromkeys(listed))
        if len(refs) > MAX_SHARE_CHANNELS:
            raise SlackError("channels_limit_exceeded")
        return [self._share_channel(ref) for ref in refs]

    def _api_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(_require(params, "user", "user_not_found"))
        if user is None:
            raise SlackError("user_not_found")
        user_json = {"id": user.id, "team_id": self.team_id, "name": user.name, "real_name": user.name}
        user_json |= {"deleted": False, "is_bot": user.is_bot}
        return {"user": user_json | {"profile": {"display_name": user.name, "real_name": user.name}}}


def _check_response_payload(payload: dict[str, Any] | None) -> None:
    if payload is None:
        raise SlackError("invalid_payload", **_messages("body must be a JSON object"))
    if payload.get("response_type", "ephemeral") not in ("ephemeral", "in_channel"):
        _invalid_arguments("response_type must be 'ephemeral' or 'in_channel'")
    blocks = validate_blocks(payload["blocks"]) if "blocks" in payload else None
    if not payload.get("delete_original") and not payload.get("text") and not blocks:
        raise SlackError("no_text")


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
