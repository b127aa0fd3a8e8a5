"""Every verb is accounted for once: parsed, routed to one use case, and decided if it changes an incident."""

from __future__ import annotations

import pytest

from bot.core.commands import INCIDENT_VERBS, NO_INCIDENT_VERBS, USAGE, VERBS, Command
from bot.core.decide import HANDLERS
from bot.core.routing import Route, route

READS = {"status"}  # verbs about one incident that only read it (action list is a sub-command)
# Verbs that append to an incident but are decided with more than its log and the policy: `page`
# needs who is on call now (bot.core.paging.decide_manual_page), so it has its own route.
# `statuspage` appends nothing itself: it opens the publish modal, whose submission is decided.
# `runbook` is decided with the runbooks folder (bot.core.runbook_decide.decide_attach); without a
# name it only lists them (Route.RUNBOOKS), with one it attaches it (Route.RUNBOOK).
OWN_ROUTES = {"page": Route.PAGE, "statuspage": Route.STATUSPAGE, "runbook": Route.RUNBOOKS}


def test_runbook_with_a_name_attaches_and_without_one_lists():
    assert route(Command(verb="runbook", text="high-error-rate"), lambda: 7) == route(
        Command(verb="runbook", incident=7, text="high-error-rate"), lambda: None
    )
    assert route(Command(verb="runbook", text="x"), lambda: 7).route is Route.RUNBOOK
    assert route(Command(verb="runbook"), lambda: None).route is Route.RUNBOOKS


def test_each_verb_is_either_about_one_incident_or_about_none():
    assert set(NO_INCIDENT_VERBS) | INCIDENT_VERBS == set(VERBS) == set(USAGE)
    assert not set(NO_INCIDENT_VERBS) & INCIDENT_VERBS


def test_every_verb_that_changes_an_incident_has_exactly_one_decision():
    """`decide` knows each verb that appends to a log, and no other."""
    assert set(HANDLERS) == INCIDENT_VERBS - READS - set(OWN_ROUTES)


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_routes_to_one_use_case(verb):
    """Inside an incident channel each verb reaches a use case; the incident-less ones need none."""
    routed = route(Command(verb=verb, sub="add" if verb == "action" else None), lambda: 7)
    if verb in NO_INCIDENT_VERBS:
        assert routed == route(Command(verb=verb), lambda: None) and routed.incident is None
    else:
        assert routed.incident == 7
        assert routed.route is (Route.STATUS if verb in READS else OWN_ROUTES.get(verb, Route.CHANGE))
