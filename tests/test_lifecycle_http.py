"""The incident lifecycle end to end: signed slash commands over HTTP, the strict fake Slack, the log."""

from __future__ import annotations

import re
import threading
import time
import urllib.request

import pytest

from bot.core import events as ev
from tests.harness import ALICE, BOB, CAROL, ONCALL, start_harness
from tests.test_manifest import manifest_bot_scopes


@pytest.fixture
def h(database_url):
    harness = start_harness(database_url, manifest_bot_scopes())
    yield harness
    harness.close()


def declare(h, text="declare sev1 API error rate above 5%", user=ALICE):
    reply = h.command(text, user=user)
    assert reply.status == 200
    h.settle()
    return reply


def test_declare_creates_channel_invites_pins_and_announces(h):
    """declare: ephemeral ack, then channel, invites, topic, pinned summary, announcement, link reply."""
    reply = declare(h)
    assert "INC-1" in reply.text and "#inc-1-api-error-rate-above-5" in reply.text
    channel = h.slack.channel_by_name("inc-1-api-error-rate-above-5")
    assert channel is not None
    assert {ALICE, ONCALL} <= channel.members
    assert channel.topic.startswith("SEV1 · Investigating · Commander: <@U0ALICE01>")
    assert len(channel.pins) == 1 and channel.messages[0].ts == channel.pins[0]
    assert channel.messages[0].blocks[0]["text"]["text"] == "INC-1: API error rate above 5%"
    announcement = h.slack.channel(h.announcements).messages
    assert len(announcement) == 1 and f"<#{channel.id}>" in announcement[0].blocks[0]["text"]["text"]
    assert [r["text"] for r in h.slack.responses] == [
        f"INC-1 has its channel: <#{channel.id}>. Everyone working on it, join there."
    ]
    assert h.types()[0] == ev.IncidentDeclared.TYPE
    assert {
        ev.SlackChannelCreated.TYPE,
        ev.SlackSummaryPinned.TYPE,
        ev.SlackAnnouncementPosted.TYPE,
        ev.SlackTopicSet.TYPE,
    } <= set(h.types())
    assert h.bot.store.with_slack_owed() == []


def test_lifecycle_steps_show_in_channel_thread_summary_and_topic(h):
    """ack, update, mitigate, resolve: each posted in the channel and the thread, summary and topic kept true."""
    declare(h)
    inc = h.incident_channel()
    for user, text, reply_part in [
        (BOB, "ack", "You acknowledged INC-1"),
        (BOB, "update identified Rolled back the 14:20 deploy", "Update posted"),
        (ALICE, "mitigate Error rate back under 1%", "mitigated"),
        (ALICE, "resolve Connection pool exhausted by a leak in auth middleware", "resolved"),
    ]:
        reply = h.command(text, user=user, channel=inc)
        assert reply.status == 200 and reply_part in reply.text
        h.settle()
    channel = h.slack.channel(inc)
    posted = [m.text for m in channel.messages[1:]]
    assert len(posted) == 4
    assert "acknowledged" in posted[0] and "Rolled back the 14:20 deploy" in posted[1]
    assert "Mitigated" in posted[2] and "Resolved" in posted[3]
    thread = [m for m in h.slack.channel(h.announcements).messages if m.thread_ts]
    assert [m.text for m in thread] == posted
    summary = channel.messages[0]
    assert summary.edited and "Resolved" in summary.blocks[1]["fields"][0]["text"]
    assert channel.topic.startswith("SEV1 · Resolved")
    lifecycle = [t for t in h.types() if t in {c.TYPE for c in ev.LIFECYCLE_TYPES}]
    assert lifecycle == [
        ev.IncidentDeclared.TYPE,
        ev.IncidentAcknowledged.TYPE,
        ev.StatusUpdated.TYPE,
        ev.IncidentMitigated.TYPE,
        ev.IncidentResolved.TYPE,
    ]


