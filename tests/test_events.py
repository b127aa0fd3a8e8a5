"""Typed events: every type survives JSON at the store's edge, and a log written by the release
before typed events (dc3bcd1) still loads and shows the same postmortem and status."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import events as ev
from bot.core.events import ALL_TYPES, Event, NewEvent, UnknownEvent, from_json, to_json
from bot.core.policy import Policy
from bot.core.state import replay
from bot.render.renderer import Renderer
from bot.render.views import Messages

GOLDEN = Path(__file__).resolve().parent / "golden"
T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)

_text = st.text(max_size=20)
_opt_text = st.none() | _text
_times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
_share = st.none() | st.floats(0, 1, allow_nan=False)
_burns = st.lists(
    st.builds(ev.SLOBurn, _text, _text, _text, _text, _text, _opt_text, _share, _share, _share), max_size=2
).map(tuple)


def _value_for(hint: str):
    """A strategy for a field from its annotation (the events module's own vocabulary)."""
    table = {
        "str": _text,
        "str | None": _opt_text,
        "int": st.integers(0, 10_000),
        "int | None": st.none() | st.integers(0, 10_000),
        "bool": st.booleans(),
        "datetime": _times,
        "datetime | None": st.none() | _times,
        "tuple[str, ...]": st.lists(_text, max_size=3).map(tuple),
        "AlertLink | None": st.none()
        | st.builds(
            ev.AlertLink,
            _text,
            st.lists(_text, max_size=2).map(tuple),
            _opt_text,
            _opt_text,
            _burns,
            _opt_text,
        ),
        "tuple[RunbookStep, ...]": st.lists(
            st.builds(
                ev.RunbookStep,
                _text,
                _text,
                _text,
                st.lists(_text, max_size=2).map(tuple),
                st.lists(_text, max_size=2).map(tuple),
                st.integers(0, 999),
            ),
            max_size=3,
        ).map(tuple),
        "RunbookEscalation | None": st.none()
        | st.builds(ev.RunbookEscalation, st.integers(1, 86400), _text, _text, st.integers(0, 999)),
        "tuple[SLOBurn, ...]": _burns,
        "tuple[FollowUpItem, ...]": st.lists(
            st.builds(ev.FollowUpItem, st.integers(1, 9), _text, _opt_text, _opt_text), max_size=2
        ).map(tuple),
        "tuple[PagingLevel, ...]": st.lists(
            st.builds(
                ev.PagingLevel,
                st.lists(
                    st.builds(ev.PageTarget, st.sampled_from(["schedule", "user"]), _text, _text), max_size=2
                ).map(tuple),
                st.integers(0, 3600),
            ),
            max_size=3,
        ).map(tuple),
        "tuple[ComponentStatus, ...]": st.lists(st.builds(ev.ComponentStatus, _text, _text), max_size=3).map(
            tuple
        ),
    }
    return table[hint]


def payloads(cls):
    return st.builds(cls, **{f.name: _value_for(f.type) for f in fields(cls)})


@pytest.mark.parametrize("cls", sorted(ALL_TYPES, key=lambda c: c.TYPE))
def test_every_event_type_round_trips_through_json(cls):
    """For each type, generated payloads come back equal from their stored JSON."""

    @given(payloads(cls))
    def round_trip(payload):
        stored = json.loads(json.dumps(to_json(payload)))
        assert from_json(cls.TYPE, stored) == payload

    round_trip()


def test_the_type_string_is_the_class_name_and_unknown_ones_are_refused():
    """The stored type is the class name; an unknown type or field is an error, not a silent loss."""
    assert ev.StatusUpdated.TYPE == "StatusUpdated"
    assert to_json(ev.StatusUpdated(message="m", status="identified", previous_status="investigating"))[
        "from"
    ]
    with pytest.raises(UnknownEvent, match="unknown event type"):
        from_json("IncidentExploded", {})
    with pytest.raises(UnknownEvent, match="has no field"):
        from_json("NoteAdded", {"text": "x", "colour": "red"})
    with pytest.raises(ValueError, match="timezone-aware"):
        NewEvent("U1", datetime(2026, 1, 1), ev.NoteAdded(text="x"))


def _golden_log() -> dict[int, list[Event]]:
    rows = json.loads((GOLDEN / "event_log_dc3bcd1.json").read_text())
    logs: dict[int, list[Event]] = {}
    for r in rows:
        event = Event(
            r["incident"],
            r["seq"],
            r["actor"],
            datetime.fromisoformat(r["at"]),
            from_json(r["type"], r["data"]),
        )
        logs.setdefault(r["incident"], []).append(event)
    return logs


_NO_RUNBOOK = (
    "## Runbook\n\nNo runbook matched the alert.\n\nSuggested action items:\n\n"
    "- Write a runbook for the alert: no runbook matched it in {key}\n\n"
    "_Add one with `/incident action {key} add <text>`._\n\n## Action items\n"
)


def test_a_log_written_by_the_previous_release_still_loads():
    """The log release dc3bcd1 wrote (every event type it had) replays, and the postmortem and
    status it shows are byte for byte what that release showed, but for one deliberate change.

    Issue 11: the postmortem is read outside Slack, so people show by name, and, with no name
    cache here, by their bare id: what dc3bcd1 wrote as `<@U0ALICE01>` (and `<@alertmanager>`)
    is now `U0ALICE01` (`alertmanager`). The status is shown in Slack and keeps its mentions.

    Issue 15: an incident declared from an alert that no runbook matched now has a Runbook section
    before its action items, suggesting one be written (dc3bcd1 did not record the alert's name,
    so it says "the alert"). Incidents not declared from an alert are unchanged."""
    logs = _golden_log()
    types = {e.type for events in logs.values() for e in events}
    new_since = {"ResponderJoined", "SlackChannelNameChosen", "SlackChannelNameTaken"}
    new_since |= {"PagingStarted", "Paged", "SlackPageSent", "PagerDutyNotified", "PagerDutyDeferred"}
    new_since |= {"StatusPagePublished"}
    new_since |= {cls.TYPE for cls in ev.STATUSPAGE_TYPES}
    new_since |= {cls.TYPE for cls in ev.RUNBOOK_TYPES} | {"SlackRunbookPosted", "SlackRunbookUpdated"}
    assert types == {cls.TYPE for cls in ALL_TYPES} - new_since
    shown = json.loads((GOLDEN / "views_dc3bcd1.json").read_text())
    messages = Messages(Renderer(), Policy())
    now = datetime.fromisoformat("2026-12-01T00:00:00+00:00")
    for number, events in logs.items():
        state = replay(events)
        as_mentions = shown[str(number)]["postmortem"]
        assert "<@" in as_mentions  # so the substitution below is not vacuous
        as_plain_ids = re.sub(r"<@([^<>|]+)>", r"\1", as_mentions)
        if state.alert.link is not None:
            as_plain_ids = as_plain_ids.replace("## Action items\n", _NO_RUNBOOK.format(key=state.key), 1)
        assert messages.postmortem(state) == as_plain_ids, number
        assert messages.status(state, now) == shown[str(number)]["status"], number


def test_every_event_type_is_folded_by_some_part_of_the_state():
    """A new event type must be wired into a part's TYPES (or be one IncidentState reads itself)."""
    from bot.core.state import (
        AlertState,
        Cadence,
        Facts,
        PagingProgress,
        PostmortemState,
        PublicState,
        RunbookProgress,
        SlackProgress,
        StatuspageProgress,
    )

    parts = (
        Facts,
        Cadence,
        SlackProgress,
        PostmortemState,
        AlertState,
        PagingProgress,
        PublicState,
        StatuspageProgress,
        RunbookProgress,
    )
    folded = set().union(*(part.TYPES for part in parts))
    read_by_the_state_itself = {ev.IncidentDeclared, ev.NoteAdded, ev.MessagePinned, ev.MessageUnpinned}
    assert folded | read_by_the_state_itself == set(ALL_TYPES)
