"""GET /metrics over real HTTP: what Slack and Alertmanager sent shows up in the counters, the ack
histogram, the Slack call counts and the gauges read from the store."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.render import ids
from tests.harness import ALERT_TOKEN, BOB, CAROL, start_harness, wait_for
from tests.test_alert_intake_http import FIRING
from tests.test_interactions_http import declared, deliver, press, reaction
from tests.test_manifest import manifest_bot_scopes

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def h(database_url):
    harness = start_harness(database_url, manifest_bot_scopes())
    yield harness
    harness.close()


def scrape_text(h) -> tuple[str, str]:
    with urllib.request.urlopen(f"{h.server.url}/metrics", timeout=10) as response:
        assert response.status == 200
        return response.headers["Content-Type"], response.read().decode()


def scrape(h) -> Samples:
    """Every sample on /metrics, keyed by (sample name, sorted labels)."""
    _, text = scrape_text(h)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def post_alerts(h, body: dict, token: str = ALERT_TOKEN) -> int:
    request = urllib.request.Request(
        f"{h.server.url}/webhooks/alertmanager",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_metrics_is_prometheus_text_and_names_every_family(h):
    content_type, text = scrape_text(h)
    assert content_type.startswith("text/plain; version=0.0.4")
    for name in (
        "incident_bot_incidents_open",
        "incident_bot_commands_total",
        "incident_bot_ack_seconds",
        "incident_bot_slack_calls_total",
        "incident_bot_slack_retries_total",
        "incident_bot_owed_steps",
        "incident_bot_owed_oldest_seconds",
        "incident_bot_heartbeat_lag_seconds",
        "incident_bot_scheduler_leader",
        "incident_bot_alerts_total",
    ):
        assert f"\n# TYPE {name} " in f"\n{text}", name
    samples = scrape(h)
    assert value(samples, "incident_bot_scheduler_leader") == 0  # no heartbeat has run
    assert value(samples, "incident_bot_owed_steps") == 0


def test_a_declare_counts_the_command_its_ack_its_slack_calls_and_the_open_incident(h):
    assert h.command("declare sev2 Checkout slow").status == 200
    assert h.command("frobnicate now").status == 200  # a refusal, answered with its reason
    h.settle()
    samples = scrape(h)
    assert value(samples, "incident_bot_commands_total", verb="declare", outcome="ok") == 1
    assert value(samples, "incident_bot_commands_total", verb="unknown", outcome="refused") == 1
    assert value(samples, "incident_bot_ack_seconds_count", kind="command") == 2
    assert value(samples, "incident_bot_ack_seconds_bucket", kind="command", le="+Inf") == 2
    assert value(samples, "incident_bot_incidents_open", severity="sev2", status="investigating") == 1
    created = value(samples, "incident_bot_slack_calls_total", method="conversations.create", result="ok")
    assert created == 1
    assert (
        value(samples, "incident_bot_slack_calls_total", method="chat.postMessage", result="ok") or 0
    ) >= 2
    assert value(samples, "incident_bot_owed_steps") == 0  # everything was done


def test_a_button_press_and_a_pushpin_event_are_timed_by_kind(h):
    channel, summary = declared(h)
    press(h, ids.ACK, channel, summary, user=BOB)
    ts = h.slack.post_as_user(channel, CAROL, "DB CPU pinned at 100% since 14:20")
    deliver(h, reaction("reaction_added", BOB, channel, ts), "Ev0METRICS1")
    samples = scrape(h)
    assert value(samples, "incident_bot_ack_seconds_count", kind="action") == 1
    assert value(samples, "incident_bot_ack_seconds_count", kind="event") == 1
    assert value(samples, "incident_bot_ack_seconds_count", kind="command") == 1
    assert value(samples, "incident_bot_commands_total", verb="declare", outcome="ok") == 1
    # Acknowledged: the incident is still open, under its new status.
    open_now = {k: v for k, v in samples.items() if k[0] == "incident_bot_incidents_open"}
    assert sum(open_now.values()) == 1


def test_alertmanager_notifications_are_counted_by_action_and_refusals_too(h):
    assert post_alerts(h, FIRING) == 200
    assert post_alerts(h, FIRING) == 200  # a resend: classified `declare` again, joins the incident
    assert post_alerts(h, FIRING, token="wrong") == 401
    h.settle()
    samples = scrape(h)
    actions = {dict(k[1])["action"]: v for k, v in samples.items() if k[0] == "incident_bot_alerts_total"}
    assert actions["declare"] == 2
    assert actions["refused"] == 1
    assert sum(actions.values()) == 3
    assert value(samples, "incident_bot_incidents_open", severity="sev1", status="investigating") == 1


def test_a_slack_429_is_retried_and_counted(h):
    h.slack.fail_next("conversations.create", status=429, error="ratelimited", retry_after=1)
    h.command("declare sev2 Checkout slow")
    h.settle()
    samples = scrape(h)
    assert value(samples, "incident_bot_slack_retries_total", method="conversations.create") == 1
    assert value(samples, "incident_bot_slack_calls_total", method="conversations.create", result="ok") == 1
    assert value(samples, "incident_bot_owed_steps") == 0


def test_when_slack_keeps_failing_the_owed_steps_show_and_the_failures_are_counted_by_result(h):
    h.slack.fail_next("conversations.create", status=200, error="fatal_error")
    h.command("declare sev2 Checkout slow")
    h.settle()
    samples = scrape(h)
    result = value(samples, "incident_bot_slack_calls_total", method="conversations.create", result="error")
    assert result == 1
    assert value(samples, "incident_bot_owed_steps") == 1  # the channel; the rest wait for it
    assert (value(samples, "incident_bot_owed_oldest_seconds") or -1) >= 0
    assert h.bot.service.incidents_owing_slack() == [1]


def test_rate_limits_past_the_retries_count_as_ratelimited(h):
    h.slack.fail_next("conversations.create", status=429, error="ratelimited", retry_after=1, times=4)
    h.command("declare sev2 Checkout slow")
    h.settle()
    samples = scrape(h)
    assert value(samples, "incident_bot_slack_retries_total", method="conversations.create") == 3
    limited = value(
        samples, "incident_bot_slack_calls_total", method="conversations.create", result="ratelimited"
    )
    assert limited == 1
    assert (value(samples, "incident_bot_owed_steps") or 0) >= 1


def test_the_scheduler_leader_is_one_after_a_heartbeat_and_zero_once_it_is_given_up(h):
    h.bot.start_heartbeat(0.2)
    assert wait_for(lambda: value(scrape(h), "incident_bot_scheduler_leader") == 1, timeout=10)
    lag = value(scrape(h), "incident_bot_heartbeat_lag_seconds")
    assert lag is not None and 0 <= lag < 5
    h.bot.close()
    assert value(scrape(h), "incident_bot_scheduler_leader") == 0


def test_socket_mode_requests_are_timed_too(database_url):
    """Over Socket Mode the ack goes back on the WebSocket; /metrics still counts and times it."""
    h = start_harness(database_url, manifest_bot_scopes(), socket_mode=True)
    try:
        h.command("declare sev2 Checkout slow")
        h.settle()
        samples = scrape(h)
        assert value(samples, "incident_bot_ack_seconds_count", kind="command") == 1
        assert value(samples, "incident_bot_commands_total", verb="declare", outcome="ok") == 1
    finally:
        h.close()
