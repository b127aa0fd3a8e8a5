"""How the local Slack answers: a reply, and the Slack-level errors that become ``{"ok": false}``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # sent as text/plain instead of the JSON body (upload URLs)


def text_reply(status: int, text: str) -> Reply:
    return Reply(status, {}, text=text)


class SlackError(Exception):
    """A Slack-level error: becomes ``{"ok": false, "error": ...}``."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        retry_after: int | None = None,
        echo_headers: bool = False,
        **extra: Any,
    ) -> None:
        super().__init__(error)
        self.error, self.status, self.retry_after, self.extra = error, status, retry_after, extra
        # Answer as a broken proxy in front of Slack might: text that repeats the request's headers.
        self.echo_headers = echo_headers

    def reply(self) -> Reply:
        headers = {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}
        return Reply(self.status, {"ok": False, "error": self.error, **self.extra}, headers)


def error_messages(*lines: str) -> dict[str, Any]:
    return {"response_metadata": {"messages": [f"[ERROR] {line}" for line in lines]}}


def invalid_arguments(*lines: str) -> NoReturn:
    raise SlackError("invalid_arguments", **error_messages(*lines))
