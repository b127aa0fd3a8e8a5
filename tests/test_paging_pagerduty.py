"""Pages also go to PagerDuty (Events API v2) when PAGERDUTY_ROUTING_KEY is set: trigger with the
incident key as dedup_key, then acknowledge or resolve; throttling and outages are retried later
from the log, never lost and never doubled. Against the strict fake in tests/fake_pagerduty.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core import events as ev
from bot.server import build_bot
from tests.clock import DrivenClock
from tests.fake_pagerduty import FakePagerDuty
from tests.harness import ALICE, BOB, start_harness
from tests.test_manifest import manifest_bot_scopes
from tests.test_paging_http import DAVE, T0, M, beat_at, levels, paging_policy

KEY = "R0utingKeyOfTheTestIntegration42"


@pytest.fixture
def clock():
    return DrivenClock(T0)


@pytest.fixture
def pd():
    with FakePagerDuty(routing_keys=[KEY]) as fake:
        yield fake


@pytest.fixture
def h(database_url, clock, pd):
    """The paging harness, restarted with PagerDuty configured (settings as serve reads them)."""
    harness = start_harness(database_url, manifest_bot_scopes(), policy=paging_policy(), clock=clock)
    harness.slack.add_user(DAVE, "dave")
    harness.bot.close()
    settings = replace(harness.bot.settings, pagerduty_routing_key=KEY, pagerduty_events_url=pd.url)
    harness.bot = build_bot(settings, clock=clock)
    harness.server.stop()
    from bot.server import ServerThread
    from tests.interaction_sender import InteractionSender

    harness.server = ServerThread(harness.bot.wsgi).start()
    harness.sender = InteractionSender(f"{harness.server.url}/slack/events", settings.signing_secret)
    yield harness
    harness.close()


def actions(pd) -> list[tuple[str, str]]:
    return [(e["event_action"], e["dedup_key"]) for e in pd.events]


def test_a_page_triggers_pagerduty_and_an_ack_acknowledges_it(h, clock, pd):
    h.command("declare sev1 Checkout is down")
    h.settle()
    assert actions(pd) == [("trigger", "INC-1")]
    trigger = pd.events[0]
    assert (
        "Checkout is down" in trigger["payload"]["summary"] and trigger["payload"]["severity"] == "critical"
    )
    assert pd.alert("INC-1").status == "triggered"
    beat_at(h, clock, 5 * M)  # level 2: another trigger on the same alert
    assert actions(pd) == [("trigger", "INC-1"), ("trigger", "INC-1")]
    h.command("ack INC-1", user=DAVE)
    h.settle()
    beat_at(h, clock, 6 * M)
    assert actions(pd)[-1] == ("acknowledge", "INC-1")
    assert pd.alert("INC-1").status == "acknowledged"
    assert len(pd.alerts("INC-1")) == 1


def test_a_resolve_resolves_the_pagerduty_alert_once(h, clock, pd):
    h.command("declare sev1 Checkout is down")
    h.settle()
    channel = h.incident_channel()
    h.command("resolve Rolled back", user=ALICE, channel=channel)
    h.settle()
    for minutes in (1, 2, 30):
        beat_at(h, clock, minutes * M)
    assert actions(pd) == [("trigger", "INC-1"), ("resolve", "INC-1")]
    assert pd.alert("INC-1").status == "resolved"


def test_throttled_and_failing_pagerduty_is_retried_after_the_delay_never_doubled(h, clock, pd):
    """A 429 then a 500: each is recorded with the time to try again; heartbeats before then do not
    call PagerDuty; the one after sends the trigger once. Slack's DM went out regardless."""
    pd.fail_next(429)
    h.command("declare sev1 Checkout is down")
    h.settle()
    assert actions(pd) == [] and len(pd.requests) == 1
    deferred = [e.payload for e in h.bot.store.load(1) if isinstance(e.payload, ev.PagerDutyDeferred)]
    assert len(deferred) == 1 and deferred[0].attempt == 1
    wait = deferred[0].retry_at - T0
    assert wait >= 30 * M / 60  # throttled: PagerDuty's back-off starts at 30 s
    assert h.slack.dm(BOB) is not None  # the Slack page did not wait for PagerDuty
    beat_at(h, clock, wait / 2)
    assert len(pd.requests) == 1  # not before the delay
    pd.fail_next(500)
    beat_at(h, clock, wait)
    assert len(pd.requests) == 2 and actions(pd) == []
    again = [e.payload for e in h.bot.store.load(1) if isinstance(e.payload, ev.PagerDutyDeferred)][-1]
    assert again.attempt == 2
    beat_at(h, clock, again.retry_at - T0)
    beat_at(h, clock, again.retry_at - T0 + M / 2)
    assert actions(pd) == [("trigger", "INC-1")]
    assert levels(h) == [(1, 0, (BOB,))]


def test_private_incidents_never_go_to_pagerduty(h, clock, pd):
    """PagerDuty is a shared place: a private incident's pages stay in Slack DMs."""
    from tests.test_private_incidents_http import declare_private

    number, _ = declare_private(h, title="Leaked credentials", severity="sev1")
    beat_at(h, clock, 5 * M)
    assert levels(h, number)[0] == (1, 0, (BOB,))
    assert pd.requests == []
