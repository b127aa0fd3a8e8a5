"""The public view's computations (bot/core/public_view.py), without HTTP, database or clock:
component state over time, the 90-day bars, the indicator, the incidents and their public ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core import events as ev
from bot.core import public_view as pv
from bot.core.status_page import Component, StatusPageConfig
from tests.events import E

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CONFIG = StatusPageConfig(
    title="Example Inc. status", components=(Component("API", ("checkout-api",)), Component("Dashboard"))
)


def pub(
    incident,
    seq,
    at,
    status="investigating",
    title="Checkout is slow",
    message="We are looking",
    **components,
):
    data = {
        "public_title": title,
        "message": message,
        "status": status,
        "components": [{"component": name, "status": state} for name, state in components.items()],
    }
    return E(incident, seq, ev.StatusPagePublished.TYPE, "U0ALICE", at, data)


def view(*publications, now=NOW, config=CONFIG):
    return pv.build_view(config, list(publications), now)


def bars(view_, name):
    return {bar.day: bar.status for bar in next(c for c in view_.components if c.name == name).days}


def test_nothing_published_is_all_operational_with_ninety_green_days():
    """No publication: every component operational, indicator none, 90 bars ending today."""
    v = view()
    assert v.indicator == "none" and v.incidents == () and v.updated_at is None
    assert [c.name for c in v.components] == ["API", "Dashboard"]
    for component in v.components:
        assert component.status == "operational"
        assert len(component.days) == pv.HISTORY_DAYS
        assert component.days[-1].day == NOW.date()
        assert component.days[0].day == NOW.date() - timedelta(days=89)
        assert {d.status for d in component.days} == {"operational"}


@pytest.mark.parametrize(
    ("states", "indicator"),
    [
        ({}, "none"),
        ({"API": "operational"}, "none"),
        ({"API": "degraded_performance"}, "minor"),
        ({"API": "degraded_performance", "Dashboard": "partial_outage"}, "major"),
        ({"API": "major_outage", "Dashboard": "degraded_performance"}, "critical"),
    ],
)
def test_the_indicator_follows_the_worst_current_component_state(states, indicator):
    """none/minor/major/critical from operational/degraded/partial/major, the worst one counting."""
    v = view(pub(1, 5, NOW - timedelta(hours=1), **states))
    assert v.indicator == indicator
    assert v.incidents[0].impact == indicator


def test_a_later_publication_replaces_the_incidents_component_states():
    """The latest publication of an incident is its state: a component it no longer names is
    operational again, and the title and status are the latest ones."""
    v = view(
        pub(1, 3, NOW - timedelta(hours=2), API="major_outage", Dashboard="partial_outage"),
        pub(
            1,
            6,
            NOW - timedelta(hours=1),
            status="identified",
            title="Checkout errors",
            Dashboard="degraded_performance",
        ),
    )
    states = {c.name: c.status for c in v.components}
    assert states == {"API": "operational", "Dashboard": "degraded_performance"}
    incident = v.incidents[0]
    assert (incident.name, incident.status) == ("Checkout errors", "identified")
    assert incident.impact == "critical"  # the worst it ever published
    assert incident.current == (("Dashboard", "degraded_performance"),)
    assert [u.status for u in incident.updates] == ["identified", "investigating"]  # newest first
    first_change = incident.updates[0].affected
    assert {(a.name, a.old_status, a.new_status) for a in first_change} == {
        ("API", "major_outage", "operational"),
        ("Dashboard", "partial_outage", "degraded_performance"),
    }


def test_resolving_ends_the_effect_and_sets_resolved_at():
    """A resolved publication puts its components back to operational and closes the incident."""
    resolved_at = NOW - timedelta(minutes=10)
    v = view(
        pub(1, 2, NOW - timedelta(hours=1), API="partial_outage"),
        pub(1, 4, NOW - timedelta(minutes=30), status="monitoring", API="degraded_performance"),
        pub(1, 5, resolved_at, status="resolved", message="Fixed", API="operational"),
    )
    assert v.indicator == "none" and v.open_incidents == ()
    incident = v.incidents[0]
    assert incident.resolved_at == resolved_at and incident.monitoring_at == NOW - timedelta(minutes=30)
    assert incident.current == () and incident.impact == "major"
    assert v.components[0].updated_at == resolved_at


def test_two_open_incidents_the_worst_state_wins_and_each_is_listed():
    """Two incidents holding one component: its state is the worst of the two."""
    v = view(
        pub(1, 2, NOW - timedelta(hours=3), API="degraded_performance"),
        pub(2, 2, NOW - timedelta(hours=2), title="Login fails", API="major_outage"),
    )
    assert v.components[0].status == "major_outage"
    assert [i.name for i in v.open_incidents] == ["Login fails", "Checkout is slow"]  # newest first


def test_components_the_config_no_longer_names_are_left_out():
    """A publication naming a component since removed from the config changes nothing shown."""
    v = view(pub(1, 2, NOW - timedelta(hours=1), Search="major_outage"))
    assert v.indicator == "none" and v.incidents[0].components == ()


def test_each_day_bar_is_the_worst_state_that_day_including_days_in_between():
    """A partial outage from day -3 to day -1 (morning) with a major outage on day -2 for an hour:
    bars -3 partial, -2 major, -1 partial, today operational; before: operational."""
    day = lambda n: datetime.combine(NOW.date() - timedelta(days=n), datetime.min.time(), tzinfo=UTC)  # noqa: E731
    v = view(
        pub(1, 2, day(3) + timedelta(hours=22), API="partial_outage"),
        pub(1, 3, day(2) + timedelta(hours=10), status="identified", API="major_outage"),
        pub(1, 4, day(2) + timedelta(hours=11), status="identified", API="partial_outage"),
        pub(1, 5, day(1) + timedelta(hours=6), status="resolved"),
    )
    api = bars(v, "API")
    d = lambda n: NOW.date() - timedelta(days=n)  # noqa: E731
    assert [api[d(n)] for n in (4, 3, 2, 1, 0)] == [
        "operational",
        "partial_outage",
        "major_outage",
        "partial_outage",
        "operational",
    ]
    assert set(bars(v, "Dashboard").values()) == {"operational"}
    marked = {b.day: b.incidents for b in v.components[0].days if b.incidents}
    assert set(marked) == {d(3), d(2), d(1)} and {len(ids) for ids in marked.values()} == {1}


def test_an_incident_still_open_colours_every_day_up_to_today():
    """An open outage from 5 days ago colours 5 days ago through today."""
    v = view(pub(1, 2, NOW - timedelta(days=5), API="degraded_performance"))
    api = bars(v, "API")
    assert [api[NOW.date() - timedelta(days=n)] for n in range(7)] == ["degraded_performance"] * 6 + [
        "operational"
    ]


def test_bars_keep_only_ninety_days():
    """Something published 100 days ago and resolved 95 days ago leaves no trace on the bars, and the
    incident is out of the 90-day history but still in the list of all incidents."""
    v = view(
        pub(1, 2, NOW - timedelta(days=100), API="major_outage"),
        pub(1, 3, NOW - timedelta(days=95), status="resolved"),
    )
    assert set(bars(v, "API").values()) == {"operational"}
    assert v.history == () and len(v.incidents) == 1


def test_an_open_incident_older_than_ninety_days_stays_in_the_history():
    """History holds everything updated in 90 days and every open incident, however old."""
    v = view(pub(1, 2, NOW - timedelta(days=120), API="partial_outage"))
    assert len(v.history) == 1 and v.components[0].status == "partial_outage"
    assert set(bars(v, "API").values()) == {"partial_outage"}


def test_public_ids_are_stable_and_do_not_show_the_incident_number():
    """The id comes from the first publication; later publications keep it; it has Statuspage's
    shape and does not contain the incident number; another incident gets another id."""
    first = pub(42, 7, NOW - timedelta(hours=1), API="partial_outage")
    one = view(first).incidents[0].id
    later = view(first, pub(42, 9, NOW, status="resolved")).incidents[0].id
    other = view(pub(43, 7, NOW - timedelta(hours=1), API="partial_outage")).incidents[0].id
    assert one == later and one != other
    assert len(one) == 12 and one.isalnum() and one == one.lower() and "42" not in one
    assert view(first).incident(one) is not None and view(first).incident("nope") is None


def test_a_reopened_incident_holds_its_components_again():
    """Resolved, then published again as investigating: the component is degraded again."""
    v = view(
        pub(1, 2, NOW - timedelta(hours=3), API="partial_outage"),
        pub(1, 3, NOW - timedelta(hours=2), status="resolved"),
        pub(1, 4, NOW - timedelta(hours=1), API="degraded_performance"),
    )
    assert v.components[0].status == "degraded_performance" and v.incidents[0].resolved_at is None


def test_worst_and_impact_of_statuses():
    """The order operational < degraded_performance < partial_outage < major_outage."""
    assert pv.worst([]) == "operational"
    assert pv.worst(["partial_outage", "degraded_performance"]) == "partial_outage"
    assert pv.impact_of_statuses(["operational"]) == "none"
    assert pv.impact_of_statuses(["major_outage", "operational"]) == "critical"
    assert pv.worst(["no-such-status"]) == "operational" and pv.impact_of_statuses(["odd"]) == "none"
