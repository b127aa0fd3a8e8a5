"""Every publication is mirrored to Statuspage.io (Manage API v1) when status_page.statuspage and
STATUSPAGE_API_KEY are set: the first creates the incident, later ones update it, a resolution puts
the components back to operational; throttling is retried after a back-off, never doubled, across
restarts and replicas; requests a second apart; only the publication's public fields are sent.
Against the strict fake in tests/fake_statuspage.py. Publications are appended to the log directly
(as the publish modal does) until the Slack side lands."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.core import events as ev
from bot.core.events import NewEvent
from bot.core.status_page import Component, StatusPageConfig, StatuspageMirror
from bot.server import ServerThread, build_bot
from bot.statuspage import Pacer, StatuspageClient
from tests.clock import DrivenClock
from tests.fake_statuspage import FakeStatuspage
from tests.harness import ALICE, BOB, SYNC_TIMEOUT, start_harness, team_policy
from tests.interaction_sender import InteractionSender
from tests.test_manifest import manifest_bot_scopes
from tests.test_paging_http import T0, beat

KEY = "spk-Zq8vT0pS3cretStatuspageKey-5521"
PAGE = "kctbh9vrtdwd"
IDS = {"API": "8kbf7d35c070", "Dashboard": "vtnh60py4yd7"}
API, DASHBOARD = IDS["API"], IDS["Dashboard"]
S = timedelta(seconds=1)
TITLE = "Checkout errors"


def mirror_policy():
    page = StatusPageConfig(
        title="Example Inc. status",
        components=(Component("API", ("checkout-api",)), Component("Dashboard")),
        statuspage=StatuspageMirror(PAGE, IDS),
    )
    return team_policy(status_page=page)


def mirror_bot(settings, sp, clock, *, interval: float = 0.01):
    """A bot as `serve` builds it with STATUSPAGE_API_KEY and STATUSPAGE_API_URL set; its pacer
    fast unless a test measures pacing."""
    settings = replace(settings, statuspage_api_key=KEY, statuspage_api_url=sp.url)
    bot = build_bot(settings, clock=clock)
    bot.service.slack.statuspage.pacer = Pacer(interval)
    return bot


@pytest.fixture
def clock():
    return DrivenClock(T0)


@pytest.fixture
def sp():
    with FakeStatuspage(KEY, PAGE, {i: n for n, i in IDS.items()}) as fake:
        yield fake


@pytest.fixture
def h(database_url, clock, sp):
    harness = start_harness(database_url, manifest_bot_scopes(), policy=mirror_policy(), clock=clock)
    harness.bot.close()
    harness.bot = mirror_bot(harness.bot.settings, sp, clock)
    harness.server.stop()
    harness.server = ServerThread(harness.bot.wsgi).start()
    harness.sender = InteractionSender(
        f"{harness.server.url}/slack/events", harness.bot.settings.signing_secret
    )
    yield harness
    harness.close()


def publish(bot, status, message, components=(), *, title=TITLE, number=1, sync=True):
    """What the publish modal records: exactly what goes public; then the sync it asks for."""
    published = ev.StatusPagePublished(
        public_title=title,
        message=message,
        status=status,
        components=tuple(ev.ComponentStatus(name, s) for name, s in components),
    )
    bot.service._append_decided(number, lambda state: [NewEvent(ALICE, bot.service.clock(), published)])
    if sync:
        bot.queue.request(number)
        assert bot.wait_idle(SYNC_TIMEOUT)


def mirror_events(bot, number=1):
    return [e.payload for e in bot.store.load(number, ev.STATUSPAGE_TYPES)]


def methods(sp):
    return [(r.method, r.status) for r in sp.requests]


def declare(h):
    h.command("declare sev1 Zebra-internal-title-4471 payments db on fire", user=ALICE)
    h.settle()


def test_a_publication_creates_the_incident_later_ones_update_it_and_resolve_restores_components(h, sp):
    declare(h)
    assert sp.requests == []  # nothing is public until a person publishes
    publish(h.bot, "investigating", "Some payments fail.", [("API", "partial_outage")])
    (incident,) = sp.incidents
    assert (incident.name, incident.status, incident.impact) == (TITLE, "investigating", "major")
    assert incident.updates[0].body == "Some payments fail."
    assert sp.component_status(API) == "partial_outage" and sp.component_status(DASHBOARD) == "operational"
    publish(
        h.bot, "identified", "Found it.", [("API", "partial_outage"), ("Dashboard", "degraded_performance")]
    )
    publish(h.bot, "resolved", "All good again.", [("API", "operational")])
    (incident,) = sp.incidents
    assert [u.status for u in incident.updates] == ["investigating", "identified", "resolved"]
    assert incident.updates[-1].body == "All good again."
    assert incident.updates[-1].components == {API: "operational", DASHBOARD: "operational"}
    assert sp.component_status(API) == sp.component_status(DASHBOARD) == "operational"
    assert incident.impact == "major"  # the worst the components implied; severity plays no part
    assert methods(sp) == [("POST", 201), ("PATCH", 200), ("PATCH", 200)]
    assert [p.incident_id for p in mirror_events(h.bot) if isinstance(p, ev.StatuspageIncidentCreated)] == [
        incident.id
    ]
    assert [type(p).__name__ for p in mirror_events(h.bot)] == [
        "StatuspageCreateAttempted",
        "StatuspageIncidentCreated",
        "StatuspageUpdated",
        "StatuspageUpdated",
    ]


def test_429_and_420_are_retried_after_the_back_off_and_never_doubled(h, sp, clock):
    """429 then 420 (no Retry-After): each recorded with its retry time (2 s, then 4 s); heartbeats
    before then send nothing; the retry looks for the first try's marker, then creates once."""
    declare(h)
    sp.fail_next(429)
    publish(h.bot, "investigating", "Looking.", [("API", "major_outage")])
    assert methods(sp) == [("POST", 429)] and sp.incidents == []
    (deferred,) = [p for p in mirror_events(h.bot) if isinstance(p, ev.StatuspageDeferred)]
    assert (deferred.attempt, deferred.retry_at) == (1, T0 + 2 * S)
    clock.after(1 * S)
    beat(h.bot)
    assert len(sp.requests) == 1  # not before the back-off
    clock.after(2 * S)
    sp.fail_next(420)
    beat(h.bot)
    assert methods(sp) == [("POST", 429), ("GET", 420)]
    again = [p for p in mirror_events(h.bot) if isinstance(p, ev.StatuspageDeferred)][-1]
    assert (again.attempt, again.retry_at) == (2, T0 + 2 * S + 4 * S)
    clock.after(5 * S)
    beat(h.bot)
    assert len(sp.requests) == 2
    clock.after(6 * S)
    beat(h.bot)
    beat(h.bot)
    assert methods(sp) == [("POST", 429), ("GET", 420), ("GET", 200), ("POST", 201)]
    assert len(sp.incidents) == 1 and sp.component_status(API) == "major_outage"


