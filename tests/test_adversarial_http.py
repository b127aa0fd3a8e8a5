"""Defects found by adversarial testing (issue 10), each driven as Slack or an attacker would."""

from __future__ import annotations

import pytest

from tests.harness import ALICE, start_harness
from tests.test_manifest import manifest_bot_scopes


@pytest.fixture
def h(database_url):
    harness = start_harness(database_url, manifest_bot_scopes())
    yield harness
    harness.close()


@pytest.mark.parametrize("timestamp", ["abc", "1e9", "", "-5", "99999999999999999999999"])
def test_a_malformed_request_timestamp_is_refused_like_a_bad_signature(h, timestamp):
    """A timestamp header that is not a number of seconds gets 401, never a 500, and does nothing."""
    reply = h.sender.post(
        b"command=%2Fincident&text=declare+sev1+Forged&user_id=U0ALICE01",
        "application/x-www-form-urlencoded",
        headers={"X-Slack-Request-Timestamp": timestamp},
    )
    assert reply.status == 401
    assert h.bot.store.count_events() == 0


@pytest.mark.parametrize("text", ["action done ①", "action done ²", "action done ٣"])
def test_a_number_that_is_not_ascii_digits_gets_the_usage_line(h, text):
    """`str.isdigit()` accepts ①, ² and Arabic-Indic digits; the parser takes ASCII digits only."""
    h.command("declare sev3 Digits", user=ALICE)
    h.settle()
    reply = h.command(text, user=ALICE, channel=h.incident_channel())
    assert reply.status == 200
    assert "Usage: `/incident action" in reply.text and "went wrong" not in reply.text


def test_a_control_character_in_a_command_is_refused_helpfully_on_both_databases(h):
    """U+0000 breaks PostgreSQL's JSON and means nothing to a person: refused, with the reason."""
    reply = h.command("declare sev3 Control nul\x00in title", user=ALICE)
    assert reply.status == 200
    assert "control character (U+0000)" in reply.text and "Usage: `/incident declare" in reply.text
    assert h.bot.store.count_events() == 0
    h.command("declare sev3 Clean title", user=ALICE)
    h.settle()
    note = h.command("note bell\x07 in a note", user=ALICE, channel=h.incident_channel())
    assert "control character (U+0007)" in note.text
    assert [e.type for e in h.bot.store.load(1)].count("NoteAdded") == 0


def test_a_control_character_in_a_modal_is_an_inline_field_error(h):
    """The declare modal shows the error next to the field that holds it."""
    h.command("declare", user=ALICE)
    h.settle()
    view = h.slack.views()[-1]
    form = {
        "title": {"title": {"type": "plain_text_input", "value": "Checkout down"}},
        "impact": {"impact": {"type": "plain_text_input", "value": "EU\x00 customers"}},
    }
    answer = h.sender.view_submission(view, form, user_id=ALICE).json()
    assert answer["response_action"] == "errors" and "U+0000" in answer["errors"]["impact"]
    assert h.bot.store.count_events() == 0


