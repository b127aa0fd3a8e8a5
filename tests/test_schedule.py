"""Due-work rules as pure functions of (events, now), and the pacer that keeps posts under Slack's limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from bot.core import events as ev
from bot.core import owed
from bot.core.policy import Policy, Schedule
from bot.core.schedule import (
    POSTMORTEM_REMINDER,
    STATUS_UPDATE,
    UNACKED,
    UPDATE_ESCALATION,
    UPDATE_REMINDER,
    decide_notices,
    due_work,
    next_due_at,
)
from bot.core.state import replay
from bot.slack.pacing import ChannelPacer
from tests.events import E, data_of

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)
M = timedelta(minutes=1)
POLICY = Policy(
    schedule=Schedule(
        update_every={"sev1": 15 * M, "sev2": 30 * M},
        mitigated_every=60 * M,
        ack_timeout=10 * M,
        postmortem_after=timedelta(days=2),
    )
)


def log(*steps):
    """Build an incident log: steps are (minutes after T0, event type, data)."""
    events = [E(7, 1, ev.IncidentDeclared.TYPE, "U0ALICE", T0, {"title": "API down", "severity": "sev1"})]
    for minutes, type_, data in steps:
        events.append(E(7, len(events) + 1, type_, "U0BOB", T0 + minutes * M, data))
    return events


ACK = (1, ev.IncidentAcknowledged.TYPE, {})


def notice(minutes, kind, key):
    return (minutes, ev.NoticeDue.TYPE, {"kind": kind, "key": key, "due_at": T0.isoformat()})


def kinds_due(events, minutes):
    return [d.kind for d in due_work(replay(events), POLICY, T0 + minutes * M)]


@pytest.mark.parametrize(
    ("steps", "at", "expected"),
    [
        # SEV1 every 15 minutes: nothing before, the update and a reminder at 15, escalation at 30.
        ([ACK], 14, []),
        ([ACK], 15, [STATUS_UPDATE, UPDATE_REMINDER]),
        ([ACK], 31, [STATUS_UPDATE, UPDATE_REMINDER, UPDATE_ESCALATION]),
        # A human update restarts both clocks.
        ([ACK, (10, ev.StatusUpdated.TYPE, {"status": "identified", "message": "m"})], 24, []),
        (
            [ACK, (10, ev.StatusUpdated.TYPE, {"status": "identified", "message": "m"})],
            25,
            [STATUS_UPDATE, UPDATE_REMINDER],
        ),
        # A posted scheduled update moves the next one, but not the commander's reminder.
        (
            [ACK, notice(15, STATUS_UPDATE, f"{STATUS_UPDATE}@{(T0 + 15 * M).isoformat()}")],
            16,
            [UPDATE_REMINDER],
        ),
        (
            [ACK, notice(15, STATUS_UPDATE, f"{STATUS_UPDATE}@{(T0 + 15 * M).isoformat()}")],
            29,
            [UPDATE_REMINDER],
        ),
        # Severity change: the new cadence runs from that moment; the reminder still counts
        # from the last human word, now with the SEV2 cadence.
        ([ACK, (10, ev.SeverityChanged.TYPE, {"from": "sev1", "to": "sev2"})], 29, []),
        ([ACK, (10, ev.SeverityChanged.TYPE, {"from": "sev1", "to": "sev2"})], 30, [UPDATE_REMINDER]),
        (
            [ACK, (10, ev.SeverityChanged.TYPE, {"from": "sev1", "to": "sev2"})],
            40,
            [UPDATE_REMINDER, STATUS_UPDATE],
        ),
        # Mitigated: the slower cadence; resolved: nothing but the postmortem reminder.
        ([ACK, (5, ev.IncidentMitigated.TYPE, {"note": "n"})], 64, []),
        ([ACK, (5, ev.IncidentMitigated.TYPE, {"note": "n"})], 65, [STATUS_UPDATE, UPDATE_REMINDER]),
        ([ACK, (5, ev.IncidentResolved.TYPE, {"summary": "s"})], 60 * 24, []),
        ([ACK, (5, ev.IncidentResolved.TYPE, {"summary": "s"})], 5 + 60 * 48, [POSTMORTEM_REMINDER]),
        # Nobody acknowledges: re-announce once after ack_timeout.
        ([], 9, []),
        ([], 10, [UNACKED]),
        ([notice(10, UNACKED, f"{UNACKED}@{T0.isoformat()}")], 12, []),
    ],
)
def test_due_work(steps, at, expected):
    """What is due is a pure function of the log and `now`."""
    assert kinds_due(log(*steps), at) == expected


def test_severity_without_cadence_gets_no_updates():
    """SEV4 (no entry in updates.every) owes no scheduled updates or reminders."""
    events = log(ACK, (1, ev.SeverityChanged.TYPE, {"from": "sev1", "to": "sev4"}))
    assert kinds_due(events, 600) == []
    assert next_due_at(replay(events), POLICY) is None


def test_after_downtime_one_update_not_a_burst():
    """Three hours down: one status update is due, and once recorded the next is a cadence away."""
    events = log(ACK, (1, ev.SlackChannelCreated.TYPE, {"channel_id": "C1", "name": "inc-7-api-down"}))
    late = T0 + 180 * M
    notices = decide_notices(replay(events), POLICY, late)
    assert [data_of(n)["kind"] for n in notices] == [STATUS_UPDATE, UPDATE_REMINDER, UPDATE_ESCALATION]
    assert [data_of(n).get("superseded", False) for n in notices] == [False, True, False]
    for n in notices:
        events.append(E(7, len(events) + 1, n.type, n.actor, n.at, data_of(n)))
    state = replay(events)
    assert due_work(state, POLICY, late) == []
    assert next_due_at(state, POLICY) == late + 15 * M
    assert [s.kind for s in owed.owed_slack_work(state, POLICY) if s.kind == owed.StepKind.POST_NOTICE] == [
        owed.StepKind.POST_NOTICE
    ] * 2


def test_status_update_says_when_the_next_one_is_due():
    """A status update notice carries its next due time, cadence from when it was decided."""
    (update, _reminder) = decide_notices(replay(log(ACK)), POLICY, T0 + 16 * M)
    assert data_of(update)["next_update_at"] == (T0 + 31 * M).isoformat()
    assert data_of(update)["severity"] == "sev1" and data_of(update)["status"] == "investigating"


@freeze_time("2026-02-04 15:00:00", tz_offset=0)
def test_next_due_at_with_a_frozen_clock():
    """next_due_at is what the heartbeat indexes; with the wall clock frozen it matches the rules."""
    now = datetime.now(UTC)
    state = replay(log(ACK))
    assert next_due_at(state, POLICY) == T0 + 15 * M
    assert due_work(state, POLICY, now)  # 15:00 is past 14:47


def test_pacer_allows_a_burst_then_one_per_interval():
    """Three posts go at once, then one a second, per channel; other channels are not held up."""
    clock = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(round(seconds, 3))
        clock[0] += seconds

    pacer = ChannelPacer(1.0, burst=3, clock=lambda: clock[0], sleep=sleep)
    waits = [pacer.wait("C1") for _ in range(5)]
    assert waits == [0, 0, 0, 1.0, 1.0]
    assert pacer.wait("C2") == 0
    assert slept == [1.0, 1.0]


def test_pacer_refuses_a_wait_longer_than_asked_without_reserving():
    """With max_wait, a backed-up channel answers None at once and keeps its queue unchanged."""
    clock = [0.0]
    pacer = ChannelPacer(
        1.0, burst=1, clock=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s)
    )
    assert pacer.wait("C1") == 0
    assert pacer.wait("C1", max_wait=0.5) is None
    assert pacer.wait("C1", max_wait=1.0) == 1.0


def item(n, due, owner="U0BOB"):
    return (2, ev.ActionItemAdded.TYPE, {"n": n, "text": f"item {n}", "owner": owner, "due": due})


RESOLVED = (5, ev.IncidentResolved.TYPE, {"summary": "s"})


@pytest.mark.parametrize(
    ("steps", "at", "expected"),
    [
        # An item due 2026-02-06 pings its owner that day and again the next.
        ([ACK, RESOLVED, item(1, "2026-02-06")], 60 * 24, []),
        ([ACK, RESOLVED, item(1, "2026-02-06")], 60 * 34, ["action_due"]),
        ([ACK, RESOLVED, item(1, "2026-02-06")], 60 * 58, ["action_due", "action_overdue"]),
        # Done items and items without an owner or a due date ping nobody.
        ([ACK, RESOLVED, item(1, "2026-02-06"), (3, ev.ActionItemDone.TYPE, {"n": 1})], 60 * 58, []),
        ([ACK, RESOLVED, item(1, "2026-02-06", owner=None)], 60 * 58, []),
        # Two weeks after resolve, open items get a follow-up in the channel.
        ([ACK, RESOLVED, item(1, "2026-03-30")], 5 + 60 * 24 * 14, ["action_follow_up"]),
        ([ACK, RESOLVED, item(1, "2026-03-30"), (3, ev.ActionItemDone.TYPE, {"n": 1})], 5 + 60 * 24 * 14, []),
    ],
)
def test_action_item_reminders_are_due(steps, at, expected):
    """Owner DMs on the due day and the day after; the two-week follow-up only with open items."""
    policy = Policy(schedule=Schedule(update_every={}, ack_timeout=None, postmortem_after=None))
    state = replay(log(*steps))
    assert [d.kind for d in due_work(state, policy, T0 + at * M)] == expected


def test_overdue_supersedes_due_after_downtime():
    """Found both at once, only 'overdue' is posted; 'due' is recorded so it never comes back."""
    policy = Policy(schedule=Schedule(update_every={}, ack_timeout=None, postmortem_after=None))
    state = replay(log(ACK, RESOLVED, item(1, "2026-02-06")))
    notices = decide_notices(state, policy, T0 + 60 * 58 * M)
    assert [(data_of(n)["kind"], data_of(n).get("superseded", False)) for n in notices] == [
        ("action_due", True),
        ("action_overdue", False),
    ]
    assert data_of(notices[1])["owner"] == "U0BOB" and data_of(notices[1])["text"] == "item 1"
