"""A local, Slack-compatible stand-in for the Slack Web API, served over real HTTP on loopback.

``incident-bot demo`` plays an incident against it, and the tests and benchmarks run the bot
against it. Point ``slack_sdk.WebClient(token=..., base_url=slack.base_url)`` at a started
:class:`LocalSlack`. It is deliberately *stricter* than Slack so that a loose client cannot pass:
per-method parameter allow-lists (:data:`METHOD_PARAMS`, a subset of Slack's OpenAPI spec, which
the tests check against the slice of it in ``tests/slack_specs/``), bot scopes per method and
channel type (:data:`METHOD_SCOPES`), Block Kit validated with ``slack_sdk.models.blocks`` plus
Slack's limits, ``thread_ts`` must name an existing top-level message, Slack's error codes for
channel names, membership, pins and edits.

One concern per module:

* ``server.py``: :class:`LocalSlack` itself, the HTTP server on a free loopback port. It routes
  ``/api/<method>``, response URLs and upload URLs, authenticates and checks each call, records
  it (:meth:`LocalSlack.calls`) and fails the next calls of a method on request
  (:meth:`LocalSlack.fail_next`).
* ``web_api.py``: the Web API methods and the JSON shapes they answer with.
* ``workspace.py``: users, channels and messages, the rules of access, and the methods that set
  up a workspace and look inside it (``add_user``, ``add_channel``, ``channel``, ``transcript``...).
* ``files.py``: the file upload flow.
* ``validation.py``: methods, parameters and scopes; Block Kit, views and channel names.
* ``errors.py``: Slack's error answers.
* ``requests.py``: :class:`SlackRequestSender`, which sends slash commands into the bot as Slack
  does, signed.

Documented choices where Slack is ambiguous or the stand-in is stricter:

* ``team_id`` (sent by slack_sdk/Bolt clients as a default parameter) is accepted on every method
  but must be the stand-in's own team, else invalid_arguments.
* A ``token`` inside a JSON body is ignored (Slack wants the Authorization header) -> not_authed.
* GET is accepted only for :data:`READ_METHODS`; other methods answer HTTP 405.
* Only chat.postMessage/chat.postEphemeral resolve channel names; other methods need an ID.
  A user ID as their channel posts in the bot's direct-message channel with that user (``D…``,
  opened on first use, see :meth:`LocalSlack.dm`), which other methods treat as a private channel;
  other methods answer channel_not_found for a user ID.
* ``latency`` seconds are added to every Web API call (not to response or upload URLs).  With
  ``post_rate_per_channel`` set, chat.postMessage is limited per channel by a token bucket (bursts
  of 5): over it, HTTP 429 ``ratelimited`` with ``Retry-After: 1``.
* conversations.invite is all-or-nothing: if any user fails, nobody is invited.
* A response URL accepts 5 POSTs, then HTTP 404 ``used_url``; unknown ones HTTP 404
  ``expired_url``; invalid payloads HTTP 400.
* :meth:`LocalSlack.channel` returns a deep-copied snapshot; transcript times are UTC.
* Extra helper :meth:`LocalSlack.post_as_user` adds a message written by a human user;
  :meth:`LocalSlack.message` and :meth:`LocalSlack.views` return deep-copied snapshots.
* views.open: trigger ids are parsed as ``"<unix seconds>.<n>.<hex>"`` (the shape
  :class:`SlackRequestSender` issues); a trigger is expired once the whole seconds between its
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
  recorded in :meth:`LocalSlack.calls`.  ``length`` 0 is Slack's ``missing_argument``; other
  non-positive-integer lengths are invalid_arguments.  completeUploadExternal is all-or-nothing:
  an id never issued, never uploaded or already completed is ``file_not_found`` (Slack: "Could not
  find the file from the upload ticket"; the method "can only be called once").  Sharing needs the
  bot in each channel (not_in_channel, even with chat:write.public); ``channel_id`` and
  ``channels`` together, or ``initial_comment``/``thread_ts`` without a channel, are
  invalid_arguments; ``thread_ts`` needs exactly one channel and follows chat.postMessage's rule.
  Each target channel gets one bot message with the ``initial_comment`` as text and the files.
  Uploaded-but-never-completed files are discarded (not in :meth:`LocalSlack.files`).
  ``url_private``/``permalink`` are shaped like Slack's but not served; mimetype/filetype come
  from a small extension table.
* Retired methods (:data:`RETIRED_METHODS`, e.g. files.upload) answer ``method_deprecated`` before
  any authentication or body parsing, as Slack does for methods it has switched off.
* Socket Mode: apps.connections.open takes only the app-level token (``app_token``, ``xapp-...``)
  and needs ``connections:write`` among ``app_scopes``; the bot token there, or the app token on
  any other method, is ``not_allowed_token_type``. It answers ``{"url": ...}`` from the Socket
  Mode server attached as ``socket_mode`` (the tests' WebSocket server on loopback); with none
  attached, ``socket_mode_not_enabled`` (a name the stand-in chose: Socket Mode is off for the app).
* A bug inside the stand-in answers HTTP 500 ``local_slack_bug`` with the exception, rather than
  dropping the connection.
"""

from bot.local_slack.errors import SlackError
from bot.local_slack.requests import HttpReply, SlackRequestSender, slack_signature
from bot.local_slack.server import Call, LocalSlack
from bot.local_slack.validation import (
    CHANNEL_TYPE_SCOPES,
    DEFAULT_SCOPES,
    METHOD_PARAM_EXTRAS,
    METHOD_PARAMS,
    METHOD_SCOPES,
    READ_METHODS,
    RETIRED_METHODS,
    validate_blocks,
    validate_view,
)
from bot.local_slack.workspace import Channel, Message

__all__ = [
    "CHANNEL_TYPE_SCOPES",
    "DEFAULT_SCOPES",
    "METHOD_PARAMS",
    "METHOD_PARAM_EXTRAS",
    "METHOD_SCOPES",
    "READ_METHODS",
    "RETIRED_METHODS",
    "Call",
    "Channel",
    "HttpReply",
    "LocalSlack",
    "Message",
    "SlackError",
    "SlackRequestSender",
    "slack_signature",
    "validate_blocks",
    "validate_view",
]
