"""Publishing to the status page, in the core: who may, what one publication holds (every affected
component as it stands after it), what resolving publishes, the forms' rules, and `impact_of`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core import events as ev
from bot.core import forms, publish
from bot.core.commands import Command
from bot.core.decide import NotAllowed, decide
from bot.core.errors import FormErrors, UserError
from bot.core.events import ComponentStatus
from bot.core.policy import Policy
from bot.core.state import replay
from bot.core.status_page import Component, StatusPageConfig, impact_of
from tests.events import E

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)
PAGE = StatusPageConfig(
    title="Example",
    components=(Component("API", ("checkout-api",)), Component("Dashboard"), Component("Docs")),
)
POLICY = Policy(status_page=PAGE)


def state(*steps, private=False):
    declared = {"title": "db-7 INTERNAL", "severity": "sev1", "commander": "U0ALICE", "private": private}
    events = [E(1, 1, ev.IncidentDeclared.TYPE, "U0ALICE", T0, declared)]
    for i, (kind, actor, data) in enumerate(steps, 2):
        events.append(E(1, i, kind.TYPE, actor, T0 + timedelta(minutes=i), data))
    return replay(events)


def published(status="identified", **components):
    data = {
        "public_title": "Checkout is slow",
        "message": "Looking into it",
        "status": status,
        "components": [{"component": n, "status": s} for n, s in components.items()],
    }
    return (ev.StatusPagePublished, "U0ALICE", data)


def choice(status="identified", title=None, **components):
    return publish.PublicChoice("m", status, components, public_title=title)


@pytest.mark.parametrize(
    ("statuses", "impact"),
    [
        ((), "none"),
        (("operational", "operational"), "none"),
        (("operational", "degraded_performance"), "minor"),
        (("degraded_performance", "partial_outage"), "major"),
        (("partial_outage", "major_outage", "operational"), "critical"),
        (("major_outage",), "critical"),
    ],
)
def test_impact_is_the_worst_component_status(statuses, impact):
    components = [ComponentStatus(f"c{i}", s) for i, s in enumerate(statuses)]
    assert impact_of(components) == impact


def test_impact_refuses_what_is_not_a_component_status():
    """A severity name is not a component status: impact never comes from our severities."""
    with pytest.raises(ValueError, match="sev1"):
        impact_of([ComponentStatus("API", "sev1")])


def test_the_commander_or_comms_may_publish_and_anyone_with_publish_by_anyone():
    s = state((ev.RoleAssigned, "U0ALICE", {"role": "comms", "user": "U0BOB"}))
    assert publish.may_publish(s, "U0ALICE", PAGE) and publish.may_publish(s, "U0BOB", PAGE)
    assert not publish.may_publish(s, "U0CAROL", PAGE)
    assert publish.may_publish(
        s, "U0CAROL", StatusPageConfig(components=PAGE.components, publish_by="anyone")
    )
    with pytest.raises(NotAllowed):
        publish.check_may_publish(s, "U0CAROL", POLICY)


def test_without_components_there_is_nothing_to_publish_to():
    with pytest.raises(UserError) as refused:
        publish.check_may_publish(state(), "U0ALICE", Policy())
    assert refused.value.reply.key == "status_page_off"


def test_a_publication_holds_every_affected_component_as_it_stands_after_it():
    """Components not operational now, and those affected before (their return to operational
    said); untouched ones keep their status; never-affected operational ones are left out."""
    first = publish.publication(
        state(), choice(title="T", API="partial_outage", Dashboard="operational"), PAGE
    )
    assert first.components == (ComponentStatus("API", "partial_outage"),)
    s = state(published(API="partial_outage", Dashboard="degraded_performance"))
    later = publish.publication(s, choice(API="operational"), PAGE)
    assert later.public_title == "Checkout is slow"  # kept when the form has no title
    assert later.components == (
        ComponentStatus("API", "operational"),
        ComponentStatus("Dashboard", "degraded_performance"),
    )


def test_a_publication_needs_a_public_title_never_the_internal_one():
    with pytest.raises(UserError) as refused:
        publish.publication(state(), choice(), PAGE)
    assert refused.value.reply.key == "status_page_not_published"


def test_publishing_the_same_submitted_view_twice_records_it_once():
    s = state()
    decision = publish.decide_publish(s, choice(title="T"), "U0ALICE", T0, POLICY, "view:V1")
    (event,) = decision.events
    assert event.payload.source == "view:V1" and event.actor == "U0ALICE"
    again = state(
        (
            ev.StatusPagePublished,
            "U0ALICE",
            {"public_title": "T", "message": "m", "status": "x", "source": "view:V1"},
        )
    )
    assert publish.decide_publish(again, choice(title="T"), "U0ALICE", T0, POLICY, "view:V1").events == []


def test_resolving_a_published_incident_closes_it_publicly_with_components_operational():
    s = state(published(API="partial_outage", Docs="major_outage"))
    resolved = decide(s, Command("resolve", incident=1, text="db-7 fixed"), "U0ALICE", T0, POLICY)
    decision = publish.with_public_closing(s, resolved, "All good.", "U0ALICE", T0, None)
    kinds = [type(e.payload) for e in decision.events]
    assert kinds == [ev.IncidentResolved, ev.StatusPagePublished]
    closing = decision.events[1].payload
    assert closing == ev.StatusPagePublished(
        public_title="Checkout is slow",
        message="All good.",
        status="resolved",
        components=(ComponentStatus("API", "operational"), ComponentStatus("Docs", "operational")),
    )
    assert decision.reply is not None and decision.reply.key == "resolved_and_published"


def test_nothing_is_closed_publicly_that_was_never_published_or_already_resolved():
    for s in (state(), state(published(status="resolved"))):
        resolved = decide(s, Command("resolve", incident=1, text="fixed"), "U0ALICE", T0, POLICY)
        assert publish.with_public_closing(s, resolved, "m", "U0ALICE", T0, None) == resolved


def test_the_update_modal_may_publish_only_for_who_may():
    s = state(published(API="partial_outage"))
    update = decide(s, Command("update", incident=1, text="x"), "U0CAROL", T0, POLICY)
    with pytest.raises(FormErrors) as refused:
        publish.with_update_publication(s, update, choice(), "U0CAROL", T0, POLICY, "view:V")
    assert set(refused.value.errors) == {"also_publish"}
    mine = publish.with_update_publication(s, update, choice(), "U0ALICE", T0, POLICY, "view:V")
    assert [type(e.payload) for e in mine.events] == [ev.StatusUpdated, ev.StatusPagePublished]


def test_public_text_is_kept_as_typed_and_mistakes_are_named_by_field():
    """Public text is not escaped for Slack (customers read it as typed); a wrong status or
    component status, a missing title or message, is an inline error on that field."""
    got = forms.publish_form(
        {
            "public_title": "  Checkout   & <slow> ",
            "public_message": "A & B <c>",
            "public_status": "identified",
            "component:API": "major_outage",
        }
    )
    assert got == publish.PublicChoice(
        "A & B <c>", "identified", {"API": "major_outage"}, "Checkout & <slow>"
    )
    with pytest.raises(FormErrors) as bad:
        forms.publish_form({"public_status": "sev1", "component:API": "down"})
    assert set(bad.value.errors) == {"public_title", "public_message", "public_status", "component:API"}
    with pytest.raises(FormErrors) as control:
        forms.publish_form({"public_title": "T\x00", "public_message": "m", "public_status": "identified"})
    assert set(control.value.errors) == {"public_title"}


def test_the_update_form_publishes_only_when_its_box_is_ticked():
    form = {"message": "x", "public_message": "Public", "public_status": "monitoring"}
    assert forms.update_publication(form) is None
    ticked = forms.update_publication({**form, "also_publish": ["publish"]})
    assert ticked == publish.PublicChoice("Public", "monitoring", {})
    with pytest.raises(FormErrors):
        forms.update_publication({"also_publish": ["publish"], "public_status": "monitoring"})


def test_the_closing_message_is_required_when_the_resolve_modal_asked_for_it():
    assert forms.closing_message({"summary": "s"}, default="Template") == "Template"
    assert forms.closing_message({"public_message": " Done. "}, default="Template") == "Done."
    with pytest.raises(FormErrors):
        forms.closing_message({"public_message": ""}, default="Template")
