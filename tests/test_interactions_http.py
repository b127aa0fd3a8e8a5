"""Buttons, modals and 📌 reactions end to end: signed block_actions, view_submission and
event_callback payloads through the real endpoint, against the strict fake Slack."""

from __future__ import annotations

import json

import pytest

from bot.core import events as ev
from bot.render import ids
from tests.events import data_of
from tests.harness import ALICE, BOB, CAROL, start_harness
from tests.test_manifest import manifest_bot_scopes


@pytest.fixture
def h(database_url):
    harness = start_harness(database_url, manifest_bot_scopes())
    yield harness
    harness.close()


def declared(h, text="declare sev2 Checkout slow"):
    h.command(text, user=ALICE)
    h.settle()
    channel = h.incident_channel()
    summary = h.slack.channel(channel).messages[0]
    return channel, summary


def press(h, action_id, channel, summary, user=ALICE, value="1", selected=None):
    reply = h.sender.block_action(
        action_id,
        user_id=user,
        channel_id=channel,
        message_ts=summary.ts,
        value=value,
        selected=selected,
        response_url=h.slack.response_url(),
    )
    assert reply.status == 200
    h.settle()
    return reply


def last_view(h):
    views = h.slack.views()
    assert views, "no modal was opened"
    return views[-1]


def text_value(value):
    return {"type": "plain_text_input", "value": value}


def summary_action_ids(h, channel):
    blocks = h.slack.channel(channel).messages[0].blocks
    actions = [b for b in blocks if b["type"] == "actions"]
    return [e["action_id"] for e in actions[0]["elements"]] if actions else []


def lifecycle(h):
    return [e.type for e in h.bot.store.load(1) if type(e.payload) in ev.TIMELINE_TYPES]


def test_summary_carries_the_buttons_and_acknowledge_works_once(h):
    """The pinned summary has the buttons; Acknowledge acks, a double click changes nothing more."""
    channel, summary = declared(h)
    assert summary_action_ids(h, channel) == [ids.ACK, ids.UPDATE, ids.SEVERITY, ids.MITIGATE, ids.RESOLVE]
    press(h, ids.ACK, channel, summary, user=BOB)
    press(h, ids.ACK, channel, summary, user=CAROL)
    assert lifecycle(h) == [ev.IncidentDeclared.TYPE, ev.IncidentAcknowledged.TYPE]
    assert "already acknowledged by <@U0BOB0001>" in h.slack.responses[-1]["text"]
    assert h.slack.responses[-1]["response_type"] == "ephemeral"
    assert ids.ACK not in summary_action_ids(h, channel)  # chat.update keeps the pin true
    assert any(c.method == "chat.update" and c.ok for c in h.slack.calls())


def test_post_update_opens_a_modal_and_its_submission_is_an_update(h):
    """Post update -> views.open; the submitted status, message and impact become one StatusUpdated."""
    channel, summary = declared(h)
    press(h, ids.UPDATE, channel, summary, user=BOB)
    view = last_view(h)
    assert view["callback_id"] == ids.UPDATE_VIEW and view["private_metadata"] == "1"
    values = {
        "status": {"status": {"type": "static_select", "selected_option": {"value": "identified"}}},
        "message": {"message": text_value("Rolled back the 14:20 deploy")},
        "impact": {"impact": text_value("EU customers cannot pay")},
    }
    reply = h.sender.view_submission(view, values, user_id=BOB)
    assert reply.status == 200 and reply.body in (b"", b"{}")
    h.settle()
    again = h.sender.view_submission(view, values, user_id=BOB)
    assert again.status == 200
    h.settle()
    updates = [e for e in h.bot.store.load(1) if e.type == ev.StatusUpdated.TYPE]
    assert len(updates) == 1
    assert (
        data_of(updates[0])["status"] == "identified"
        and data_of(updates[0])["impact"] == "EU customers cannot pay"
    )
    assert data_of(updates[0])["source"] == f"view:{view['id']}"
    summary_text = json.dumps(h.slack.channel(channel).messages[0].blocks)
    assert "EU customers cannot pay" in summary_text and "Identified" in summary_text


