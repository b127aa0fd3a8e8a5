"""What the local Slack accepts: methods, parameters and scopes, Block Kit, views and channel names.

Stricter than Slack on purpose (see the package docstring): a loose client must not pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, NoReturn

from slack_sdk.models.blocks import Block

from bot.local_slack.errors import SlackError, error_messages, invalid_arguments


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


DEFAULT_SCOPES: frozenset[str] = _names(
    "commands chat:write chat:write.public channels:manage groups:write channels:read pins:write users:read"
)


# Allowed parameter names per method; each set is a subset of the parameters that Slack's OpenAPI
# spec lists for the method (tests/test_local_slack.py checks them against the spec's slice in
# tests/slack_specs/).  `as_user` is deliberately left out of the chat.* methods: it is a
# classic-app argument that granular bot tokens must not send.
METHOD_PARAMS: dict[str, frozenset[str]] = {
    "auth.test": _names("token"),
    "conversations.create": _names("token name is_private"),
    "conversations.invite": _names("token channel users"),
    "conversations.setTopic": _names("token channel topic"),
    "conversations.info": _names("token channel include_locale include_num_members"),
    "conversations.join": _names("token channel"),
    "conversations.list": _names("token exclude_archived types limit cursor"),
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
    "users.lookupByEmail": _names("token email"),
    "usergroups.users.update": _names("token usergroup users include_count"),
    "usergroups.disable": _names("token usergroup include_count"),
    "usergroups.enable": _names("token usergroup include_count"),
    "views.open": _names("token trigger_id view"),
    "conversations.history": _names("token channel latest oldest inclusive limit cursor"),
    "conversations.replies": _names("token channel ts latest oldest inclusive limit cursor"),
}
# Parameters allowed although the 2020 OpenAPI spec lacks them (each needs a reason).
# team_id: slack_sdk's WebClient(team_id=...) -- which Bolt builds for every listener -- sends it as a
# default parameter on every call (org-wide apps need it); the local Slack requires it to name its
# own team.
METHOD_PARAM_EXTRAS: dict[str, frozenset[str]] = {method: _names("team_id") for method in METHOD_PARAMS}
# Methods that post-date the 2020 OpenAPI spec: Slack added the external upload flow later, as the
# replacement for files.upload (see RETIRED_METHODS).  The spec cannot vouch for any of their
# parameters, so every one of them is an extra; the parameter lists follow Slack's method docs and
# what slack_sdk 3.48's files_upload_v2 sends.
METHOD_PARAM_EXTRAS |= {
    "files.getUploadURLExternal": _names("token team_id filename length alt_txt snippet_type"),
    "files.completeUploadExternal": _names(
        "token team_id files channel_id channels initial_comment thread_ts"
    ),
}
# apps.connections.open (Socket Mode: a WebSocket URL for an app-level token) post-dates the spec too;
# its only argument is the token, which slack_sdk sends in the Authorization header.
METHOD_PARAM_EXTRAS["apps.connections.open"] = _names("token team_id")
METHOD_PARAMS = {
    method: METHOD_PARAMS.get(method, frozenset()) | extras for method, extras in METHOD_PARAM_EXTRAS.items()
}
# Methods called with the app-level token (xapp-...) rather than the bot token; each needs one of
# its METHOD_SCOPES among the app token's scopes.
APP_TOKEN_METHODS: frozenset[str] = frozenset({"apps.connections.open"})
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
    "conversations.list": frozenset({"channels:read", "groups:read"}),
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "chat.postEphemeral": frozenset({"chat:write"}),
    "pins.add": frozenset({"pins:write"}),
    "users.info": frozenset({"users:read"}),
    "users.lookupByEmail": frozenset({"users:read.email"}),
    "usergroups.users.update": frozenset({"usergroups:write"}),
    "usergroups.disable": frozenset({"usergroups:write"}),
    "usergroups.enable": frozenset({"usergroups:write"}),
    "views.open": frozenset(),
    "conversations.history": frozenset({"channels:history", "groups:history"}),
    "conversations.replies": frozenset({"channels:history", "groups:history"}),
    "files.getUploadURLExternal": frozenset({"files:write"}),
    "files.completeUploadExternal": frozenset({"files:write"}),
    "apps.connections.open": frozenset({"connections:write"}),
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
    {
        "auth.test",
        "conversations.info",
        "conversations.list",
        "users.info",
        "users.lookupByEmail",
        "conversations.history",
        "conversations.replies",
    }
)

_STRING_PARAMS = _names(
    "channel name users topic text thread_ts ts timestamp user parse username icon_emoji icon_url"
    " trigger_id cursor team_id filename alt_txt snippet_type channel_id channels initial_comment email"
    " usergroup"
)
_BOOL_PARAMS = _names(
    "is_private include_locale include_num_members reply_broadcast mrkdwn unfurl_links"
    " unfurl_media link_names inclusive include_count"
)
MAX_BLOCKS = 50
MAX_TEXT = 40_000
MAX_TOPIC = 250
MAX_NAME = 80
MAX_ID = 255
_TEXT_LIMITS = {"section": 3000, "header": 150}
_BUTTON_TEXT_LIMIT = 75
MAX_MODAL_BLOCKS = 100
MAX_VIEW_TEXT = 24  # title, submit and close
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_BYTES = 250_000
_VIEW_KEYS = _names(
    "type title blocks close submit private_metadata callback_id clear_on_close notify_on_close"
    " external_id submit_disabled"
)


def _invalid_blocks(message: str, pointer: str = "") -> NoReturn:
    raise SlackError("invalid_blocks", **error_messages(f"{message} [json-pointer:/blocks{pointer}]"))


def text_value(obj: Any) -> str:
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
    if limit is not None and len(text_value(block.get("text"))) > limit:
        _invalid_blocks(f"must be less than {limit + 1} characters", f"{pointer}/text/text")
    action_ids: set[str] = set()
    for where, node in _walk(block, pointer):
        if node.get("type") == "button" and len(text_value(node.get("text"))) > _BUTTON_TEXT_LIMIT:
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
    invalid_arguments(f"{message} [json-pointer:/view{pointer}]")


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


def check_response_payload(payload: dict[str, Any] | None) -> None:
    if payload is None:
        raise SlackError("invalid_payload", **error_messages("body must be a JSON object"))
    if payload.get("response_type", "ephemeral") not in ("ephemeral", "in_channel"):
        invalid_arguments("response_type must be 'ephemeral' or 'in_channel'")
    blocks = validate_blocks(payload["blocks"]) if "blocks" in payload else None
    if not payload.get("delete_original") and not payload.get("text") and not blocks:
        raise SlackError("no_text")


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"1": True, "true": True, "0": False, "false": False, "": False}.get(str(value).lower())


def check_params(method: str, params: dict[str, Any]) -> None:
    unknown = sorted(set(params) - METHOD_PARAMS[method])
    if unknown:
        invalid_arguments(*(f"unknown parameter '{name}'" for name in unknown))
    for name, value in params.items():
        if name in _STRING_PARAMS and not isinstance(value, str):
            invalid_arguments(f"expected a string for '{name}'")
        if name in _BOOL_PARAMS and parse_bool(value) is None:
            invalid_arguments(f"expected a boolean for '{name}'")


def require(params: dict[str, Any], name: str, error: str) -> str:
    value = params.get(name)
    if not value:
        raise SlackError(error)
    return value


def name_problem(name: str) -> str | None:
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
