"""`incident-bot slo status --json` against Debian's real Prometheus on loopback, scraping a tiny
exporter of synthetic request counters (0.5% of requests fail): the SLI, the budget left and the
burn rate are the ones those counters mean, so the queries the bot sends are ones Prometheus
answers as intended. Skips when `prometheus` is missing, except under CI=true."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.cli import main
from bot.config import load_config_file
from bot.core.slo_budget import sli_query
from bot.prometheus import PrometheusClient

PROMETHEUS = shutil.which("prometheus")
GOOD_PER_SECOND, BAD_PER_SECOND = 99.5, 0.5  # an error ratio of 0.005: half of a 99% budget
CONFIG = """\
slos:
  - name: API Availability
    service: checkout-api
    sli: |
      ( sum(rate(http_requests_total{code!~"5.."}[288m])) / sum(rate(http_requests_total[288m])) )
    target: 0.99
    window: 288m
"""


class _Exporter(BaseHTTPRequestHandler):
    started = time.monotonic()

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        elapsed = time.monotonic() - self.started
        body = (
            "# TYPE http_requests_total counter\n"
            f'http_requests_total{{code="200"}} {GOOD_PER_SECOND * elapsed}\n'
            f'http_requests_total{{code="500"}} {BAD_PER_SECOND * elapsed}\n'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def prometheus_url(tmp_path):
    if PROMETHEUS is None:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus must be installed under CI=true (.ci/run installs Debian's prometheus)")
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    exporter = ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
    threading.Thread(target=exporter.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: synthetic\n    static_configs: [{{targets: ['127.0.0.1:{exporter.server_address[1]}']}}]\n"
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as ready:
                    if ready.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, "prometheus exited at start"
            assert time.monotonic() < deadline, "prometheus was not ready within 30 s"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        exporter.shutdown()
        exporter.server_close()


def test_slo_status_reads_the_sli_budget_and_burn_rate_from_a_real_prometheus(
    prometheus_url, tmp_path, monkeypatch, capsys
):
    config_path = tmp_path / "bot.yml"
    config_path.write_text(CONFIG)
    (slo,) = load_config_file(config_path)["policy"].slos
    client = PrometheusClient(prometheus_url)
    deadline = time.monotonic() + 30
    while client.query(sli_query(slo), datetime.now(UTC)) is None:  # until a rate has two scrapes
        assert time.monotonic() < deadline, "no SLI from Prometheus within 30 s of scraping"
        time.sleep(0.5)
    time.sleep(2)  # a few more scrapes, so every burn window has two
    monkeypatch.setenv("INCIDENT_BOT_CONFIG", str(config_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'i.db'}")
    monkeypatch.setenv("PROMETHEUS_URL", prometheus_url)
    assert main(["slo", "status", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["source"] == "prometheus", document
    (status,) = document["slos"]
    assert status["sli"] == pytest.approx(0.995, abs=1e-5)
    assert status["budget_minutes"] == pytest.approx(2.88)  # 1% of 288 minutes
    assert status["budget_left_percent"] == pytest.approx(50.0, abs=0.01)
    assert status["budget_left_minutes"] == pytest.approx(1.44, abs=0.01)
    assert status["burn_rates"]["1h"] == pytest.approx(0.5, abs=1e-3)  # 0.005 / 0.01
    assert status["exhausted"] is False