def test_the_back_off_doubles_to_a_minute_at_most():
    from bot.statuspage import Backoff

    delays = [Backoff().delay(attempt).total_seconds() for attempt in range(8)]
    assert delays == [2, 4, 8, 16, 32, 60, 60, 60]


def test_a_restart_between_create_and_update_patches_the_same_incident(h, sp, clock):
    declare(h)
    publish(h.bot, "investigating", "Looking.", [("API", "partial_outage")])
    h.bot.close()
    h.bot = mirror_bot(h.bot.settings, sp, clock)  # a new process on the same database
    publish(h.bot, "monitoring", "Fix deployed.", [("API", "degraded_performance")])
    (incident,) = sp.incidents
    assert [u.status for u in incident.updates] == ["investigating", "monitoring"]
    assert methods(sp) == [("POST", 201), ("PATCH", 200)]
    assert sp.requests[1].path == f"/v1/pages/{PAGE}/incidents/{incident.id}"


def test_a_create_whose_answer_was_lost_is_found_by_its_marker_not_made_twice(h, sp, clock):
    """Statuspage made the incident but the answer never came (the process died or the connection
    dropped): after a restart the retry finds the incident by the marker in its metadata and adopts it."""
    declare(h)
    sp.drop_answer_next()
    publish(h.bot, "investigating", "Looking.", [("API", "partial_outage")])
    assert len(sp.incidents) == 1 and h.bot.service.state_of(1).statuspage.incident_id is None
    h.bot.close()
    h.bot = mirror_bot(h.bot.settings, sp, clock)
    clock.after(5 * S)
    beat(h.bot)
    state = h.bot.service.state_of(1)
    (incident,) = sp.incidents
    assert state.statuspage.incident_id == incident.id
    assert [p.found for p in mirror_events(h.bot) if isinstance(p, ev.StatuspageIncidentCreated)] == [True]
    publish(h.bot, "resolved", "Fixed.")
    assert [m for m, _ in methods(sp)] == ["POST", "GET", "PATCH"]
    assert len(sp.incidents) == 1 and sp.incidents[0].status == "resolved"
    assert sp.component_status(API) == "operational"


