"""The runbooks after the fact: their events on the timeline, the postmortem's Runbook section
(golden file), and a runbook's communication template filled as the scheduled status update."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core import events as ev
from bot.core.events import Event, from_json, to_json
from bot.core.policy import Policy
from bot.core.postmortem import describe, timeline_rows
from bot.core.runbook_report import (
    FIRED,
    MISSED,
    PENDING,
    RESOLVED_BEFORE,
    communication_for,
    fill_communication,
    runbook_section,
)
from bot.core.state import replay
from bot.render.renderer import Renderer
from bot.render.views import Messages

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)
GOLDEN = Path(__file__).parent / "golden"

# The seed's communication template, verbatim.
SEED_COMMUNICATION = """🚨 Incident: High error rate on API service
Status: Investigating
Impact: ~10% of API requests failing
Started: 2026-02-04 14:32 UTC
Last Update: 14:35 UTC
Actions:
- Rolled back recent deployment
- Monitoring error rate
Next update: 14:45 UTC"""

SEED_STEPS = (
    ev.RunbookStep("Step 1: Check recent deployments", commands=("kubectl rollout history deployment/api",)),
    ev.RunbookStep("Step 2: Check dependencies", commands=("curl -s https://status.example.com/api",)),
    ev.RunbookStep("Step 3: Check logs", commands=("kubectl logs -l app=api --since=15m | grep ERROR",)),
    ev.RunbookStep("Step 4: Check database connections"),
    ev.RunbookStep("Mitigation", section="Mitigation"),
)
SEED_ESCALATION = ev.RunbookEscalation(
    1200, "@platform-leads", "If not resolved in 20 minutes, escalate to @platform-leads", line=40
)


def seed_runbook(matched_by: str = "annotation", escalation: bool = True) -> ev.RunbookAttached:
    return ev.RunbookAttached(
        name="high-error-rate",
        title="High Error Rate (5xx)",
        steps=SEED_STEPS,
        symptoms="Error rate > 5% for 5 minutes",
        impact="Users see errors",
        communication=SEED_COMMUNICATION,
        escalation=SEED_ESCALATION if escalation else None,
        escalate_at=T0 + timedelta(minutes=1, seconds=1200) if escalation else None,
        matched_by=matched_by,
    )


def log(number: int, steps, alert: ev.AlertLink | None = None, title: str = "API error rate above 5%"):
    """steps: (minutes after T0, actor, payload); each event goes through its stored JSON form."""
    declared = ev.IncidentDeclared(title=title, severity="sev1", commander="U0ALICE", alert=alert)
    events = [Event(number, 1, "U0ALICE", T0, declared)]
    for minutes, actor, payload in steps:
        stored = from_json(payload.TYPE, to_json(payload))
        events.append(Event(number, len(events) + 1, actor, T0 + timedelta(minutes=minutes), stored))
    return events


def tick(step: int, outcome: str) -> ev.RunbookStepChecked:
    return ev.RunbookStepChecked("high-error-rate", step, outcome, SEED_STEPS[step - 1].title)


ALERT = ev.AlertLink(group='{}:{alertname="HighErrorRate"}', fingerprints=("f1",), alertname="HighErrorRate")
ESCALATED = ev.RunbookEscalated(
    "high-error-rate", "runbook@high-error-rate", "@platform-leads", 1200, users=("U0CAROL",), paged=True
)

# INC-42: declared from an alert, the seed's runbook attached by its annotation a minute later;
# steps 1 done, 2 skipped, 3 done, 4 and Mitigation never reached; escalated after 20 minutes.
WITH_RUNBOOK = log(
    42,
    [
        (1, "bot", seed_runbook()),
        (4, "U0BOB", tick(1, "done")),
        (6, "U0BOB", tick(2, "skipped")),
        (7, "U0ALICE", tick(2, "done")),  # a second tick of step 2: no effect
        (10, "U0ALICE", tick(3, "done")),
        (21, "bot", ESCALATED),
        (35, "U0ALICE", ev.IncidentResolved(summary="Pool size raised")),
    ],
    alert=ALERT,
)
NAMES = {"U0ALICE": "Alice Liddell", "U0BOB": "bob"}


def markdown(events, names=None) -> str:
    return Messages(Renderer(), Policy()).postmortem(replay(events), names)


@pytest.fixture
def messages() -> Messages:
    return Messages(Renderer(), Policy())


# The postmortem's Runbook section --------------------------------------------------------------


def test_the_runbook_section_is_exactly_the_golden_file():
    """An incident with the seed's runbook: which runbook, each step done, skipped or never
    reached with who and when, the escalation's timing, and the suggested action item."""
    assert markdown(WITH_RUNBOOK, NAMES) == (GOLDEN / "postmortem_inc_42_runbook.md").read_text(
        encoding="utf-8"
    )


