"""Alert intake rules without HTTP: classification and what a re-send, a new alert or a resolution does."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from bot.core import events as ev
from bot.core.alerts import BadPayload, decide_alerts, incident_fields, parse_webhook
from bot.core.events import Event
from bot.core.policy import AlertPolicy
from bot.core.state import replay
from tests.events import E, data_of
from tests.test_alert_intake_http import FIRING

NOW = datetime(2026, 2, 4, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("label", "action"),
    [("page", "declare"), ("critical", "declare"), ("warning", "triage"), ("info", "record"), ("", "record")],
)
def test_classification_pages_only_for_customer_impact(label, action):
    """page/critical declare, warning makes a ticket, the rest is recorded."""
    assert AlertPolicy().classify(label) == action


def incident_from(group):
    fields = incident_fields(group, "sev1")
    declared = ev.IncidentDeclared(commander="", **fields)
    return [Event(1, 1, "alertmanager", NOW, declared)]


def test_resend_changes_nothing_new_alert_joins_resolution_is_noted_once():
    """The decision table for an open incident declared from a group."""
    group = parse_webhook(FIRING)
    events = incident_from(group)
    assert decide_alerts(replay(events), group, NOW) == []
    grown = copy.deepcopy(FIRING)
    grown["alerts"].append({**FIRING["alerts"][0], "fingerprint": "other"})
    (joined,) = decide_alerts(replay(events), parse_webhook(grown), NOW)
    assert joined.type == ev.AlertsFiring.TYPE and data_of(joined)["fingerprints"] == ["other"]
    resolved = copy.deepcopy(FIRING)
    resolved["status"] = "resolved"
    resolved["alerts"][0]["status"] = "resolved"
    noted = decide_alerts(replay(events), parse_webhook(resolved), NOW)
    assert [e.type for e in noted] == [ev.AlertsResolved.TYPE, ev.StatusUpdated.TYPE]
    for i, e in enumerate(noted, 2):
        events.append(E(1, i, e.type, e.actor, e.at, data_of(e)))
    assert decide_alerts(replay(events), parse_webhook(resolved), NOW) == []
    (again,) = decide_alerts(replay(events), group, NOW)  # it fired again: news
    assert again.type == ev.AlertsFiring.TYPE


def test_detection_time_and_links_come_from_the_group():
    """startsAt (earliest) is the detection time; runbook and dashboard annotations become links."""
    fields = incident_fields(parse_webhook(FIRING), "sev1")
    assert fields["impact_started_at"] == datetime(2026, 2, 4, 14, 31, tzinfo=UTC)
    assert fields["alert"].runbook == "https://runbooks.example.com/high-error-rate"
    assert fields["service"] == "api"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "must be a JSON object"),
        ({**FIRING, "status": "pending"}, "status must be firing or resolved"),
        ({**FIRING, "alerts": [{**FIRING["alerts"][0], "startsAt": "yesterday"}]}, "not a timestamp"),
    ],
)
def test_bad_payloads_name_the_problem(body, reason):
    """Each validation failure says what is wrong."""
    with pytest.raises(BadPayload, match=reason):
        parse_webhook(body)
