"""Prometheus's HTTP API, instant queries only (`GET /api/v1/query?query=…&time=…`).

A query answers one number: a scalar, or a vector of at most one sample (an SLO's queries sum
their series); an empty vector is None (no traffic in the window). Anything else, a refused or
slow connection, a status other than 200, `"status": "error"`, is PrometheusUnavailable with the
reason in words, so the caller says so rather than showing an old number.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any

from bot.core.errors import PrometheusUnavailable
from bot.outbound_http import NoRedirects, describe

DEFAULT_TIMEOUT_SECONDS = 5.0

__all__ = ["PrometheusClient", "PrometheusUnavailable", "PrometheusUnset", "prometheus_at"]


class PrometheusUnset:
    """No PROMETHEUS_URL: every answer is the fallback, saying why."""

    configured = False

    def query(self, expr: str, at: datetime) -> float | None:
        raise PrometheusUnavailable("PROMETHEUS_URL is not set")


def prometheus_at(url: str | None) -> PrometheusClient | PrometheusUnset:
    return PrometheusClient(url) if url else PrometheusUnset()


class PrometheusClient:
    configured = True

    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._opener = urllib.request.build_opener(NoRedirects)

    def query(self, expr: str, at: datetime) -> float | None:
        """The value of `expr` at the instant `at`."""
        params = urllib.parse.urlencode({"query": expr, "time": f"{at.timestamp():.3f}"})
        url = f"{self.base_url}/api/v1/query?{params}"
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        except (OSError, ValueError) as exc:  # refused, reset, timed out, bad URL
            raise PrometheusUnavailable(
                f"Prometheus at {self.base_url} cannot be reached: {describe(exc)}"
            ) from exc
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise PrometheusUnavailable(
                f"Prometheus at {self.base_url} answered HTTP {status}, not its API's JSON"
            )
        if answer.get("status") != "success" or status != 200:
            reason = answer.get("error") or f"HTTP {status}"
            raise PrometheusUnavailable(f"Prometheus at {self.base_url} refused the query: {reason}")
        return _one_number(answer.get("data"), self.base_url)


def _one_number(data: Any, where: str) -> float | None:
    if not isinstance(data, dict):
        raise PrometheusUnavailable(f"Prometheus at {where} answered without data")
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return _value(result[1], where)
    if kind == "vector" and isinstance(result, list):
        if not result:
            return None
        if len(result) > 1:
            raise PrometheusUnavailable(
                f"Prometheus at {where} answered {len(result)} series where one was expected: "
                "sum the SLO's good and total queries"
            )
        sample = result[0].get("value") if isinstance(result[0], dict) else None
        if isinstance(sample, list) and len(sample) == 2:
            return _value(sample[1], where)
    raise PrometheusUnavailable(f"Prometheus at {where} answered a {kind!r} result, not a vector or scalar")


def _value(text: Any, where: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise PrometheusUnavailable(f"Prometheus at {where} answered {text!r}, not a number") from None
    return None if math.isnan(value) or math.isinf(value) else value
