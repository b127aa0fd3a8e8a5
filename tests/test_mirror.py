"""The Statuspage mirror's pure rules (bot.core.mirror): what is owed, in order, and what each
request carries, from the log alone."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.mirror import CREATE, UPDATE, mirror_request, statuspage_owed
from bot.core.state import replay
from bot.core.status_page import StatuspageMirror
from tests.events import E

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)
MIRROR = StatuspageMirror("page01", {"API": "cmpapi01", "Dashboard": "cmpdash01"})


def _log(*more):
    declared = {"title": "Zebra internal", "severity": "sev1"}
    events = [E(1, 1, "IncidentDeclared", "U0ALICE", T0, declared)]
    for i, (kind, data) in enumerate(more, 2):
        events.append(E(1, i, kind, "bot", T0, data))
    return replay(events)


def _published(status, *components, message="m"):
    parts = [{"component": c, "status": s} for c, s in components]
    return (
        "StatusPagePublished",
        {"public_title": "T", "message": message, "status": status, "components": parts},
    )


def test_publications_are_owed_one_at_a_time_in_order_create_first():
    state = _log(_published("investigating"), _published("identified"))
    assert statuspage_owed(state) == [(2, CREATE)]
    state = _log(
        _published("investigating"),
        _published("identified"),
        ("StatuspageIncidentCreated", {"for_seq": 2, "incident_id": "sp1"}),
    )
    assert statuspage_owed(state) == [(3, UPDATE)]
    done = _log(
        _published("investigating"),
        ("StatuspageIncidentCreated", {"for_seq": 2, "incident_id": "sp1"}),
        _published("resolved"),
        ("StatuspageUpdated", {"for_seq": 4}),
    )
    assert statuspage_owed(done) == []


def test_a_refused_create_leaves_the_next_publication_to_create():
    state = _log(
        _published("investigating"),
        ("StatuspageCreateAttempted", {"for_seq": 2, "marker": "m1"}),
        ("StatuspageRejected", {"for_seq": 2, "status": 422, "reason": "no"}),
        _published("identified"),
    )
    assert statuspage_owed(state) == [(5, CREATE)]
    assert state.statuspage.create_marker is None


def test_a_request_sends_ids_and_the_resolution_puts_every_named_component_back():
    state = _log(
        _published("investigating", ("API", "partial_outage"), ("Unmapped", "major_outage")),
        _published("identified", ("Dashboard", "degraded_performance")),
        _published("resolved", message="Fixed"),
    )
    first = mirror_request(state, 2, MIRROR)
    assert dict(first.components) == {"cmpapi01": "partial_outage"}  # an unmapped one is not sent
    assert first.component_ids == ["cmpapi01"] and first.impact == "critical"
    second = mirror_request(state, 3, MIRROR)
    assert dict(second.components) == {"cmpdash01": "degraded_performance"}
    last = mirror_request(state, 4, MIRROR)
    assert (last.status, last.body, last.name) == ("resolved", "Fixed", "T")
    assert dict(last.components) == {"cmpapi01": "operational", "cmpdash01": "operational"}
    assert last.impact == "critical"  # the worst it was, kept on Statuspage's history