def test_severity_role_and_note_from_inside_the_channel(h):
    """severity, role and note change state, post to Slack, and invite the new role holder."""
    declare(h, "declare sev2 Checkout slow")
    inc = h.incident_channel()
    assert "now SEV1" in h.command("severity sev1 Spreading to EU", channel=inc).text
    assert "now comms" in h.command(f"role comms <@{CAROL}|carol>", channel=inc).text
    assert "Noted" in h.command("note Support sees failures", channel=inc).text
    h.settle()
    channel = h.slack.channel(inc)
    assert {CAROL, ONCALL} <= channel.members  # the role holder, and sev1's responders after the change
    texts = " ".join(m.text for m in channel.messages)
    assert "SEV2* to *SEV1" in texts and "is now *comms*" in texts and "Support sees failures" in texts
    assert channel.topic.startswith("SEV1 ·")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("explode", "I don't know the command `explode`"),
        ("declare sev1", "needs a title"),
        ("declare sev9 Broken", "`sev9` is not a severity"),
        ("declare :fire: :fire:", "needs words"),
        ("declare " + "a" * 3000, "3000 characters"),
        ("ack", "isn't an incident channel"),
        ("ack INC-99", "There is no INC-99"),
        ("role commander bob", "Mention exactly one person"),
    ],
)
def test_mistakes_get_an_ephemeral_reason_and_change_nothing(h, text, expected):
    """Every mistake answers 200 with a helpful ephemeral text and the usage line; nothing is stored."""
    reply = h.command(text)
    assert reply.status == 200
    body = reply.json()
    assert expected in body["text"]
    assert body.get("response_type", "ephemeral") == "ephemeral"
    assert h.bot.store.count_events() == 0
    assert h.slack.calls("conversations.create") == []


def test_refused_transitions_explain_why(h):
    """resolve twice and update after resolve are refused with a reason, and record nothing."""
    declare(h)
    inc = h.incident_channel()
    h.command("resolve Fixed", channel=inc)
    h.settle()
    before = len(h.types())
    assert "already resolved" in h.command("resolve Fixed again", channel=inc).text
    assert "is resolved" in h.command("update identified Still broken", channel=inc).text
    assert "reopen" in h.command("mitigate Did a thing", channel=inc).text
    assert len(h.types()) == before


def test_commands_elsewhere_name_the_incident(h):
    """Outside the incident channel, INC-N picks the incident; status and list read it back."""
    declare(h)
    assert "You acknowledged INC-1" in h.command("ack INC-1", user=BOB).text
    status = h.command("status INC-1").text
    assert "INC-1: API error rate above 5%" in status and "<@U0BOB0001>" in status
    listing = h.command("list").text
    assert "INC-1" in listing and "Investigating" in listing
    assert "/incident declare" in h.command("help").text


def test_forged_and_stale_requests_are_refused(h):
    """A wrong signature or a timestamp over 5 minutes old gets 401 and changes nothing."""
    forged = h.command("declare sev1 Forged", secret="not-the-secret")
    stale = h.command("declare sev1 Stale", timestamp=int(time.time()) - 6 * 60)
    assert (forged.status, stale.status) == (401, 401)
    assert h.bot.store.count_events() == 0


def test_taken_channel_name_gets_a_suffix(h):
    """If #inc-1-… exists already, the bot uses #inc-1-…-2 instead of failing."""
    h.slack.add_channel("inc-1-api-error-rate-above-5")
    declare(h)
    assert h.slack.channel(h.incident_channel()).name == "inc-1-api-error-rate-above-5-2"


def test_non_ascii_title_is_slugged(h):
    """A Cyrillic title becomes a transliterated channel name."""
    declare(h, "declare sev2 Ошибка оплаты")
    assert h.slack.channel(h.incident_channel()).name == "inc-1-oshibka-oplaty"


def test_rate_limits_and_server_errors_are_retried_without_duplicates(h):
    """A 429 with Retry-After and a 503 are retried; every step happens exactly once."""
    h.slack.fail_next("conversations.create", status=503)
    h.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    declare(h)
    assert len(h.slack.calls("conversations.create")) == 2
    assert [c.status for c in h.slack.calls("chat.postMessage")][:2] == [429, 200]
    channel = h.slack.channel(h.incident_channel())
    assert len(channel.messages) == 1 and len(h.slack.channel(h.announcements).messages) == 1