def test_the_runbook_section_is_byte_identical_on_every_render():
    """The section is a function of the log: two renders give the same bytes."""
    assert markdown(WITH_RUNBOOK).encode() == markdown(list(WITH_RUNBOOK)).encode()


def test_an_incident_without_runbook_nor_alert_has_no_runbook_section():
    """Nothing to say, so the postmortem says nothing (the older golden file is unchanged)."""
    text = markdown(log(43, [(5, "U0ALICE", ev.IncidentResolved(summary="s"))]))
    assert "## Runbook" not in text and "runbook" not in text.casefold().replace("/incident", "")


def test_an_alert_no_runbook_matched_suggests_writing_one():
    """Declared from an alert with no runbook attached: the section says so and offers the item."""
    text = markdown(log(44, [(5, "U0ALICE", ev.IncidentResolved(summary="s"))], alert=ALERT))
    assert "## Runbook\n\nNo runbook matched the alert HighErrorRate.\n\n" in text
    assert "- Write a runbook for HighErrorRate: no runbook matched it in INC-44\n" in text


def test_escalation_outcomes_resolved_before_missed_pending_and_no_rule():
    """Not fired: resolved before the deadline (by how much), resolved after it without firing,
    still open; and a runbook with no escalation rule."""
    attach = (1, "bot", seed_runbook())
    before = runbook_section(replay(log(45, [attach, (15, "U0ALICE", ev.IncidentResolved(summary="s"))])))
    after = runbook_section(replay(log(46, [attach, (30, "U0ALICE", ev.IncidentResolved(summary="s"))])))
    open_ = runbook_section(replay(log(47, [attach])))
    fired = runbook_section(replay(WITH_RUNBOOK))
    assert before.runbooks[0].escalation is not None and after.runbooks[0].escalation is not None
    assert (before.runbooks[0].escalation.outcome, before.runbooks[0].escalation.margin) == (
        RESOLVED_BEFORE,
        timedelta(minutes=6),
    )
    assert (after.runbooks[0].escalation.outcome, after.runbooks[0].escalation.margin) == (
        MISSED,
        timedelta(minutes=9),
    )
    assert open_.runbooks[0].escalation is not None and open_.runbooks[0].escalation.outcome == PENDING
    assert fired.runbooks[0].escalation is not None
    assert (fired.runbooks[0].escalation.outcome, fired.runbooks[0].escalation.fired_after) == (
        FIRED,
        timedelta(minutes=20),
    )
    text = markdown(log(45, [attach, (15, "U0ALICE", ev.IncidentResolved(summary="s"))]))
    assert "not needed; the incident was resolved 6m before its deadline (2026-02-04 14:53 UTC)." in text
    assert "never fired, though the incident was resolved 9m after its deadline" in markdown(
        log(46, [attach, (30, "U0ALICE", ev.IncidentResolved(summary="s"))])
    )
    assert "due 2026-02-04 14:53 UTC; not fired while the incident is open." in markdown(log(47, [attach]))
    no_rule = markdown(log(48, [(1, "U0ALICE", seed_runbook("hand", escalation=False))]))
    assert "Attached by hand, 2026-02-04 14:33 UTC, by U0ALICE." in no_rule
    assert "Escalation: the runbook has no escalation rule." in no_rule
    assert "Suggested action items" not in no_rule  # nothing skipped, not from an alert


# The timeline ------------------------------------------------------------------------------------


def test_the_postmortem_timeline_lists_each_runbook_event_once():
    """Attached, each step's first tick (the repeated tick of step 2 is not listed) and the escalation."""
    rows = [r.what for r in timeline_rows(replay(WITH_RUNBOOK)) if "Runbook" in r.what]
    assert rows == [
        "Runbook attached: High Error Rate (5xx) (high-error-rate), matched by the alert's runbook annotation",
        "Runbook high-error-rate step 1 done: Step 1: Check recent deployments",
        "Runbook high-error-rate step 2 skipped: Step 2: Check dependencies",
        "Runbook high-error-rate step 3 done: Step 3: Check logs",
        "Runbook high-error-rate: not resolved within 20 minutes; escalated to @platform-leads; paged <@U0CAROL>",
    ]


