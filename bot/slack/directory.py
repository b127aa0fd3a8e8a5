"""Names from Slack: users.info and conversations.info, for readers outside Slack.

Best effort by design: a name is only ever nice to have, so this client does not wait out a 429
(that would hold up the incident's Slack work); it says how long Slack asked it to wait, and the
caller asks nothing more until then.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, ServerErrorRetryHandler

from bot.core.errors import NamesUnavailable
from bot.slack.web_client import LoggedWebClient

log = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 30.0


def make_directory_client(token: str, base_url: str) -> WebClient:
    """Retries a dropped connection or a 5xx once; a 429 comes straight back (see above)."""
    return LoggedWebClient(
        token=token,
        base_url=base_url,
        timeout=10,
        retry_handlers=[
            ServerErrorRetryHandler(max_retry_count=1),
            ConnectionErrorRetryHandler(max_retry_count=1),
        ],
    )


class SlackDirectory:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def user_name(self, user_id: str) -> str | None:
        """The person's display name, else their full name, else their username; None when
        Slack has no name to give for the id (not found, not visible, scope missing)."""
        user = self._call("users.info", self.client.users_info, user=user_id).get("user") or {}
        profile: dict[str, Any] = user.get("profile") or {}
        for name in (
            profile.get("display_name"),
            profile.get("real_name"),
            user.get("real_name"),
            user.get("name"),
        ):
            if isinstance(name, str) and name.strip():
                return name.strip()
        return None

    def user_time_zone(self, user_id: str) -> str | None:
        """The person's IANA time zone (users.info `tz`); None when Slack gives none."""
        user = self._call("users.info", self.client.users_info, user=user_id).get("user") or {}
        zone = user.get("tz")
        return zone if isinstance(zone, str) and zone else None

    def channel_name(self, channel_id: str) -> str | None:
        """The channel's name (without `#`); None when the bot cannot see it."""
        channel = self._call("conversations.info", self.client.conversations_info, channel=channel_id)
        channel = channel.get("channel") or {}
        name = channel.get("name")
        return name if isinstance(name, str) and name else None

    def user_id_for_email(self, email: str) -> str | None:
        """users.lookupByEmail: the Slack user id with this email; None when Slack has none
        (users_not_found). Anything else Slack answers is NamesUnavailable: the cache stays as it was."""
        try:
            response = self.client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            if exc.response.get("error") == "users_not_found":
                return None
            status = exc.response.status_code
            if status == 429:
                raise NamesUnavailable("ratelimited", retry_after=DEFAULT_RETRY_AFTER) from exc
            raise NamesUnavailable(str(exc.response.get("error") or f"Slack answered {status}")) from exc
        except OSError as exc:
            raise NamesUnavailable(type(exc).__name__) from exc
        user = response.get("user") or {}
        user_id = user.get("id") if isinstance(user, dict) else None
        return user_id if isinstance(user_id, str) and user_id else None

    def _call(self, name: str, method: Any, **params: str) -> dict[str, Any]:
        try:
            response = method(**params)
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429:
                headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
                retry_after = headers.get("retry-after")
                if isinstance(retry_after, list):
                    retry_after = retry_after[0] if retry_after else None
                raise NamesUnavailable("ratelimited", retry_after=_seconds(retry_after)) from exc
            if status >= 500:
                raise NamesUnavailable(f"Slack answered {status}") from exc
            # A final answer (user_not_found, channel_not_found, missing_scope, ...): no name.
            log.warning("%s %s: %s", name, next(iter(params.values())), exc.response.get("error"))
            return {}
        except OSError as exc:  # the connection dropped again after the retry
            raise NamesUnavailable(type(exc).__name__) from exc
        return dict(response.data) if isinstance(response.data, dict) else {}


def _seconds(value: Any) -> float:
    try:
        return max(float(value), 1.0)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