def test_two_instances_on_one_database_mirror_each_publication_once(h, sp, clock):
    other = mirror_bot(h.bot.settings, sp, clock)
    try:
        declare(h)
        for status in ("investigating", "identified", "monitoring", "resolved"):
            publish(h.bot, status, f"Now {status}.", [("API", "partial_outage")], sync=False)
            other.queue.request(1)
            h.bot.queue.request(1)
            assert other.wait_idle(SYNC_TIMEOUT) and h.bot.wait_idle(SYNC_TIMEOUT)
        (incident,) = sp.incidents
        assert [u.status for u in incident.updates] == [
            "investigating",
            "identified",
            "monitoring",
            "resolved",
        ]
        assert [m for m, _ in methods(sp)] == ["POST", "PATCH", "PATCH", "PATCH"]
    finally:
        other.close()


def test_requests_are_at_least_a_second_apart_per_process_retries_included(h, sp, clock):
    """With the real pacer: a create, an update, a throttled update and its retry, as the fake saw them."""
    h.bot.service.slack.statuspage.pacer = Pacer()
    declare(h)
    publish(h.bot, "investigating", "Looking.", [("API", "partial_outage")])
    publish(h.bot, "identified", "Found it.", [("API", "partial_outage")])
    sp.fail_next(429)
    publish(h.bot, "monitoring", "Watching.", [("API", "degraded_performance")])
    clock.after(2 * S)
    beat(h.bot)
    assert methods(sp) == [("POST", 201), ("PATCH", 200), ("PATCH", 429), ("PATCH", 200)]
    times = [r.at for r in sp.requests]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 1.0, gaps


def test_the_pacer_spaces_requests_and_defers_instead_of_waiting_long():
    """On a driven clock: one request at once, the next a second later; one whose turn is more than
    `max_wait` away reserves nothing and says so."""
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(1.0, clock=lambda: now[0], sleep=sleep)
    assert pacer.wait() == 0
    assert pacer.wait() == 1.0 and now[0] == 101.0
    assert pacer.wait(max_wait=0.5) is None  # its turn is at 102
    now[0] += 0.7
    assert pacer.wait(max_wait=0.5) == pytest.approx(0.3)
    assert slept == [1.0, pytest.approx(0.3)]