def test_an_escalation_that_paged_nobody_says_the_target_was_mentioned():
    """No one to page: the row says the target was mentioned."""
    mentioned = ev.RunbookEscalated("high-error-rate", "runbook@high-error-rate", "@platform-leads", 3600)
    event = log(49, [(61, "bot", mentioned)])[1]
    assert describe(event) == (
        "Runbook high-error-rate: not resolved within 1 hour; escalated to @platform-leads (mentioned; nobody to page)"
    )


def test_timeline_entries_in_slack_name_the_runbook_step_and_who_and_escape_text(messages):
    """Posted in the channel and thread: each runbook event in its own words, runbook text escaped."""
    state = replay(WITH_RUNBOOK)
    entries = [messages.timeline_entry(e, state) for e in WITH_RUNBOOK if type(e.payload) in ev.RUNBOOK_TYPES]
    assert entries[0] == (
        ":green_book: Runbook attached: *High Error Rate (5xx)* (`high-error-rate`), matched by the alert's"
        " runbook annotation · 5 steps · if not resolved by 14:53 UTC, it escalates to @platform-leads"
    )
    assert entries[2] == (
        ":fast_forward: Runbook high-error-rate step 2 skipped: Step 2: Check dependencies · <@U0BOB> at 14:38 UTC"
    )
    assert entries[-1] == (
        ":rotating_light: Runbook high-error-rate: not resolved within 20 minutes; escalated to"
        " @platform-leads, paged <@U0CAROL>."
    )
    by_hand = ev.RunbookAttached(name="a&b", title="<Disk> & co", matched_by="hand")
    mentioned = ev.RunbookEscalated("a&b", "runbook@a&b", "<@U0DAVE> & <team>", 60)
    attached, escalated = log(50, [(1, "U0BOB", by_hand), (2, "bot", mentioned)])[1:]
    assert messages.timeline_entry(attached, state) == (
        ":green_book: Runbook attached: *&lt;Disk&gt; &amp; co* (`a&amp;b`), attached by hand by <@U0BOB> · 0 steps"
    )
    assert messages.timeline_entry(escalated, state) == (
        ":rotating_light: Runbook a&amp;b: not resolved within 1 minute; escalated to <@U0DAVE> &amp; &lt;team&gt;"
        " (mentioned; nobody to page)."
    )


# The communication template ----------------------------------------------------------------------

VALUES = {
    "Incident": "INC-42: API error rate above 5%",
    "Status": "Identified",
    "Severity": "SEV1",
    "Impact": None,
    "Started": "2026-02-04 14:32 UTC",
    "Last update": "14:50 UTC",
    "Actions": ["Step 1: Check recent deployments", "Step 3: Check logs", "Pool size raised"],
    "Next update": "15:05 UTC",
}


def test_the_seed_template_is_filled_from_the_incident_keeping_the_runbooks_impact():
    """Known fields take the incident's values (prefix kept, `Last Update` in any case); the
    Actions examples are replaced by the steps done and the update; Impact stays as written."""
    assert fill_communication(SEED_COMMUNICATION, VALUES) == (
        "🚨 Incident: INC-42: API error rate above 5%\n"
        "Status: Identified\n"
        "Impact: ~10% of API requests failing\n"
        "Started: 2026-02-04 14:32 UTC\n"
        "Last Update: 14:50 UTC\n"
        "Actions:\n"
        "- Step 1: Check recent deployments\n"
        "- Step 3: Check logs\n"
        "- Pool size raised\n"
        "Next update: 15:05 UTC"
    )


def test_impact_is_filled_once_the_incident_records_one_and_actions_may_be_one_line():
    """Impact recorded: it replaces the runbook's; a one-line Actions value drops the examples."""
    filled = fill_communication(
        SEED_COMMUNICATION, {**VALUES, "impact": "EU checkout down", "ACTIONS": "none yet"}
    )
    assert "Impact: EU checkout down\n" in filled
    assert "Actions: none yet\nNext update: 15:05 UTC" in filled
    assert "Rolled back" not in filled


