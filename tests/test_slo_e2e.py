"""End to end with the real things: Debian's Prometheus scrapes a tiny exporter of synthetic request
counters and evaluates the rules `incident-bot slo rules` generated; Debian's Alertmanager routes the
burn-rate alerts to the bot. Raising the error rate pages (one incident, with its SLO recorded);
lowering it gets the resolution noted.

The SLO's window is 720m, so every burn window scales by 1/60 (1h -> 1m, 5m -> 5s, 6h -> 6m,
30m -> 30s) and Prometheus scrapes and evaluates every second: about 45 s in all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.config import load_config_file
from bot.core import events as ev
from tests.harness import ALERT_TOKEN, start_harness, wait_for
from tests.test_alertmanager_e2e import BINARY as ALERTMANAGER
from tests.test_alertmanager_e2e import _ready, free_port
from tests.test_manifest import manifest_bot_scopes

PROMETHEUS = shutil.which("prometheus")
ROOT = Path(__file__).resolve().parents[1]
CONFIG = """\
slos:
  - name: Checkout availability
    service: checkout
    errors: sum(rate(http_requests_total{code=~"5.."}[{{window}}]))
    total: sum(rate(http_requests_total[{{window}}]))
    target: 0.999
    window: 720m
"""


class Exporter:
    """/metrics in Prometheus's text format: `http_requests_total{code}` counters growing at
    `per_second` requests, `error_share` of them answered 500 (both settable while it runs)."""

    def __init__(self, per_second: float = 100.0) -> None:
        self.per_second = per_second
        self.error_share = 0.0
        self.counts = {"200": 0.0, "500": 0.0}
        self._last = time.monotonic()
        self._lock = threading.Lock()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                body = exporter.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def set_error_share(self, share: float) -> None:
        with self._lock:
            self._advance()
            self.error_share = share

    def _advance(self) -> None:
        now = time.monotonic()
        requests = (now - self._last) * self.per_second
        self._last = now
        self.counts["500"] += requests * self.error_share
        self.counts["200"] += requests * (1 - self.error_share)

    def exposition(self) -> str:
        with self._lock:
            self._advance()
            lines = [f'http_requests_total{{code="{c}"}} {n:.3f}' for c, n in sorted(self.counts.items())]
        return "# TYPE http_requests_total counter\n" + "\n".join(lines) + "\n"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def binaries() -> tuple[str, str]:
    missing = [
        name for name, path in (("prometheus", PROMETHEUS), ("alertmanager", ALERTMANAGER)) if not path
    ]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{' and '.join(missing)} must be installed under CI=true (.ci/run installs them)")
        pytest.skip(
            f"{' and '.join(missing)} not installed (apt-get install prometheus prometheus-alertmanager)"
        )
    assert PROMETHEUS and ALERTMANAGER
    return PROMETHEUS, ALERTMANAGER


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def start_alertmanager(binary: str, tmp_path: Path, webhook_url: str, processes: list) -> str:
    """Alertmanager routing every alert to the bot, grouped per SLO and severity (a page group and a
    ticket group), flushing each second."""
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        "route:\n"
        "  receiver: incident-bot\n"
        "  group_by: [alertname, service, slo, severity]\n"
        "  group_wait: 1s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: incident-bot\n"
        "    webhook_configs:\n"
        f"      - url: {webhook_url}\n"
        "        send_resolved: true\n"
        "        http_config:\n"
        "          authorization:\n"
        f"            credentials: {ALERT_TOKEN}\n"
    )
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.path={tmp_path / 'alertmanager'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    url = f"http://127.0.0.1:{port}"
    assert wait_for(lambda: _ready(url), timeout=30), "Alertmanager did not become ready"
    return url


def start_prometheus(binary: str, tmp_path: Path, rules: Path, target: str, am: str, processes: list) -> str:
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  evaluation_interval: 1s\n"
        f"rule_files: [{json.dumps(str(rules))}]\n"
        "alerting:\n"
        "  alertmanagers:\n"
        f"    - static_configs: [{{targets: [{json.dumps(am.removeprefix('http://'))}]}}]\n"
        "scrape_configs:\n"
        "  - job_name: synthetic\n"
        f"    static_configs: [{{targets: [{json.dumps(target)}]}}]\n"
    )
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'prometheus'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    url = f"http://127.0.0.1:{port}"
    assert wait_for(lambda: _ready(url), timeout=30), "Prometheus did not become ready"
    return url


def query(prometheus: str, promql: str) -> list[dict]:
    address = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    try:
        with urllib.request.urlopen(address, timeout=2) as response:
            return json.loads(response.read())["data"]["result"]
    except OSError:
        return []


def generated_rules(tmp_path: Path) -> tuple[Path, Path]:
    """The config file, and the rule file `incident-bot slo rules` writes from it (as an operator would)."""
    config = tmp_path / "bot.yml"
    config.write_text(CONFIG)
    rules = tmp_path / "rules.yml"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "slo", "rules", "--config", str(config), "--output", str(rules)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return config, rules


def test_a_fast_burn_pages_one_incident_for_the_slo_and_its_end_is_noted(tmp_path, processes):
    """Errors at 100%: the 1h/5m page (scaled 1m/5s) fires in Prometheus, Alertmanager sends it, the
    bot declares exactly one incident that records the SLO and its pairs. Errors at 0%: the group
    resolves and the bot notes it (the ticket pairs' group is only recorded, never declared)."""
    # The waits below are generous: on a loaded 2-core CI machine, Prometheus's start, scrapes and
    # rule evaluations once took longer than the 20 s / 30 s / 60 s they had before.
    prometheus_binary, alertmanager_binary = binaries()
    config, rules = generated_rules(tmp_path)
    policy = load_config_file(config)["policy"]
    exporter = Exporter()
    h = start_harness(f"sqlite:///{tmp_path / 'e2e.db'}", manifest_bot_scopes(), policy=policy)
    try:
        am = start_alertmanager(
            alertmanager_binary, tmp_path, f"{h.server.url}/webhooks/alertmanager", processes
        )
        prometheus = start_prometheus(prometheus_binary, tmp_path, rules, exporter.target, am, processes)
        short = 'slo:error_ratio:rate5m{slo="checkout-availability"}'
        assert wait_for(lambda: query(prometheus, f"{short} == 0") != [], timeout=60), "no healthy ratio"

        exporter.set_error_share(1.0)
        assert wait_for(lambda: h.bot.store.heads() != [], timeout=90), "no incident was declared"
        h.settle()
        state = h.bot.service.state_of(1)
        burns = list(state.alert.slo_burns.values())
        assert {b.name for b in burns} == {"Checkout availability"}
        assert ("1m", "5s") in {(b.long, b.short) for b in burns}
        fast = state.alert.slo_burns[("checkout-availability", "1m", "5s")]
        assert fast.burn_rate == 14.4 and fast.budget_spent == pytest.approx(0.02)
        assert state.facts.service == "checkout" and state.facts.severity == "sev1"

        exporter.set_error_share(0.0)

        def resolution_noted() -> bool:
            return any(e.type == ev.AlertsResolved.TYPE for e in h.bot.store.load(1))

        assert wait_for(resolution_noted, timeout=120), "the resolution was not noted"
        h.settle()
        assert len(h.bot.store.heads()) == 1, "one SLO, one incident"
        assert h.bot.service.state_of(1).facts.status == "monitoring"
        log = h.bot.store.alert_log()
        assert {r.action for r in log if r.severity == "page"} == {"declare"}
        assert [r.status for r in log if r.severity == "page"][-1] == "resolved"
        # Read the state again: the one above may predate the channel's creation being recorded.
        channel = h.bot.service.state_of(1).slack.channel_id
        summaries = [m for m in h.slack.channel(channel).messages if m.blocks]
        assert any("Error budget" in json.dumps(m.blocks) for m in summaries)
    finally:
        h.close()
        exporter.close()
