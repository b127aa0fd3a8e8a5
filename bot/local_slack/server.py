"""The local Slack's HTTP server: ``/api/<method>``, response URLs and upload URLs on loopback.

:class:`LocalSlack` binds 127.0.0.1 on a free port, authenticates and checks every Web API call
before its method runs (``web_api.py``, ``files.py``), records it, and can be told to fail the next
calls of a method.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from bot.local_slack.errors import Reply, SlackError, error_messages, invalid_arguments
from bot.local_slack.files import FileUploads, Upload
from bot.local_slack.loopback import LoopbackService
from bot.local_slack.usergroups import Usergroup, Usergroups
from bot.local_slack.validation import (
    APP_TOKEN_METHODS,
    DEFAULT_SCOPES,
    METHOD_PARAMS,
    METHOD_SCOPES,
    READ_METHODS,
    RETIRED_METHODS,
    check_params,
    check_response_payload,
)
from bot.local_slack.web_api import SocketModeEndpoint, WebApi
from bot.local_slack.workspace import Channel, User

RESPONSE_URL_MAX_USES = 5


@dataclass
class Call:
    """One recorded Web API call."""

    method: str
    params: dict[str, Any]
    ok: bool
    error: str | None
    status: int


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None
    remaining: int
    echo_headers: bool = False

    def to_error(self) -> SlackError:
        default = (
            "ratelimited" if self.status == 429 else "internal_error" if self.status >= 500 else "fatal_error"
        )
        retry_after = self.retry_after or 1 if self.status == 429 else self.retry_after
        return SlackError(
            self.error or default, status=self.status, retry_after=retry_after, echo_headers=self.echo_headers
        )


def _decode_body(content_type: str, body: bytes) -> tuple[dict[str, Any], bool]:
    """Return (params, is_json) for a urlencoded or JSON request body."""
    if not body:
        return {}, False
    mime = content_type.split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SlackError("invalid_form_data", **error_messages("body is not UTF-8")) from None
    if mime == "application/json":
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise SlackError("invalid_json", **error_messages("body must be a JSON object"))
        return data, True
    if mime in ("", "application/x-www-form-urlencoded"):
        return dict(parse_qsl(text, keep_blank_values=True)), False
    raise SlackError("invalid_form_data", **error_messages(f"unsupported content type '{mime}'"))


def _echo(status: int, method: str, headers: HTTPMessage) -> Reply:
    """The request's headers, credentials first (as proxies' error pages often show them)."""
    ordered = sorted(headers.items(), key=lambda item: item[0].lower() != "authorization")
    lines = [
        f"Proxy error {status}. {name}: {value}" if i == 0 else f"{name}: {value}"
        for i, (name, value) in enumerate(ordered)
    ]
    return Reply(status, {}, text="\n".join(lines + [f"(POST /api/{method})"]))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, slack: LocalSlack) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.slack = slack


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
        reply = self.server.slack.handle_http(verb, self.path, self.headers, body)
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


class LocalSlack(LoopbackService, WebApi, FileUploads, Usergroups):
    """Strict in-process Slack Web API; see the package docstring."""

    def __init__(
        self,
        *,
        token: str = "xoxb-fake-token",
        scopes: Iterable[str] = DEFAULT_SCOPES,
        latency: float = 0.0,
        bot_user_id: str = "UBOT0001",
        team_id: str = "T0001",
        post_rate_per_channel: float | None = None,
        app_token: str = "xapp-1-A0FAKE-1-fake",
        app_scopes: Iterable[str] = ("connections:write",),
    ) -> None:
        self.token = token
        self.scopes = frozenset(scopes)
        self.app_token = app_token
        self.app_scopes = frozenset(app_scopes)
        # Where apps.connections.open gets its WebSocket URLs: a Socket Mode server the tests
        # attach (tests/socket_mode_server.py); without one the app has Socket Mode off.
        self.socket_mode: SocketModeEndpoint | None = None
        self.latency = latency
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id.removeprefix("U")
        self.app_id = "A" + bot_user_id.removeprefix("U")
        self.team_id = team_id
        self.post_rate_per_channel = post_rate_per_channel
        self._lock = threading.RLock()
        self._users: dict[str, User] = {}
        self._usergroups: dict[str, Usergroup] = {}
        self._channels: dict[str, Channel] = {}
        self._calls: list[Call] = []
        self._failures: dict[str, deque[_Failure]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}
        self._responses: list[dict[str, Any]] = []
        self._response_uses: dict[str, int] = {}
        self._views: list[dict[str, Any]] = []
        self._used_triggers: set[str] = set()
        self._view_seq = 0
        self._uploads: dict[str, Upload] = {}
        self._completed_files: list[str] = []
        self._file_seq = 0
        self._channel_seq = 0
        self._response_seq = 0
        self._last_ts_micros = 0
        self.add_user(bot_user_id, "incident-bot", is_bot=True)

    def _make_server(self) -> _Server:
        return _Server(self)

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/api/"

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
        echo_headers: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (queued in order). With
        ``echo_headers``, the answer is not Slack's JSON but text repeating the request's headers,
        as a misbehaving proxy in front of Slack might send (give a ``status``, say 400)."""
        if method not in METHOD_PARAMS:
            raise ValueError(f"unknown method {method!r}")
        if times < 1 or not 200 <= status <= 599:
            raise ValueError("times must be >= 1 and status an HTTP status")
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.append(_Failure(status, error, retry_after, times, echo_headers))

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

    def handle_http(self, verb: str, path: str, headers: HTTPMessage, body: bytes) -> Reply:
        """Route one HTTP request (called from the server threads)."""
        url = urlsplit(path)
        if url.path.startswith("/api/"):
            return self._handle_api(verb, url.path.removeprefix("/api/"), url.query, headers, body)
        if url.path.startswith("/response/"):
            return self._handle_response_url(verb, url.path, body)
        if url.path.startswith("/upload/"):
            return self._handle_upload(verb, url.path.removeprefix("/upload/"), headers, body)
        return Reply(404, {"ok": False, "error": "not_found"})

    def _handle_api(self, verb: str, method: str, query: str, headers: HTTPMessage, body: bytes) -> Reply:
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
                reply = exc.reply() if not exc.echo_headers else _echo(exc.status, method, headers)
            except Exception as exc:  # a bug in the stand-in: answer loudly rather than drop the connection
                reply = Reply(500, {"ok": False, "error": "local_slack_bug", "detail": repr(exc)})
            error = reply.body.get("error")
            self._calls.append(Call(method, params, reply.body.get("ok") is True, error, reply.status))
        return reply

    def _dispatch(self, verb: str, method: str, params: dict[str, Any], token: str | None) -> Reply:
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
        self._check_token(method, token)
        check_params(method, params)
        if params.get("team_id", self.team_id) != self.team_id:
            invalid_arguments(f"team_id '{params['team_id']}' is not the token's team")
        if method in APP_TOKEN_METHODS:
            if not METHOD_SCOPES[method] & self.app_scopes:
                needed, provided = ",".join(sorted(METHOD_SCOPES[method])), ",".join(sorted(self.app_scopes))
                raise SlackError("missing_scope", needed=needed, provided=provided)
        else:
            self._check_scope(METHOD_SCOPES[method])
        handler: Callable[[dict[str, Any]], dict[str, Any]] = getattr(
            self, "_api_" + method.replace(".", "_")
        )
        return Reply(200, {"ok": True, **handler(params)})

    def _check_token(self, method: str, token: str) -> None:
        """The app-level token opens Socket Mode connections and nothing else; the bot token
        cannot open them."""
        wanted = self.app_token if method in APP_TOKEN_METHODS else self.token
        if token == wanted:
            return
        if token in (self.token, self.app_token):
            raise SlackError("not_allowed_token_type")
        raise SlackError("invalid_auth")

    def _handle_response_url(self, verb: str, path: str, body: bytes) -> Reply:
        if verb != "POST":
            return Reply(405, {"ok": False, "error": "method_not_allowed"})
        with self._lock:
            uses = self._response_uses.get(path)
            if uses is None:
                return Reply(404, {"ok": False, "error": "expired_url"})
            if uses >= RESPONSE_URL_MAX_USES:
                return Reply(404, {"ok": False, "error": "used_url"})
            try:
                payload, is_json = _decode_body("application/json", body)
                check_response_payload(payload if is_json else None)
            except SlackError as exc:
                return Reply(400, exc.reply().body)
            self._response_uses[path] = uses + 1
            self._responses.append({**payload, "_url": self.root_url + path})
        return Reply(200, {"ok": True})