def test_unknown_lines_and_fields_without_a_value_are_kept_as_written():
    """Lines the bot does not know (prose, other fields, their list items, blank lines) and known
    fields left out of the values stay exactly as the runbook wrote them."""
    template = (
        "*Customer notice* for #api\n"
        "\n"
        "Owner: @sre-team\n"
        "- ask in #help\n"
        "**Status:** Investigating\n"
        "  Severity :  SEV?\n"
        "Workaround: retry\n"
        "Last update: 14:35 UTC"
    )
    assert fill_communication(template, {"status": "Monitoring", "severity": "SEV2"}) == (
        "*Customer notice* for #api\n"
        "\n"
        "Owner: @sre-team\n"
        "- ask in #help\n"
        "**Status:** Monitoring\n"
        "  Severity : SEV2\n"
        "Workaround: retry\n"
        "Last update: 14:35 UTC"
    )


def test_list_values_follow_the_examples_bullet_and_each_item_is_one_line():
    """Items use the example's bullet (`•`), and an item's line breaks become spaces."""
    assert fill_communication("Actions:\n• a\n• b\nDone.", {"Actions": ["x\ny", "z"]}) == (
        "Actions:\n• x y\n• z\nDone."
    )


def status_update(seq_after: int, events, last_update_text: str | None = "Pool size raised") -> Event:
    due = ev.NoticeDue(
        kind="status_update",
        key="status_update@1",
        due_at=T0 + timedelta(minutes=seq_after),
        status="identified",
        severity="sev1",
        last_update_at=T0 + timedelta(minutes=18),
        last_update_text=last_update_text,
        next_update_at=T0 + timedelta(minutes=45),
    )
    return Event(events[0].incident, len(events) + 1, "bot", T0 + timedelta(minutes=seq_after), due)


def test_the_scheduled_status_update_is_the_runbooks_template_filled_and_escaped(messages):
    """Through Messages.notice: the template filled from the incident as of the update (a step
    ticked after it is left out), escaped for mrkdwn."""
    events = log(
        51,
        [
            (1, "bot", seed_runbook()),
            (4, "U0BOB", tick(1, "done")),
            (6, "U0BOB", tick(2, "skipped")),
        ],
        title="API <5xx> & errors",
    )
    update = status_update(20, events, last_update_text="Rolled back &amp; watching")
    later = Event(51, update.seq + 1, "U0BOB", T0 + timedelta(minutes=25), tick(3, "done"))
    state = replay([*events, update, later])
    assert messages.notice(update, state) == (
        "🚨 Incident: INC-51: API &lt;5xx&gt; &amp; errors\n"
        "Status: Identified\n"
        "Impact: ~10% of API requests failing\n"
        "Started: 2026-02-04 14:32 UTC\n"
        "Last Update: 14:50 UTC\n"
        "Actions:\n"
        "- Step 1: Check recent deployments\n"
        "- Rolled back &amp; watching\n"
        "Next update: 15:17 UTC"
    )


def test_a_status_update_with_nothing_done_says_none_yet(messages):
    """No step done and no update: Actions reads `none yet`."""
    events = log(52, [(1, "bot", seed_runbook())])
    update = status_update(10, events, last_update_text=None)
    text = messages.notice(update, replay([*events, update]))
    assert "Actions: none yet\nNext update: 15:17 UTC" in text


def test_without_a_communication_template_the_status_update_is_the_default(messages):
    """No runbook, or one without a template: the status update keeps its usual one-line form."""
    plain = log(53, [])
    update = status_update(10, plain)
    default = messages.notice(update, replay([*plain, update]))
    assert default.startswith(
        ":rotating_light: *Incident INC-53: API error rate above 5%* · Status: Identified"
    )
    no_template = log(53, [(1, "bot", ev.RunbookAttached(name="x", title="X", communication=None))])
    update = status_update(10, no_template)
    assert messages.notice(update, replay([*no_template, update])) == default


def test_the_latest_attached_runbook_with_a_template_is_used():
    """Two runbooks with templates: the one attached last; one attached after the update is not."""
    first = ev.RunbookAttached(name="first", title="First", communication="Status: a")
    second = ev.RunbookAttached(name="second", title="Second", communication="Status: b")
    third = ev.RunbookAttached(name="third", title="Third", communication="Status: c")
    events = log(54, [(1, "bot", first), (2, "bot", second), (30, "bot", third)])
    state = replay(events)
    chosen = communication_for(state, before_seq=4)
    assert chosen is not None and chosen.name == "second"
    latest = communication_for(state)
    assert latest is not None and latest.name == "third"