def test_a_modal_submitted_empty_shows_inline_field_errors(h):
    """An empty update message is answered with response_action=errors, nothing recorded."""
    channel, summary = declared(h)
    press(h, ids.UPDATE, channel, summary)
    reply = h.sender.view_submission(last_view(h), {"message": {"message": text_value("")}}, user_id=ALICE)
    assert reply.status == 200
    assert reply.json() == {
        "response_action": "errors",
        "errors": {"message": "Say what changed and what happens next."},
    }
    assert ev.StatusUpdated.TYPE not in lifecycle(h)


def test_change_severity_select(h):
    """Choosing SEV1 in the summary's select changes the severity through the same decision."""
    channel, summary = declared(h)
    press(h, ids.SEVERITY, channel, summary, selected="1:sev1")
    assert h.bot.service.state_of(1).facts.severity == "sev1"
    press(h, ids.SEVERITY, channel, summary, selected="1:sev1")
    assert "already SEV1" in h.slack.responses[-1]["text"]


def test_mitigate_and_resolve_through_modals_with_root_cause_and_end_time(h):
    """Mitigate and Resolve open modals; resolve records summary, root cause and when impact ended."""
    channel, summary = declared(h)
    press(h, ids.MITIGATE, channel, summary)
    h.sender.view_submission(
        last_view(h), {"note": {"note": text_value("Failed over to replica")}}, user_id=ALICE
    )
    h.settle()
    press(h, ids.RESOLVE, channel, summary)
    view = last_view(h)
    assert view["callback_id"] == ids.RESOLVE_VIEW
    future = {
        "summary": {"summary": text_value("Fixed")},
        "ended_date": {"ended_date": {"type": "datepicker", "selected_date": "2999-01-01"}},
        "ended_time": {"ended_time": {"type": "timepicker", "selected_time": "10:00"}},
    }
    assert h.sender.view_submission(view, future, user_id=ALICE).json()["errors"] == {
        "ended_date": "The impact cannot have ended in the future."
    }
    values = {
        "summary": {"summary": text_value("Pool leak fixed in auth middleware")},
        "root_cause": {"root_cause": text_value("Connections not returned on timeout")},
        "ended_date": {"ended_date": {"type": "datepicker", "selected_date": "2026-02-04"}},
        "ended_time": {"ended_time": {"type": "timepicker", "selected_time": "15:10"}},
    }
    assert h.sender.view_submission(view, values, user_id=ALICE).status == 200
    h.settle()
    resolved = [e for e in h.bot.store.load(1) if e.type == ev.IncidentResolved.TYPE][0]
    assert data_of(resolved)["root_cause"] == "Connections not returned on timeout"
    assert data_of(resolved)["impact_ended_at"] == "2026-02-04T15:10:00+00:00"
    assert lifecycle(h)[-2:] == [ev.IncidentMitigated.TYPE, ev.IncidentResolved.TYPE]
    assert summary_action_ids(h, channel) == []  # a resolved summary has no buttons


def test_buttons_refuse_who_may_not_and_what_is_resolved(h):
    """Resolve by someone other than the commander, or any button after resolve: a clear ephemeral answer."""
    channel, summary = declared(h)
    press(h, ids.RESOLVE, channel, summary, user=BOB)
    assert "Only the commander of INC-1, <@U0ALICE01>, can resolve it" in h.slack.responses[-1]["text"]
    assert h.slack.views() == []
    h.command("resolve Fixed", user=ALICE, channel=channel)
    h.settle()
    for action in (ids.UPDATE, ids.MITIGATE, ids.RESOLVE, ids.ACK):
        press(h, action, channel, summary)
        assert "resolved" in h.slack.responses[-1]["text"]
    assert h.slack.views() == []


