"""End to end with the real Prometheus Alertmanager (Debian's prometheus-alertmanager): alerts posted
to its API become exactly one incident in the fake Slack, and their resolution is noted."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from bot.core import events as ev
from tests.harness import ALERT_TOKEN, start_harness, wait_for
from tests.test_manifest import manifest_bot_scopes

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def alertmanager(tmp_path):
    """Returns a function starting Alertmanager routed to a webhook URL; stops it afterwards."""
    if BINARY is None:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus-alertmanager must be installed under CI=true (.ci/run installs it)")
        pytest.skip("prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)")
    processes = []

    def start(webhook_url: str) -> str:
        port = free_port()
        config = tmp_path / "alertmanager.yml"
        config.write_text(
            "route:\n"
            "  receiver: incident-bot\n"
            "  group_by: [alertname, service]\n"
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
        process = subprocess.Popen(
            [
                BINARY,
                f"--config.file={config}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: _ready(url), timeout=30), "Alertmanager did not become ready"
        return url

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def post_alert(am_url: str, *, ends_at: datetime | None = None, starts_at: datetime) -> None:
    alert = {
        "labels": {"alertname": "CheckoutErrors", "service": "checkout", "severity": "page"},
        "annotations": {
            "summary": "Checkout error rate above 5%",
            "runbook": "https://runbooks.example.com/checkout",
        },
        "startsAt": starts_at.isoformat().replace("+00:00", "Z"),
    }
    if ends_at is not None:
        alert["endsAt"] = ends_at.isoformat().replace("+00:00", "Z")
    request = urllib.request.Request(
        f"{am_url}/api/v2/alerts", data=json.dumps([alert]).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def test_alertmanager_alerts_become_exactly_one_incident_and_resolution_is_noted(tmp_path, alertmanager):
    """Real Alertmanager -> webhook -> one incident, however often it re-sends; resolution noted."""
    h = start_harness(f"sqlite:///{tmp_path / 'e2e.db'}", manifest_bot_scopes())
    try:
        am = alertmanager(f"{h.server.url}/webhooks/alertmanager")
        started = datetime.now(UTC) - timedelta(minutes=2)
        post_alert(am, starts_at=started)
        assert wait_for(lambda: h.bot.store.heads() != [], timeout=30), "no incident was declared"
        post_alert(am, starts_at=started)  # Alertmanager dedupes; the bot must too if it re-sends
        assert wait_for(lambda: h.slack.channel_by_name("inc-1-checkout-error-rate-above-5") is not None)
        post_alert(am, starts_at=started, ends_at=datetime.now(UTC) - timedelta(seconds=1))

        def resolution_noted() -> bool:
            return any(e.type == ev.AlertsResolved.TYPE for e in h.bot.store.load(1))

        assert wait_for(resolution_noted, timeout=30), "the resolution was not noted"
        h.settle()
        assert len(h.bot.store.heads()) == 1
        state = h.bot.service.state_of(1)
        assert state.facts.status == "monitoring" and state.facts.service == "checkout"
        assert state.facts.impact_started_at is not None
        assert abs((state.facts.impact_started_at - started).total_seconds()) < 1
        texts = [m.text for m in h.slack.channel(state.slack.channel_id).messages]
        assert any("every alert of the group resolved" in t for t in texts)
        log = h.bot.store.alert_log()
        assert [r.status for r in log][0] == "firing" and log[-1].status == "resolved"
    finally:
        h.close()
