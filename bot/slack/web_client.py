"""The Web API client the bot uses: slack_sdk's WebClient, with one log line per call."""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

log = logging.getLogger("bot.slack.api")


class LoggedWebClient(WebClient):
    """Every Web API method of WebClient goes through `api_call`, so timing it here times them
    all: one line per call (retries of 429s, 5xx and dropped connections included), at DEBUG
    when Slack said ok and at INFO when it did not, with the method, the latency and the error."""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        started = time.perf_counter()
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response, SlackResponse) else None
            error = data.get("error") if isinstance(data, dict) else None
            _logged(api_method, started, str(error or "not_ok"))
            raise
        except Exception as exc:
            _logged(api_method, started, type(exc).__name__)
            raise
        _logged(api_method, started, None)
        return response


def _logged(method: str, started: float, error: str | None) -> None:
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    fields = {"slack_method": method, "latency_ms": latency_ms, "slack_ok": error is None}
    if error is None:
        log.debug("%s ok in %s ms", method, latency_ms, extra=fields)
    else:
        log.info("%s failed in %s ms: %s", method, latency_ms, error, extra=fields | {"slack_error": error})
