"""The pure paging rules and the `/incident page` parser, without Slack, database or clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import policy_from_mapping
from bot.core import events as ev
from bot.core.commands import parse_command
from bot.core.errors import UserError
from bot.core.paging import OnCallNow, decide_paging, paging_due_at
from bot.core.state import replay
from tests.events import E

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)
SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
POLICY = policy_from_mapping(
    {
        "people": {"Manager": "U0MANAGER"},
        "escalation_policy": [
            {"targets": ["U0FIRST01"], "timeout": "5min"},
            {"targets": ["Manager", "nobody@example.com"]},
        ],
    }
)


def state_after(*payloads, at=T0):
    events = [E(1, 1, "IncidentDeclared", "U0ALICE", T0, {"title": "t", "severity": "sev1"})]
    for i, (payload, when) in enumerate(payloads, 2):
        events.append(ev.Event(1, i, "bot", when, payload))
    return replay(events)


def test_page_parses_a_mention_a_slug_or_a_quoted_name_then_inc_n_and_a_message():
    cmd = parse_command("page <@U0BOB0001|bob> INC-4 please look", SEVERITIES)
    assert (cmd.user, cmd.target, cmd.incident, cmd.text) == ("U0BOB0001", None, 4, "please look")
    cmd = parse_command("page platform-primary", SEVERITIES)
    assert (cmd.user, cmd.target, cmd.incident, cmd.text) == (None, "platform-primary", None, "")
    cmd = parse_command('page "Platform Team Primary" INC-2 db is slow', SEVERITIES)
    assert (cmd.target, cmd.incident, cmd.text) == ("Platform Team Primary", 2, "db is slow")
    with pytest.raises(UserError):
        parse_command("page", SEVERITIES)


def test_level_one_is_due_at_once_and_the_next_after_its_timeout_from_when_it_was_paged():
    state = state_after()
    assert paging_due_at(state, POLICY) == T0
    started, level1 = decide_paging(state, POLICY, OnCallNow(), T0)
    assert isinstance(started.payload, ev.PagingStarted) and isinstance(level1.payload, ev.Paged)
    assert level1.payload.users == ("U0FIRST01",)
    state = state_after((started.payload, T0), (level1.payload, T0))
    assert paging_due_at(state, POLICY) == T0 + timedelta(minutes=5)
    assert decide_paging(state, POLICY, OnCallNow(), T0 + timedelta(minutes=4)) == []


def test_after_downtime_only_the_next_level_is_paged_and_an_unresolved_email_counts_as_nobody():
    started, level1 = decide_paging(state_after(), POLICY, OnCallNow(), T0)
    state = state_after((started.payload, T0), (level1.payload, T0))
    later = T0 + timedelta(hours=3)
    (level2,) = decide_paging(state, POLICY, OnCallNow(), later)
    assert (level2.payload.level, level2.payload.users) == (2, ("U0MANAGER",))
    assert level2.payload.unfilled == ("nobody@example.com",)
    state = state_after((started.payload, T0), (level1.payload, T0), (level2.payload, later))
    # The last level had no timeout: it waits as long as the level before it, then nobody answered.
    assert paging_due_at(state, POLICY) == later + timedelta(minutes=5)


def test_an_acknowledged_or_resolved_incident_is_not_paged():
    assert decide_paging(state_after((ev.IncidentAcknowledged(), T0)), POLICY, OnCallNow(), T0) == []
    assert decide_paging(state_after((ev.IncidentResolved(), T0)), POLICY, OnCallNow(), T0) == []
