"""Names outside Slack, without Slack or a database: which ids an incident shows, when a cached
name is due, and how text reads with and without names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core import events as ev
from bot.core.names import NAME_TTL, due_for_refresh, shown_outside_slack
from bot.core.state import replay
from bot.render.renderer import person, readable
from tests.events import E

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)


def test_an_incident_shows_its_people_and_the_channels_linked_in_its_text():
    """Actors, roles, action owners, 📌 authors, mentions and channel links; not `bot`, not
    `alertmanager`, not a bot id, not an escaped (typed) mention, not the responders it only invites."""
    events = [
        E(1, 1, ev.IncidentDeclared.TYPE, "alertmanager", T0, {"title": "t", "severity": "sev1",
          "commander": "U0ALICE", "responders": ["U0ONCALL"]}),
        E(1, 2, ev.NoteAdded.TYPE, "U0BOB", T0, {"text": "ask <@U0DAN|dan> in <#C0OPS|ops>, not &lt;@U0EVE&gt;"}),
        E(1, 3, ev.MessagePinned.TYPE, "U0BOB", T0,
          {"message_ts": "1.2", "author": "B0HOOK", "text": "x", "message_at": T0.isoformat()}),
        E(1, 4, ev.ActionItemAdded.TYPE, "U0BOB", T0, {"n": 1, "text": "fix", "owner": "U0FRED"}),
        E(1, 5, ev.SlackChannelMessagePosted.TYPE, "bot", T0, {"for_seq": 2, "ts": "1.3"}),
    ]  # fmt: skip
    shown = shown_outside_slack(replay(events))
    assert shown.users == {"U0ALICE", "U0BOB", "U0DAN", "U0FRED"}
    assert shown.channels == {"C0OPS"}


def test_a_name_is_due_when_never_fetched_or_over_a_day_old():
    now = T0 + timedelta(days=3)
    fetched = {"U1": now - NAME_TTL, "U2": now - NAME_TTL - timedelta(seconds=1), "U3": now}
    assert due_for_refresh(["U3", "U2", "U1", "U4", "U4"], fetched, now) == ["U2", "U4"]


def test_text_reads_with_names_labels_or_bare_ids():
    """A fetched name first, else the name Slack put in the link, else the bare id; typed
    look-alikes are only unescaped."""
    text = "<@U0BOB> and <@U0DAN|dan> in <#C0OPS|ops> and <#C0X> &amp; &lt;@U0BOB&gt;"
    names = {"U0BOB": "Bob Builder", "C0OPS": "ops-east"}
    assert readable(text, names) == "Bob Builder and dan in #ops-east and C0X & <@U0BOB>"
    assert readable(text, {}) == "U0BOB and dan in #ops and C0X & <@U0BOB>"
    assert (person("U0BOB", names), person("U0CAROL", names), person("bot", names)) == (
        "Bob Builder",
        "U0CAROL",
        "bot",
    )
