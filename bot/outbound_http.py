"""What the clients of other services (PagerDuty, Statuspage) share: no redirects (a redirect would
carry a secret to another host), Retry-After in seconds, doubling back-off, and an error's words."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import timedelta
from email.message import Message
from typing import Any


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would send the key somewhere else: treat it as an answer, not a hop."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def retry_after(headers: Message | None) -> timedelta | None:
    """`Retry-After` in seconds; None when absent or an HTTP date (rare: our back-off then)."""
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        return timedelta(seconds=int(value.strip()))
    except ValueError:
        return None


def doubling(
    first: timedelta, most: timedelta, attempt: int, retry_after: timedelta | None = None
) -> timedelta:
    """`first` doubled per failed attempt, at most `most`; a server's Retry-After wins (within 1 s..most)."""
    if retry_after is not None:
        return min(max(retry_after, timedelta(seconds=1)), most)
    return min(first * (2 ** min(max(attempt, 0), 16)), most)


def describe(error: BaseException) -> str:
    """The reason a request failed, without the URL's wrapping."""
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        return describe(error.reason) if isinstance(error.reason, BaseException) else str(error.reason)
    return str(error) or type(error).__name__