def test_the_key_never_appears_in_logs_exceptions_results_or_the_log(h, sp, clock, caplog):
    caplog.set_level(logging.DEBUG)
    declare(h)
    sp.fail_next(500, error=f"upstream said: bad key {KEY}")
    publish(h.bot, "investigating", "Looking.", [("API", "partial_outage")])
    clock.after(3 * S)
    beat(h.bot)
    assert len(sp.incidents) == 1
    assert all(r.authorization == f"OAuth {KEY}" for r in sp.requests)
    (deferred,) = [p for p in mirror_events(h.bot) if isinstance(p, ev.StatuspageDeferred)]
    assert "[api key redacted]" in deferred.reason
    stored = " ".join(repr(e) for e in h.bot.store.load(1))
    assert KEY not in caplog.text and KEY not in stored
    client = h.bot.service.slack.statuspage
    assert KEY not in repr(client) and KEY not in repr(h.bot.settings.policy)
    with pytest.raises(Exception) as raised:
        StatuspageClient(KEY, api_url="ftp://nowhere")
    assert KEY not in str(raised.value)


def test_nothing_internal_reaches_statuspage(h, sp):
    """The incident's internal title, notes, people, channel and severity stay inside: every byte
    sent to Statuspage comes from the publications' public fields."""
    declare(h)
    channel = h.incident_channel()
    h.command("note Zebra-note-9921 the primary db lost quorum", channel=channel)
    h.command(f"role comms <@{BOB}>", channel=channel)
    h.command("update identified Zebra-update-3390 failing over", channel=channel)
    h.settle()
    publish(h.bot, "identified", "Payments are failing for some customers.", [("API", "partial_outage")])
    publish(h.bot, "resolved", "Payments work again.")
    state = h.bot.service.state_of(1)
    logged = repr(h.bot.store.load(1))
    assert all(word in logged for word in ("Zebra-internal", "Zebra-note-9921", "Zebra-update-3390", BOB))
    sent = b" ".join(r.body + r.path.encode() for r in sp.requests).decode()
    internal = ["Zebra", "sev1", "SEV1", ALICE, BOB, channel, state.slack.channel_name or "", "INC-1"]
    assert [word for word in internal if word and word in sent] == []
    assert "Payments are failing for some customers." in sent and TITLE in sent


def test_a_refused_create_is_recorded_once_and_the_next_publication_creates(h, sp):
    declare(h)
    sp.fail_next(422, error="Name is too long")
    publish(h.bot, "investigating", "Looking.", [("API", "partial_outage")])
    (refused,) = [p for p in mirror_events(h.bot) if isinstance(p, ev.StatuspageRejected)]
    assert refused.status == 422 and "Name is too long" in refused.reason
    assert sp.incidents == []
    publish(h.bot, "identified", "Found it.", [("API", "partial_outage")])
    assert [m for m, _ in methods(sp)] == ["POST", "POST"] and len(sp.incidents) == 1
    assert sp.incidents[0].updates[0].body == "Found it."


def test_without_the_key_nothing_is_sent_and_nothing_is_owed(database_url, clock, sp):
    harness = start_harness(database_url, manifest_bot_scopes(), policy=mirror_policy(), clock=clock)
    try:
        declare(harness)
        publish(harness.bot, "investigating", "Looking.", [("API", "partial_outage")])
        assert sp.requests == [] and mirror_events(harness.bot) == []
        assert harness.bot.store.with_slack_owed() == []
    finally:
        harness.close()


def test_publishing_from_the_slack_modal_reaches_statuspage_with_only_the_public_text(h, sp):
    """The whole path as people use it: `/incident statuspage`, the modal submitted over signed
    HTTP, and the sync the publication asks for creates the Statuspage incident, carrying the
    public title and message only."""
    from tests.test_publish_http import publish_values

    declare(h)
    h.command("statuspage INC-1", user=ALICE)
    h.settle()
    view = h.slack.views()[-1]
    values = publish_values(
        "Checkout errors", "Some payments fail; we are on it.", "investigating", API="partial_outage"
    )
    assert h.sender.view_submission(view, values, user_id=ALICE).status == 200
    h.settle()
    assert methods(sp) == [("POST", 201)]
    sent = str(sp.requests[0].body)
    assert "Checkout errors" in sent and "Some payments fail; we are on it." in sent
    assert "Zebra-internal-title-4471" not in sent and "sev1" not in sent.lower()
