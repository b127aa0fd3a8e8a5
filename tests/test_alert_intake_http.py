"""Alertmanager webhook intake over HTTP: auth, validation, one incident per group, triage, record."""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.core import events as ev
from bot.render import ids
from tests.events import data_of
from tests.harness import ALERT_TOKEN, ONCALL, start_harness
from tests.test_manifest import manifest_bot_scopes

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "alertmanager" / "webhook_v4.firing.json"
FIRING = {
    "version": "4",
    "groupKey": '{}:{alertname="ServiceDegraded", service="api"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "incident-bot",
    "groupLabels": {"alertname": "ServiceDegraded", "service": "api"},
    "commonLabels": {"alertname": "ServiceDegraded", "service": "api", "severity": "page"},
    "commonAnnotations": {
        "summary": "api error rate >5% for 5min",
        "description": "Current error rate: 7.3%",
        "runbook": "https://runbooks.example.com/high-error-rate",
        "dashboard": "https://grafana.example.com/d/service?var-service=api",
    },
    "externalURL": "http://alertmanager.example.com:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "ServiceDegraded",
                "service": "api",
                "severity": "page",
                "instance": "api-1",
            },
            "annotations": {"summary": "api error rate >5% for 5min"},
            "startsAt": "2026-02-04T14:31:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com/graph",
            "fingerprint": "c6a6b4d3a2f1e0b9",
        }
    ],
}


@pytest.fixture
def h(database_url):
    harness = start_harness(database_url, manifest_bot_scopes())
    yield harness
    harness.close()


