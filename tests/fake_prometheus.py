"""A strict fake of Prometheus's HTTP API instant query endpoint on loopback, for tests.

``FakePrometheus`` binds 127.0.0.1 on a free port; its :attr:`root_url` is the ``PROMETHEUS_URL``.
It serves ``GET /api/v1/query`` (and the form-encoded ``POST`` Prometheus also accepts) with the
``query`` and ``time`` parameters, answering as Prometheus documents it
(https://prometheus.io/docs/prometheus/latest/querying/api/): ``{"status": "success", "data":
{"resultType": "vector", "result": [{"metric": {}, "value": [<time>, "<value>"]}]}}``, a
``scalar`` as ``[<time>, "<value>"]``, and errors as ``{"status": "error", "errorType": ...,
"error": ...}`` with 400 (bad_data) or 422/503.

Strict where the bot must be: another path is 404, another method 405, a missing ``query`` or
``time`` (the bot always pins the instant, so every figure of one answer is of one moment) or a
``time`` that is not a Unix timestamp is 400 bad_data. A query it was not told about is 400 too,
so a test cannot pass on a query the bot did not mean to send. :meth:`answer` sets a query's
value (a number, ``None`` for an empty vector, ``NaN`` as Prometheus writes it, or a scalar);
:meth:`fail_next` answers the next requests with an HTTP status and Prometheus's error body;
:meth:`hang_next` holds them for a while (a timeout); :meth:`stop` makes it unreachable (refused).
Every request is kept in :attr:`requests`.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.local_slack.loopback import LoopbackService


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str | None
    time: str | None


@dataclass(frozen=True)
class Scalar:
    value: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakePrometheus) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        params = parse_qs(url.query)
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            params.update(parse_qs(self.rfile.read(length).decode()))
        status, body = self.server.fake.handle(method, url.path, params)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"status": "error", "errorType": kind, "error": message}


def _text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class FakePrometheus(LoopbackService):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[str, float | Scalar | None] = {}
        self._failures: list[int] = []
        self._hang: list[float] = []
        self.requests: list[Request] = []

    def _make_server(self) -> _Server:
        return _Server(self)

    def answer(self, query: str, value: float | Scalar | None) -> None:
        with self._lock:
            self._answers[query] = value

    def fail_next(self, status: int, count: int = 1) -> None:
        with self._lock:
            self._failures += [status] * count

    def hang_next(self, seconds: float, count: int = 1) -> None:
        with self._lock:
            self._hang += [seconds] * count

    def handle(self, method: str, path: str, params: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        query, at = (params.get(k, [None])[0] for k in ("query", "time"))
        with self._lock:
            self.requests.append(Request(method, path, query, at))
            hang = self._hang.pop(0) if self._hang else 0.0
            failure = self._failures.pop(0) if self._failures else None
        if hang:
            time.sleep(hang)
        if path != "/api/v1/query":
            return 404, {"status": "error", "error": "404 page not found"}
        if method not in ("GET", "POST"):
            return 405, {"status": "error", "error": "method not allowed"}
        if failure is not None:
            kind = {400: "bad_data", 422: "execution", 503: "unavailable"}.get(failure, "internal")
            return failure, _error(kind, f"the fake was told to fail with {failure}")
        if not query:
            return 400, _error("bad_data", 'invalid parameter "query": no query given')
        try:
            instant = float(at) if at is not None else None
        except ValueError:
            instant = None
        if instant is None:
            return 400, _error(
                "bad_data", f'invalid parameter "time": cannot parse {at!r} to a valid timestamp'
            )
        with self._lock:
            known = query in self._answers
            value = self._answers.get(query)
        if not known:
            return 400, _error("bad_data", f"the fake has no answer for the query {query!r}")
        if isinstance(value, Scalar):
            return 200, {
                "status": "success",
                "data": {"resultType": "scalar", "result": [instant, _text(value.value)]},
            }
        result = [] if value is None else [{"metric": {}, "value": [instant, _text(value)]}]
        return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}
