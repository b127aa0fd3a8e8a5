"""The Web API client the bot uses: slack_sdk's WebClient, with one log line per call."""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RetryHandler, RetryState
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.web import SlackResponse

log = logging.getLogger("bot.slack.api")


class SlackCallObserver(Protocol):
    """Told of every call's result (ok, ratelimited, server_error, error) and of every retry."""

    def slack_call(self, method: str, result: str) -> None: ...

    def slack_retry(self, method: str) -> None: ...


class LoggedWebClient(WebClient):
    """Every Web API method of WebClient goes through `api_call`, so timing it here times them
    all: one line per call (retries of 429s, 5xx and dropped connections included), at DEBUG
    when Slack said ok and at INFO when it did not, with the method, the latency and the error.
    With an `observer`, each call's result is counted too."""

    observer: SlackCallObserver | None = None

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        started = time.perf_counter()
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response, SlackResponse) else None
            error = data.get("error") if isinstance(data, dict) else None
            _logged(api_method, started, str(error or "not_ok"))
            status = exc.response.status_code if isinstance(exc.response, SlackResponse) else 0
            self._observe(api_method, result_of_status(status))
            raise
        except Exception as exc:
            _logged(api_method, started, type(exc).__name__)
            self._observe(api_method, "error")
            raise
        _logged(api_method, started, None)
        self._observe(api_method, "ok")
        return response

    def _observe(self, method: str, result: str) -> None:
        if self.observer is not None:
            self.observer.slack_call(method, result)


def result_of_status(status: int) -> str:
    """A failed call's result label, from the HTTP status of Slack's last answer."""
    if status == 429:
        return "ratelimited"
    if status >= 500:
        return "server_error"
    return "error"


class CountedRetries(RetryHandler):
    """One of slack_sdk's retry handlers, with each retry it decides on told to `observer`."""

    def __init__(self, inner: RetryHandler, observer: SlackCallObserver) -> None:
        super().__init__(max_retry_count=inner.max_retry_count, interval_calculator=inner.interval_calculator)
        self.inner = inner
        self.observer = observer

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return self.inner.can_retry(state=state, request=request, response=response, error=error)

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        self.observer.slack_retry(request.url.rsplit("/", 1)[-1].split("?", 1)[0])
        self.inner.prepare_for_next_attempt(state=state, request=request, response=response, error=error)


def _logged(method: str, started: float, error: str | None) -> None:
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    fields = {"slack_method": method, "latency_ms": latency_ms, "slack_ok": error is None}
    if error is None:
        log.debug("%s ok in %s ms", method, latency_ms, extra=fields)
    else:
        log.info("%s failed in %s ms: %s", method, latency_ms, error, extra=fields | {"slack_error": error})


def observe_calls(client: WebClient, observer: SlackCallObserver) -> None:
    """Count `client`'s calls and the retries its retry handlers make, through `observer`."""
    if isinstance(client, LoggedWebClient):
        client.observer = observer
    client.retry_handlers = [
        handler if isinstance(handler, CountedRetries) else CountedRetries(handler, observer)
        for handler in client.retry_handlers
    ]