def test_slack_outage_loses_no_event_and_the_heartbeat_catches_up(h):
    """When Slack stays down the command is still recorded; a later sync does the owed work once."""
    h.slack.fail_next("conversations.create", status=500, times=4)  # outlasts the client's 3 retries
    reply = declare(h)
    assert "INC-1" in reply.text
    # Only the declaration and the channel name chosen for it: the creation itself failed.
    assert h.types() == [ev.IncidentDeclared.TYPE, ev.SlackChannelNameChosen.TYPE]
    assert "slow to create the incident channel" in h.slack.responses[0]["text"]
    assert h.bot.store.with_slack_owed() == [1]
    h.bot.start_heartbeat(interval_seconds=0.2)
    deadline = time.monotonic() + 20
    while h.bot.store.with_slack_owed() and time.monotonic() < deadline:
        time.sleep(0.05)
    h.settle()
    assert h.bot.store.with_slack_owed() == []
    assert len([c for c in h.slack.calls("conversations.create") if c.ok]) == 1
    assert len(h.slack.channel(h.announcements).messages) == 1


def test_repeating_a_sync_creates_nothing_twice(h):
    """Syncing an incident whose Slack work is done makes no Web API call."""
    declare(h)
    before = len(h.slack.calls())
    h.bot.queue.request(1)
    h.settle()
    assert len(h.slack.calls()) == before


def test_concurrent_declares_each_get_one_incident_and_one_channel(h):
    """Ten declares at once: ten numbers, ten channels, ten announcements, nothing lost."""
    replies = []

    def go(i):
        replies.append(h.command(f"declare sev3 Parallel problem {i}", user=BOB))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    h.settle()
    assert sorted(r.status for r in replies) == [200] * 10
    numbers = sorted(int(re.search(r"INC-(\d+)", r.text).group(1)) for r in replies)
    assert numbers == list(range(1, 11))
    names = sorted(c.params["name"] for c in h.slack.calls("conversations.create") if c.ok)
    assert len(names) == 10 and len(set(names)) == 10
    assert len(h.slack.channel(h.announcements).messages) == 10


def test_healthz_reports_the_database(h):
    """GET /healthz answers 200 with ok when the database is reachable."""
    with urllib.request.urlopen(f"{h.server.url}/healthz", timeout=5) as response:
        assert response.status == 200
        assert b'"ok": true' in response.read()


def test_every_web_api_method_called_is_declared_with_its_scope(h):
    """The methods the bot really called are exactly the ones manifest scopes are derived from."""
    from bot.slack.notifier import METHOD_SCOPES

    declare(h)
    inc = h.incident_channel()
    h.command("resolve Fixed", channel=inc)
    h.settle()
    called = {c.method for c in h.slack.calls()} - {"auth.test"}
    # (views.open and conversations.history are exercised in test_interactions_http.py, the
    # files.* upload flow in test_postmortem_http.py, conversations.list (adopting a channel a
    # dead try created) in test_adversarial_http.py, conversations.info (a channel linked in a
    # note) in test_names_http.py, users.lookupByEmail (on-call emails at start) in
    # test_oncall_feed_http.py, the usergroups.* methods (a schedule's user group) in
    # test_oncall_slack_http.py)
    elsewhere = {
        "users.lookupByEmail",
        "usergroups.users.update",
        "usergroups.disable",
        "usergroups.enable",
        "auth.test",
        "conversations.list",
        "conversations.info",
        "views.open",
        "conversations.history",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    }
    assert called == set(METHOD_SCOPES) - elsewhere
    assert all(c.error != "missing_scope" for c in h.slack.calls())


def test_an_internal_error_still_answers_200_with_an_error_id(h, caplog):
    """If the bot itself fails, Slack gets 200 and the person an error id that is in the log."""
    from sqlalchemy import text

    with h.bot.store.engine.begin() as conn:
        conn.execute(text("DROP TABLE events"))
    reply = h.command("declare sev1 Whatever")
    assert reply.status == 200
    error_id = re.search(r"error id `([0-9a-f]{8})`", reply.text).group(1)
    assert any(error_id in r.getMessage() for r in caplog.records)