def test_control_characters_in_an_alert_are_dropped_not_stored(h):
    """Alertmanager's text is not a person's: U+0000 in a summary is removed, and the incident opens."""
    import copy
    import json
    import urllib.request

    from tests.harness import ALERT_TOKEN
    from tests.test_alert_intake_http import FIRING

    body = copy.deepcopy(FIRING)
    body["commonAnnotations"]["summary"] = "Disk\x00 full"
    body["groupKey"] = '{}:{alertname="Disk\x00"}'
    request = urllib.request.Request(
        f"{h.server.url}/webhooks/alertmanager",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {ALERT_TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    h.settle()
    assert h.bot.service.state_of(1).facts.title == "Disk full"


def test_eight_people_writing_at_once_lose_no_note(h):
    """8 people send 20 notes each to an incident that already has 150 events: all 160 are recorded,
    and each of them was told 'Noted'."""
    import threading

    from tests.harness import BOB, CAROL

    h.command("declare sev2 Busy incident", user=ALICE)
    h.settle()
    channel = h.incident_channel()
    for i in range(150 - len(h.bot.store.load(1))):
        h.bot.service.handle_command(f"note warm-up {i}", ALICE, channel)
    assert len(h.bot.store.load(1)) >= 150
    people = [ALICE, BOB, CAROL, "U0DAVE001", "U0ERIN001", "U0FRANK01", "U0GRACE01", "U0HEIDI01"]
    answers: list[str] = []
    lock = threading.Lock()

    def write(person: str) -> None:
        for n in range(20):
            text = h.bot.service.handle_command(f"note {person} says {n}", person, channel).reply
            with lock:
                answers.append(text)

    threads = [threading.Thread(target=write, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    notes = [e for e in h.bot.store.load(1) if e.type == "NoteAdded" and " says " in e.payload.text]
    assert len(notes) == 160
    assert answers.count("Noted on INC-1.") == 160


def test_a_dropped_database_connection_after_a_slack_call_does_not_post_twice(h):
    """The connection drops just as the bot records that Slack posted a note: the record is
    written again (not the post), so the note is in the channel once, and once in the log."""
    from contextlib import contextmanager

    from sqlalchemy.exc import OperationalError

    h.command("declare sev2 Flaky database", user=ALICE)
    h.settle()
    channel = h.incident_channel()
    store = h.bot.store
    original_append, original_write = store.append, store._write
    armed = [True]

    @contextmanager
    def dropped():
        raise OperationalError(
            "INSERT INTO events", {}, Exception("server closed the connection unexpectedly")
        )
        yield

    def flaky_append(incident, expected_seq, new, *args, **kwargs):
        if armed[0] and any(e.type == "SlackChannelMessagePosted" for e in new):
            armed[0] = False
            store._write = dropped
            try:
                return original_append(incident, expected_seq, new, *args, **kwargs)
            finally:
                store._write = original_write
        return original_append(incident, expected_seq, new, *args, **kwargs)

    store.append = flaky_append
    h.command("note Checked the connection pool", user=ALICE, channel=channel)
    h.settle()
    assert not armed[0], "the drop was never simulated"
    h.bot.queue.request(1)  # what the heartbeat would do for anything still owed
    h.settle()
    posts = [m for m in h.slack.channel(channel).messages if "Checked the connection pool" in m.text]
    assert len(posts) == 1
    (note,) = [e for e in store.load(1) if e.type == "NoteAdded"]
    recorded = [
        e for e in store.load(1) if e.type == "SlackChannelMessagePosted" and e.payload.for_seq == note.seq
    ]
    assert len(recorded) == 1


def test_a_typed_link_or_mention_stays_text_and_a_real_one_stays_a_token(h):
    """What a person typed reaches the bot escaped (`&lt;https://evil…|…&gt;`) and must be shown as
    text everywhere; a link or mention made with Slack's composer arrives raw and stays one."""
    typed = "*urgent* &lt;https://evil.example|reset your password&gt; &lt;@U0BOB0001&gt; &lt;!here&gt;"
    real = "<https://status.example.com|status page> <@U0CAROL01|carol>"
    h.command("declare sev1 Login &lt;https://evil.example|click&gt; errors", user=ALICE)
    h.settle()
    channel = h.incident_channel()
    h.command(f"note {typed} and {real}", user=ALICE, channel=channel)
    h.command(f"update identified {typed}", user=ALICE, channel=channel)
    h.settle()
    shown = [m.text for m in h.slack.channel(channel).messages[1:]]
    shown += [m.text for m in h.slack.channel(h.announcements).messages]
    blocks = h.slack.channel(channel).messages[0].blocks
    shown += [b["text"]["text"] for b in blocks if b.get("text", {}).get("type") == "mrkdwn"]
    for text in shown:
        assert "<https://evil.example" not in text and "<@U0BOB0001>" not in text and "<!here>" not in text, (
            text
        )
    note = next(t for t in shown if t.startswith(":pushpin: Note"))
    assert "&lt;https://evil.example|reset your password&gt;" in note
    assert "<https://status.example.com|status page>" in note and "<@U0CAROL01|carol>" in note
    header = h.slack.channel(channel).messages[0].blocks[0]["text"]["text"]
    assert header == "INC-1: Login <https://evil.example|click> errors"  # plain text: shown as typed
    markdown = h.bot.service.postmortem_markdown(1)
    assert "# INC-1: Login <https://evil.example|click> errors" in markdown


def test_a_hundred_idle_connections_do_not_shut_slack_out(h):
    """110 clients that connect and say nothing (waitress's default limit is 100) do not keep a
    normal command from being answered."""
    import socket

    idle = [socket.create_connection((h.server.host, h.server.port), timeout=5) for _ in range(110)]
    try:
        reply = h.command("help", user=ALICE)
        assert reply.status == 200 and "Incident commands" in reply.text
    finally:
        for connection in idle:
            connection.close()


def test_a_channel_created_by_a_try_that_died_is_adopted_not_made_twice(h):
    """The process dies after Slack created #inc-1-login-errors but before the answer was recorded:
    the next try gets name_taken for the name it recorded, finds the bot's own fresh channel and
    adopts it. No #inc-1-login-errors-2 appears."""
    notifier = h.bot.service.slack
    create = notifier.client.conversations_create
    died = []

    def create_then_die(**kwargs):
        create(**kwargs)
        if not died:
            died.append(kwargs["name"])
            raise RuntimeError("kill -9 before the answer was recorded")
        raise AssertionError("a second conversations.create succeeded")

    notifier.client.conversations_create = create_then_die
    h.command("declare sev2 Login errors", user=ALICE)
    h.settle()
    assert died == ["inc-1-login-errors"] and h.bot.service.state_of(1).slack.channel_id is None
    notifier.client.conversations_create = create
    h.bot.queue.request(1)  # the restarted process's heartbeat
    h.settle()
    adopted = h.slack.channel_by_name("inc-1-login-errors")
    assert adopted is not None and h.slack.channel_by_name("inc-1-login-errors-2") is None
    assert h.bot.service.state_of(1).slack.channel_id == adopted.id
    assert len(adopted.messages) >= 1  # the summary went into the adopted channel


def test_an_older_channel_of_the_same_name_is_not_adopted(h):
    """A channel of that name the bot made long before the name was chosen (say, before the
    database was recreated) is left alone: the incident gets the next name."""
    old = h.slack.add_channel("inc-1-login-errors", members=[h.slack.bot_user_id])
    h.slack._channels[old].created = 1_000_000_000  # 2001: long before this incident
    h.command("declare sev2 Login errors", user=ALICE)
    h.settle()
    state = h.bot.service.state_of(1)
    assert state.slack.channel_name == "inc-1-login-errors-2" and state.slack.channel_id != old