def test_declare_without_text_opens_the_modal_and_declares_once(h):
    """`/incident declare` alone opens a modal; errors show inline; a valid submit declares, once."""
    reply = h.command("declare", user=ALICE)
    h.settle()  # the listener acks first, then opens the modal
    assert reply.status == 200 and h.bot.store.count_events() == 0
    view = last_view(h)
    assert view["callback_id"] == ids.DECLARE_VIEW and view["private_metadata"] == h.general
    severity_options = view["blocks"][1]["element"]["options"]
    assert [o["value"] for o in severity_options] == ["sev1", "sev2", "sev3", "sev4"]
    assert all(o["description"]["text"] for o in severity_options)
    bad = {"title": {"title": text_value(":fire: :fire:")}}
    assert h.sender.view_submission(view, bad, user_id=ALICE).json() == {
        "response_action": "errors",
        "errors": {"title": "A title needs words, not only emoji or punctuation."},
    }
    good = {
        "title": {"title": text_value("Payments failing")},
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": "sev1"}}},
        "impact": {"impact": text_value("Card payments fail for everyone")},
        "commander": {"commander": {"type": "users_select", "selected_user": BOB}},
        "private": {"private": {"type": "checkboxes", "selected_options": [{"value": "private"}]}},
    }
    assert h.sender.view_submission(view, good, user_id=ALICE).status == 200
    assert h.sender.view_submission(view, good, user_id=ALICE).status == 200
    h.settle()
    assert len(h.bot.store.heads()) == 1
    state = h.bot.service.state_of(1)
    assert (state.commander, state.facts.impact, state.private) == (
        BOB,
        "Card payments fail for everyone",
        True,
    )
    channel = h.slack.channel(state.slack.channel_id)
    assert channel.is_private and {ALICE, BOB} <= channel.members
    assert h.slack.channel(h.announcements).messages == []  # a private incident is not announced


def test_join_channel_button_on_the_announcement(h):
    """Join channel invites the presser; pressing again says they are already in."""
    channel, _ = declared(h)
    announcement = h.slack.channel(h.announcements).messages[0]
    assert any(b["type"] == "actions" for b in announcement.blocks)
    press(h, ids.JOIN, h.announcements, announcement, user=CAROL, value="1")
    assert CAROL in h.slack.channel(channel).members
    assert h.slack.responses[-1]["text"] == f"You're in: <#{channel}>."
    press(h, ids.JOIN, h.announcements, announcement, user=CAROL, value="1")
    assert h.slack.responses[-1]["text"] == f"You are already in <#{channel}>."


def reaction(kind, user, channel, ts, emoji="pushpin"):
    return {
        "type": kind,
        "user": user,
        "reaction": emoji,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "item_user": CAROL,
        "event_ts": "1770215610.000400",
    }


def deliver(h, event, event_id, retry_num=None):
    reply = h.sender.event(event, event_id=event_id, retry_num=retry_num)
    assert reply.status == 200
    h.settle()


def test_pushpin_reaction_puts_the_message_on_the_timeline_once_and_removal_takes_it_off(h):
    """📌 keeps the message's own time, author and text; a retried delivery has one effect."""
    channel, _ = declared(h)
    ts = h.slack.post_as_user(channel, CAROL, "DB CPU pinned at 100% since 14:20")
    deliver(h, reaction("reaction_added", BOB, channel, ts), "Ev01")
    deliver(h, reaction("reaction_added", BOB, channel, ts), "Ev01", retry_num=1)
    deliver(h, reaction("reaction_added", BOB, channel, ts, emoji="eyes"), "Ev02")
    deliver(h, reaction("reaction_added", BOB, h.general, ts), "Ev03")
    pins = [e for e in h.bot.store.load(1) if e.type == ev.MessagePinned.TYPE]
    assert len(pins) == 1
    assert (
        data_of(pins[0])["text"] == "DB CPU pinned at 100% since 14:20"
        and data_of(pins[0])["author"] == CAROL
    )
    assert data_of(pins[0])["message_ts"] == ts and data_of(pins[0])["message_at"].startswith(
        pins[0].at.date().isoformat()
    )
    assert h.bot.service.state_of(1).pins.keys() == {ts}
    deliver(h, reaction("reaction_removed", BOB, channel, ts), "Ev04")
    deliver(h, reaction("reaction_removed", BOB, channel, ts), "Ev04", retry_num=2)
    assert h.bot.service.state_of(1).pins == {}
    assert [e.type for e in h.bot.store.load(1)].count(ev.MessageUnpinned.TYPE) == 1


def test_every_call_the_bot_made_was_accepted(h):
    """Across a run of buttons and modals the strict fake rejected nothing the bot sent."""
    channel, summary = declared(h)
    press(h, ids.ACK, channel, summary)
    press(h, ids.UPDATE, channel, summary)
    press(h, ids.SEVERITY, channel, summary, selected="1:sev1")
    rejected = [(c.method, c.error) for c in h.slack.calls() if not c.ok]
    assert rejected == []
