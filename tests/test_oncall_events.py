"""The on-call stream's pure rules: its events round-trip, replay gives the overrides in force,
each shift's handoff is decided once (only the current one after downtime), messages and user
group changes are owed until recorded, and what a person types as an override's end is read in
their zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core import audience
from bot.core import oncall_events as oe
from bot.core.oncall import Layer, OnCallSchedule, Rotation

NY = ZoneInfo("America/New_York")
# A daily 09:00 New York rotation, alice then bob, from Monday 2026-03-02.
DAILY = OnCallSchedule(
    "Platform Primary",
    (Layer(Rotation(kind="daily", timezone=NY, start=datetime(2026, 3, 2).date()), ("UALICE", "UBOB")),),
)
MON_10 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York, alice's first turn


def event(seq: int, payload: oe.OnCallPayload, at: datetime = MON_10, actor: str = "bot") -> oe.OnCallEvent:
    return oe.OnCallEvent(seq, actor, at, payload)


def log_of(*payloads: oe.OnCallPayload) -> oe.OnCallLog:
    return oe.replay(event(n, p) for n, p in enumerate(payloads, start=1))


@pytest.mark.parametrize(
    "payload",
    [
        oe.OverrideAdded(3, "Platform Primary", "UCAROL", MON_10, MON_10 + timedelta(hours=2)),
        oe.OverrideRemoved(3),
        oe.HandoffNoticed("Platform Primary", ("UALICE",), MON_10, None, "platform-primary@x"),
        oe.HandoffSent("platform-primary@x", "UALICE"),
        oe.UsergroupSynced("Platform Primary", "S0123", ("UALICE", "UBOB")),
    ],
)
def test_every_event_round_trips_through_its_stored_json(payload):
    """What the store writes is what replay reads back, datetimes and tuples included."""
    assert oe.from_json(payload.TYPE, oe.to_json(payload)) == payload


def test_an_unknown_event_type_is_refused():
    with pytest.raises(ValueError, match="unknown on-call event type 'Nope'"):
        oe.from_json("Nope", {})


def test_an_override_wins_until_removed():
    """Carol's override holds the schedule; removing it gives the shift back to alice."""
    added = oe.OverrideAdded(1, "Platform Primary", "UCAROL", MON_10, MON_10 + timedelta(hours=2))
    log = log_of(added)
    assert [o.user for o in log.active_overrides()] == ["UCAROL"]
    assert [h.users for h in oe.decide_handoffs([DAILY], log, MON_10 + timedelta(minutes=1))] == [("UCAROL",)]
    log = log_of(added, oe.OverrideRemoved(1))
    assert log.active_overrides() == () and log.removed == {1}
    assert [h.users for h in oe.decide_handoffs([DAILY], log, MON_10)] == [("UALICE",)]


def test_a_handoff_is_decided_once_per_shift_and_only_the_current_one_after_downtime():
    """Once recorded, the same shift is not decided again; three days later only the shift in
    force then is, not the two missed in between."""
    first = oe.decide_handoffs([DAILY], oe.OnCallLog(), MON_10)
    assert [(h.users, h.shift_start) for h in first] == [
        (("UALICE",), datetime(2026, 3, 2, 14, 0, tzinfo=UTC))
    ]
    log = log_of(*first)
    assert oe.decide_handoffs([DAILY], log, MON_10 + timedelta(hours=5)) == []
    thursday = MON_10 + timedelta(days=3)
    later = oe.decide_handoffs([DAILY], log, thursday)
    assert [(h.users, h.shift_start) for h in later] == [(("UBOB",), datetime(2026, 3, 5, 14, 0, tzinfo=UTC))]
    assert later[0].key == oe.handoff_key(DAILY, later[0].shift_start)


def test_messages_are_owed_until_recorded_for_the_latest_handoff_only():
    """The incoming person's DM and the handoff channel's message are owed once each; an email
    that never resolved has no DM; an older handoff is superseded."""
    old = oe.HandoffNoticed("Platform Primary", ("UALICE",), MON_10, None, "k1")
    new = oe.HandoffNoticed("Platform Primary", ("UBOB", "erin@example.com"), MON_10, None, "k2")
    owed = oe.owed_handoff_messages(log_of(old, new), "#oncall")
    assert [(m.handoff.key, m.to, m.direct) for m in owed] == [("k2", "UBOB", True), ("k2", "#oncall", False)]
    done = log_of(old, new, oe.HandoffSent("k2", "UBOB"), oe.HandoffSent("k2", "#oncall"))
    assert oe.owed_handoff_messages(done, "#oncall") == []
    assert oe.handoff_destination(owed[0]) == audience.direct_message("UBOB")


def test_a_usergroup_follows_who_is_on_call_and_an_empty_one_is_disabled_then_enabled():
    groups = {"Platform Primary": "S0123"}
    (change,) = oe.owed_usergroup_changes([DAILY], groups, oe.OnCallLog(), MON_10)
    assert (change.users, change.enable) == (("UALICE",), False)
    synced = log_of(oe.UsergroupSynced("Platform Primary", "S0123", ("UALICE",)))
    assert oe.owed_usergroup_changes([DAILY], groups, synced, MON_10) == []
    emptied = log_of(oe.UsergroupSynced("Platform Primary", "S0123", ()))
    (change,) = oe.owed_usergroup_changes([DAILY], groups, emptied, MON_10)
    assert (change.users, change.enable) == (("UALICE",), True)


def test_an_override_end_is_read_as_a_duration_or_a_wall_time_in_the_readers_zone():
    now = MON_10
    assert oe.override_end("2h", now, NY) == now + timedelta(hours=2)
    # 09:00 in New York on 3 March (EST) is 14:00 UTC.
    assert oe.override_end("until 2026-03-03 09:00", now, NY) == datetime(2026, 3, 3, 14, 0, tzinfo=UTC)
    for spec, reason in (
        ("until 2026-03-01 09:00", "in the past"),
        ("until tomorrow", "give the end as"),
        ("until 2026-13-40 09:00", "not a date"),
        ("400d", "more than a year away"),
    ):
        with pytest.raises(ValueError, match=reason):
            oe.override_end(spec, now, NY)
