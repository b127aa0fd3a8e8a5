"""A private incident end to end: nothing of it reaches a shared channel, and outsiders who ask
are told it is hidden, never shown its title, people or text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core import events as ev
from bot.core.policy import Schedule
from bot.scheduler import heartbeat
from tests.events import data_of
from tests.harness import ALICE, BOB, CAROL, ONCALL, start_harness, team_policy
from tests.test_manifest import manifest_bot_scopes

TITLE = "Secret breach of customer data"


@pytest.fixture
def h(database_url):
    schedule = Schedule(ack_timeout=timedelta(minutes=10))
    harness = start_harness(database_url, manifest_bot_scopes(), policy=team_policy(schedule=schedule))
    yield harness
    harness.close()


def declare_private(h, title=TITLE, severity="sev1"):
    h.command("declare", user=ALICE)
    h.settle()
    view = h.slack.views()[-1]
    form = {
        "title": {"title": {"type": "plain_text_input", "value": title}},
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": severity}}},
        "private": {"private": {"type": "checkboxes", "selected_options": [{"value": "private"}]}},
    }
    assert h.sender.view_submission(view, form, user_id=ALICE).status == 200
    h.settle()
    number = h.bot.store.heads(limit=1)[0].number
    return number, h.incident_channel(number)


def shared_texts(h):
    """Everything every channel other than incident channels shows, thread replies included."""
    incident_channels = {head.channel_id for head in h.bot.store.heads()}
    texts = []
    for channel in (h.general, h.announcements, h.slack.channel_by_name("alerts-triage").id):
        if channel in incident_channels:
            continue
        for message in h.slack.channel(channel).messages:
            texts.append(message.text + repr(message.blocks))
    return texts


def run_heartbeat_at(h, now):
    h.bot.service.clock = lambda: now
    heartbeat(h.bot.service, h.bot.queue)
    h.settle()


def test_an_unacknowledged_private_incident_is_re_announced_only_in_its_own_channel(h):
    """The 'still not acknowledged' notice of a private incident never names it in #incidents;
    it is said in the incident channel, to the people who can act on it."""
    number, channel = declare_private(h)
    declared_at = h.bot.service.state_of(number).facts.declared_at
    run_heartbeat_at(h, declared_at + timedelta(minutes=11))
    notices = [e for e in h.bot.store.load(number) if e.type == ev.NoticeDue.TYPE]
    assert "unacked_reannounce" in [data_of(n)["kind"] for n in notices]
    inside = [m.text for m in h.slack.channel(channel).messages]
    assert any("still not acknowledged" in t and f"<@{ONCALL}>" in t for t in inside)
    assert not any(TITLE in t or "still not acknowledged" in t for t in shared_texts(h))
    assert h.slack.channel(h.announcements).messages == []
    assert h.bot.service.incidents_owing_slack() == []  # nothing is left owed and retried forever


def test_outsiders_see_that_a_private_incident_exists_but_nothing_of_it(h):
    """list, status, notes and actions from someone outside: hidden, said plainly, nothing recorded."""
    number, channel = declare_private(h)
    h.command("declare sev3 Dashboard slow", user=BOB)
    h.settle()
    listing = h.command("list", user=CAROL).text
    assert f"INC-{number}" in listing and "private" in listing
    assert TITLE not in listing and "Dashboard slow" in listing
    assert TITLE in h.command("list", user=ALICE).text  # the declarer is a member
    refused = h.command(f"status INC-{number}", user=CAROL).text
    assert "private incident" in refused and TITLE not in refused
    assert TITLE in h.command(f"status INC-{number}", user=ONCALL).text  # a responder is a member
    before = len(h.bot.store.load(number))
    assert "private incident" in h.command(f"note INC-{number} I can write here?", user=CAROL).text
    assert "private incident" in h.command(f"ack INC-{number}", user=CAROL).text
    h.settle()
    assert len(h.bot.store.load(number)) == before


def test_someone_in_the_private_channel_may_use_it(h):
    """Slack let them into the private channel, so commands typed there are theirs to use."""
    number, channel = declare_private(h)
    reply = h.command("note Looking at the access logs", user=CAROL, channel=channel)
    assert reply.text.startswith(f"Noted on INC-{number}")


def test_action_items_on_a_private_incident_are_counted_not_shown_to_outsiders(h):
    """`action list mine` anywhere: an item of a private incident the owner is not in is a count."""
    number, channel = declare_private(h)
    h.command(f"action add Rotate the leaked keys <@{CAROL}> due 2030-01-01", user=ALICE, channel=channel)
    h.settle()
    mine = h.command("action list mine", user=CAROL).text
    assert "Rotate the leaked keys" not in mine and f"INC-{number}" not in mine
    assert "1 more on private incidents" in mine
    h.command(f"role scribe <@{CAROL}>", user=ALICE, channel=channel)
    h.settle()
    assert "Rotate the leaked keys" in h.command("action list mine", user=CAROL).text


def test_metrics_count_private_incidents_without_naming_a_repeat(h):
    """Counts stay whole; a repeat involving a private incident is counted, not named."""
    declare_private(h, title="Database down")
    h.command("declare sev2 Database down", user=BOB)
    h.settle()
    text = h.command("metrics", user=CAROL).text
    assert "Incidents: *2*" in text
    assert "1 involving private incidents (not named)" in text
    assert "INC-2" not in text.split("Repeat incidents:")[1].splitlines()[0]


def test_the_summary_buttons_work_for_anyone_slack_let_into_the_private_channel(h):
    """The summary lives in the private channel: a button pressed there counts, whoever pressed it;
    the same press claimed from another channel is refused and changes nothing."""
    from bot.render import ids

    number, channel = declare_private(h)
    summary = h.slack.channel(channel).messages[0]

    def press(from_channel):
        reply = h.sender.block_action(
            ids.ACK,
            user_id=CAROL,
            channel_id=from_channel,
            message_ts=summary.ts,
            value=str(number),
            response_url=h.slack.response_url(),
        )
        assert reply.status == 200
        h.settle()

    press(h.general)
    assert "private incident" in h.slack.responses[-1]["text"]
    assert h.bot.service.state_of(number).facts.acknowledged_by is None
    press(channel)
    assert h.bot.service.state_of(number).facts.acknowledged_by == CAROL
