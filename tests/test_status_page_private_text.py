"""Nothing internal ever reaches a public surface: incidents full of distinctive internal text
(title, channel, people, notes, customer impact, resolution summary, root cause, severity names,
alert labels), one of them private, published with public text; no public endpoint (every HTML
page, every JSON document, both feeds) contains any of it. The bot is the real one, driven over
signed HTTP, and serves the page next to Slack's endpoint."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.policy import AlertPolicy, Policy, SeverityLevel
from tests.events import data_of
from tests.harness import ALERT_TOKEN, ALICE, BOB, CAROL, ONCALL, start_harness
from tests.status_publications import CONFIG, get, get_json, publish
from tests.test_manifest import manifest_bot_scopes

SEVERITIES = (
    SeverityLevel("krakenalpha", "Zqxsevdesc everything is on fire", (ONCALL,)),
    SeverityLevel("krakenbeta", "Zqxsevdesc minor wobble"),
)
INTERNAL = {
    "title": "ZQXTITLE internal database melt",
    "note": "ZQXNOTE the primary was misconfigured by hand",
    "update": "ZQXUPDATE failover is stuck",
    "impact": "ZQXIMPACT half of the enterprise tenants",
    "resolution": "ZQXRESOLUTION restarted the replica",
    "root_cause": "ZQXROOTCAUSE a cron job dropped the index",
    "private_title": "ZQXPRIVATE secret acquisition leak",
    "alert_summary": "ZQXALERTSUMMARY error budget burn",
    "alert_description": "ZQXALERTIMPACT payments failing in eu-west",
    "alertname": "ZqxAlertNameLabel",
    "instance": "zqx-instance-label-7",
    "severity_names": "krakenalpha krakenbeta zqxsevdesc",
}
PUBLIC = ("Checkout errors", "Payments are slow", "Login trouble")


@pytest.fixture
def h(database_url):
    policy = Policy(
        severities=SEVERITIES,
        default_severity="krakenbeta",
        announcement_channel="#incidents",
        alerts=AlertPolicy(declare={"page": "krakenalpha"}),
        status_page=CONFIG,
    )
    harness = start_harness(database_url, manifest_bot_scopes(), policy=policy)
    yield harness
    harness.close()


def declare_private(h):
    h.command("declare", user=ALICE)
    h.settle()
    form = {
        "title": {"title": {"type": "plain_text_input", "value": INTERNAL["private_title"]}},
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": "krakenalpha"}}},
        "impact": {"impact": {"type": "plain_text_input", "value": INTERNAL["impact"]}},
        "private": {"private": {"type": "checkboxes", "selected_options": [{"value": "private"}]}},
    }
    assert h.sender.view_submission(h.slack.views()[-1], form, user_id=ALICE).status == 200
    h.settle()
    return h.bot.store.heads(limit=1)[0].number


def fire_alert(h):
    body = {
        "version": "4",
        "groupKey": '{}:{alertname="ZqxAlertNameLabel"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "incident-bot",
        "groupLabels": {"alertname": INTERNAL["alertname"]},
        "commonLabels": {"alertname": INTERNAL["alertname"], "severity": "page", "service": "checkout-api"},
        "commonAnnotations": {
            "summary": INTERNAL["alert_summary"],
            "description": INTERNAL["alert_description"],
        },
        "externalURL": "http://alertmanager.example.com:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": INTERNAL["alertname"],
                    "severity": "page",
                    "service": "checkout-api",
                    "instance": INTERNAL["instance"],
                },
                "annotations": {"summary": INTERNAL["alert_summary"]},
                "startsAt": "2026-02-04T14:31:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example.com/graph",
                "fingerprint": "aa11bb22cc33dd44",
            }
        ],
    }
    request = urllib.request.Request(
        f"{h.server.url}/webhooks/alertmanager", data=json.dumps(body).encode(), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {ALERT_TOKEN}")
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    h.settle()
    return int(answer["incident"].removeprefix("INC-"))


def every_public_body(url: str) -> dict[str, str]:
    paths = ["/status", "/status/history", "/history.atom", "/history.rss"]
    paths += [
        f"/api/v2/{n}.json" for n in ("status", "summary", "components", "incidents", "incidents/unresolved")
    ]
    incidents = get_json(f"{url}/api/v2/incidents.json")["incidents"]
    paths += [f"/status/incidents/{i['id']}" for i in incidents]
    bodies = {}
    for path in paths:
        status, _, body = get(url + path)
        assert status == 200, path
        bodies[path] = body.decode()
    return bodies


def test_no_public_endpoint_shows_anything_internal(h):
    """Every internal string stays inside; the public text is all the public surfaces show."""
    h.command(f"declare krakenalpha {INTERNAL['title']}", user=ALICE)
    h.settle()
    one = 1
    inc = h.incident_channel(one)
    h.command(f"role comms <@{BOB}|bob>", channel=inc)
    h.command(f"note {INTERNAL['note']}", channel=inc)
    h.command(f"update identified {INTERNAL['update']}", channel=inc)
    h.settle()
    private = declare_private(h)
    alerted = fire_alert(h)
    now = datetime.now(UTC)
    publish(
        h.bot.store,
        one,
        now - timedelta(minutes=30),
        PUBLIC[0],
        "We see errors at checkout.",
        API="major_outage",
    )
    publish(
        h.bot.store,
        private,
        now - timedelta(minutes=20),
        PUBLIC[1],
        "Payments are slower than usual.",
        Dashboard="degraded_performance",
    )
    publish(
        h.bot.store,
        alerted,
        now - timedelta(minutes=10),
        PUBLIC[2],
        "Some sign-ins fail.",
        actor=CAROL,
        Webhooks="partial_outage",
    )
    h.command(f"resolve {INTERNAL['resolution']}", channel=inc)
    h.command(f"postmortem root-cause {INTERNAL['root_cause']}", channel=inc)
    h.settle()
    publish(
        h.bot.store,
        one,
        now - timedelta(minutes=5),
        PUBLIC[0],
        "Checkout works again.",
        "resolved",
        API="operational",
    )

    channels = [h.bot.service.state_of(n).slack.channel_id for n in (one, private, alerted)]
    internal = [*INTERNAL.values(), *[w for w in INTERNAL["severity_names"].split()]]
    internal += [c for c in channels if c] + [h.slack.channel(c).name for c in channels if c]
    internal += [ALICE, BOB, CAROL, ONCALL, "alice", "carol", "oncall", "INC-1", "INC-2", "INC-3"]
    assert len(set(internal)) > 20
    state = h.bot.service.state_of(one)
    assert state.facts.title == INTERNAL["title"] and state.facts.status == "resolved"
    logged = json.dumps([data_of(e) for n in (one, private, alerted) for e in h.bot.store.load(n)])
    # Every internal string really is in the incidents' logs (the bot keeps no alert label but the
    # group's, so the instance label is only in what Alertmanager sent).
    missing = [k for k, v in INTERNAL.items() if k not in ("severity_names", "instance") and v not in logged]
    assert missing == []

    bodies = every_public_body(h.server.url)
    everything = "\n".join(bodies.values()).lower()
    for title in PUBLIC:  # the page does show what was published: a check that could fail
        assert title.lower() in everything
    assert "checkout works again." in everything and "some sign-ins fail." in everything
    leaks = sorted(
        {(path, s) for path, body in bodies.items() for s in internal if s.lower() in body.lower()}
    )
    assert leaks == []