def post(h, body, token=ALERT_TOKEN, raw: bytes | None = None):
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(f"{h.server.url}/webhooks/alertmanager", data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    h.settle()
    return status, json.loads(payload) if payload else {}


def test_the_recorded_sample_parses_as_this_test_expects():
    """The test payload matches the shape of the sample in ../shared (when present)."""
    if SAMPLE.exists():
        sample = json.loads(SAMPLE.read_text())
        assert set(sample) == set(FIRING) and set(sample["alerts"][0]) == set(FIRING["alerts"][0])


def test_a_paging_group_declares_one_incident_with_runbook_and_dashboard(h):
    """severity=page declares: title from summary, service from labels, startsAt as detection time."""
    status, body = post(h, FIRING)
    assert (status, body) == (200, {"ok": True, "action": "declare", "incident": "INC-1"})
    state = h.bot.service.state_of(1)
    assert (state.facts.title, state.facts.severity, state.facts.service) == (
        "api error rate &gt;5% for 5min",  # kept the way Slack sends typed text: `>` escaped
        "sev1",
        "api",
    )
    assert state.facts.impact_started_at.isoformat() == "2026-02-04T14:31:00+00:00"
    assert state.facts.impact == "Current error rate: 7.3%"
    assert state.commander == ONCALL  # the severity's first responder; no person declared it
    channel = h.slack.channel(state.slack.channel_id)
    assert channel.name == "inc-1-api-error-rate-5-for-5min" and ONCALL in channel.members
    actions = next(b for b in channel.messages[0].blocks if b["type"] == "actions")["elements"]
    urls = {e["action_id"]: e.get("url") for e in actions}
    assert urls[ids.RUNBOOK] == "https://runbooks.example.com/high-error-rate"
    assert urls[ids.DASHBOARD].startswith("https://grafana.example.com/")


def test_resends_never_open_a_second_incident_and_new_alerts_join_the_timeline(h):
    """The same group re-sent (group_interval, repeat_interval, retries) stays one incident."""
    post(h, FIRING)
    post(h, FIRING)
    grown = copy.deepcopy(FIRING)
    second = copy.deepcopy(FIRING["alerts"][0])
    second.update(fingerprint="d7b7c5e4b3a2f1c0", labels={**second["labels"], "instance": "api-2"})
    grown["alerts"].append(second)
    status, body = post(h, grown)
    assert body["incident"] == "INC-1"
    post(h, grown)
    assert len(h.bot.store.heads()) == 1
    joined = [e for e in h.bot.store.load(1) if e.type == ev.AlertsFiring.TYPE]
    assert [data_of(e)["fingerprints"] for e in joined] == [["d7b7c5e4b3a2f1c0"]]
    assert any("more alert(s) joined" in m.text for m in h.slack.channel(h.incident_channel()).messages)


def test_a_resolved_group_is_noted_and_moves_an_untouched_incident_to_monitoring(h):
    """Resolution is noted in the channel; with no human action yet, the status becomes monitoring."""
    post(h, FIRING)
    resolved = copy.deepcopy(FIRING)
    resolved["status"] = "resolved"
    resolved["alerts"][0].update(status="resolved", endsAt="2026-02-04T15:02:00Z")
    post(h, resolved)
    post(h, resolved)
    state = h.bot.service.state_of(1)
    assert state.facts.status == "monitoring" and not state.is_resolved
    types = [e.type for e in h.bot.store.load(1)]
    assert types.count(ev.AlertsResolved.TYPE) == 1
    assert any(
        "every alert of the group resolved" in m.text
        for m in h.slack.channel(state.slack.channel_id).messages
    )


def test_a_human_touch_keeps_the_status_when_alerts_resolve(h):
    """Once someone acted, resolution is only noted; people decide the status."""
    post(h, FIRING)
    h.command("update identified Bad deploy", channel=h.incident_channel(), user=ONCALL)
    resolved = copy.deepcopy(FIRING)
    resolved["status"] = "resolved"
    post(h, resolved)
    assert h.bot.service.state_of(1).facts.status == "identified"


def test_warning_goes_to_triage_and_info_is_only_recorded(h):
    """Ticket-grade alerts are posted to the triage channel; info alerts are logged, nothing else."""
    warning = copy.deepcopy(FIRING)
    warning["commonLabels"]["severity"] = "warning"
    assert post(h, warning)[1] == {"ok": True, "action": "triage"}
    h.bot.listeners.wait_idle(10)
    triage = h.slack.channel_by_name("alerts-triage").messages
    assert len(triage) == 1 and "api error rate &gt;5% for 5min" in triage[0].text
    info = copy.deepcopy(FIRING)
    info["commonLabels"]["severity"] = "info"
    assert post(h, info)[1] == {"ok": True, "action": "record"}
    assert h.bot.store.heads() == []
    assert [(r.action, r.severity) for r in h.bot.store.alert_log()] == [
        ("triage", "warning"),
        ("record", "info"),
    ]


@pytest.mark.parametrize(
    ("raw", "status", "reason"),
    [
        (b"not json", 400, "body is not JSON"),
        (json.dumps({**FIRING, "version": "3"}).encode(), 400, "unsupported webhook version '3'"),
        (
            json.dumps({k: v for k, v in FIRING.items() if k != "groupKey"}).encode(),
            400,
            "missing field 'groupKey'",
        ),
        (json.dumps({**FIRING, "alerts": []}).encode(), 400, "alerts must be a non-empty list"),
        (
            json.dumps({**FIRING, "alerts": [{"status": "firing"}]}).encode(),
            400,
            "alerts[0] is missing 'labels'",
        ),
        (b"x" * (10 * 1024 * 1024), 413, "body must be at most"),
    ],
)
def test_bad_payloads_get_a_4xx_with_a_reason_and_change_nothing(h, raw, status, reason):
    """Not JSON, wrong version, missing fields, a 10 MB body: 4xx with the reason; nothing stored."""
    got, body = post(h, None, raw=raw)
    assert got == status and reason in body["error"]
    assert h.bot.store.heads() == [] and h.bot.store.alert_log() == []


def test_missing_or_wrong_token_is_401(h):
    """The bearer token is required."""
    assert post(h, FIRING, token=None)[0] == 401
    assert post(h, FIRING, token="nope")[0] == 401
    assert h.bot.store.heads() == []
