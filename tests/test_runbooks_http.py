"""Runbooks end to end: the real bot over signed HTTP, the strict fake Slack, and a driven clock.

A runbook attached by hand or by an alert is posted as a checklist; Done / Skip are recorded once
(whoever presses, however often) and the message is edited in place; the escalation deadline fires
once, through restarts and replicas, unless the incident is resolved first."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import policy_from_mapping
from bot.core import events as ev
from bot.core.events import RunbookEscalation, RunbookStep
from bot.core.runbook import MAX_BLOCKS, Runbook, RunbookLibrary
from bot.render import ids
from bot.runbook_files import read_runbook
from bot.scheduler import heartbeat
from bot.server import build_bot
from tests.clock import DrivenClock
from tests.harness import ALICE, BOB, CAROL, ONCALL, SYNC_TIMEOUT, start_harness, team_policy
from tests.test_alert_intake_http import post as post_alert
from tests.test_manifest import manifest_bot_scopes

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)
M = timedelta(minutes=1)

# The seed's runbook, as shipped in runbooks/ (its parsing is tests/test_runbook_files.py's business).
SEED = read_runbook(Path(__file__).resolve().parent.parent / "runbooks" / "high-error-rate.md")
STEP_1_COMMANDS = (
    "# Was there a recent deploy?\n"
    "kubectl rollout history deployment/api-service\n"
    "\n"
    "# If yes, rollback\n"
    "kubectl rollout undo deployment/api-service"
)
WEEKLY = {"type": "weekly", "handoff_time": "09:00", "timezone": "UTC", "start": "2026-01-05"}


def library(*runbooks: Runbook) -> RunbookLibrary:
    return RunbookLibrary(runbooks or (SEED,), "runbooks")


@pytest.fixture
def clock():
    return DrivenClock(T0)


@pytest.fixture
def h(database_url, clock):
    harness = start_harness(
        database_url, manifest_bot_scopes(), policy=team_policy(runbooks=library()), clock=clock
    )
    yield harness
    harness.close()


def beat(bot) -> None:
    heartbeat(bot.service, bot.queue, bot.settings.heartbeat_seconds)
    assert bot.wait_idle(SYNC_TIMEOUT), "Slack sync did not finish"


def declare_and_attach(h, user=ALICE) -> str:
    h.command("declare sev2 API errors")
    h.settle()
    channel = h.incident_channel()
    reply = h.command("runbook high-error-rate", user=user, channel=channel)
    assert reply.status == 200
    h.settle()
    return channel


def checklist(h, channel):
    """The checklist messages in the channel (those with Done/Skip or a header naming the runbook)."""
    return [
        m for m in h.slack.channel(channel).messages if m.blocks and "runbook.step." in json.dumps(m.blocks)
    ]


def press(h, channel, message, action, step, user, name="high-error-rate"):
    return h.sender.block_action(
        action,
        value=f"1:{step}:{name}",
        user_id=user,
        channel_id=channel,
        message_ts=message.ts,
        response_url=h.slack.response_url(),
        block_id=f"runbook.actions.{step}",
    )


def checks(h, number=1) -> list[tuple[str, int, str, str]]:
    return [
        (e.actor, e.payload.step, e.payload.outcome, e.payload.name)
        for e in h.bot.store.load(number)
        if isinstance(e.payload, ev.RunbookStepChecked)
    ]


def test_attaching_by_hand_posts_the_checklist_with_commands_whole_and_done_skip_on_each_step(h):
    """`/incident runbook high-error-rate` copies the runbook into the log and posts it: header,
    symptoms and impact as context, the communication template, the escalation rule, each step with
    its commands in code blocks exactly as written, its links, and Done/Skip."""
    channel = declare_and_attach(h)
    (attached,) = [e.payload for e in h.bot.store.load(1) if isinstance(e.payload, ev.RunbookAttached)]
    assert attached.matched_by == "hand" and attached.steps == SEED.steps
    assert attached.escalate_at == T0 + 20 * M
    (message,) = checklist(h, channel)
    blocks = message.blocks
    assert blocks[0]["type"] == "header" and "High Error Rate (5xx)" in blocks[0]["text"]["text"]
    text = json.dumps(blocks)
    assert "Error rate &gt;5% for 5 minutes" in text and "Customer requests failing" in text
    assert "escalate to @platform-leads" in text and "deadline 14:52 UTC" in text
    code = [
        b["text"]["text"] for b in blocks if b["type"] == "section" and b["text"]["text"].startswith("```")
    ]
    assert f"```\n{STEP_1_COMMANDS}\n```" in code  # whole lines, exactly as written
    assert SEED.steps[2].commands[0] in "".join(code)
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 5
    assert [e["action_id"] for e in actions[0]["elements"]] == [ids.RUNBOOK_DONE, ids.RUNBOOK_SKIP]
    assert "https://status.stripe.com" in text
    # Attaching is on the timeline: said in the channel.
    assert any("high-error-rate" in m.text and not m.blocks for m in h.slack.channel(channel).messages)


def test_done_and_skip_are_recorded_with_who_and_edit_the_checklist_in_place(h, clock):
    """A press records the tick with who and when; the same message is edited to show it (no new
    checklist), and the tick is said in the channel and the announcement thread."""
    channel = declare_and_attach(h)
    (message,) = checklist(h, channel)
    clock.after(3 * M)
    assert press(h, channel, message, ids.RUNBOOK_DONE, 1, BOB).status == 200
    h.settle()
    clock.after(4 * M)
    press(h, channel, message, ids.RUNBOOK_SKIP, 2, CAROL)
    h.settle()
    assert checks(h) == [(BOB, 1, "done", "high-error-rate"), (CAROL, 2, "skipped", "high-error-rate")]
    (edited,) = checklist(h, channel)
    assert edited.ts == message.ts and edited.edited
    text = json.dumps(edited.blocks)
    assert f"Done by <@{BOB}> at 14:35 UTC" in text and f"Skipped by <@{CAROL}> at 14:36 UTC" in text
    assert len([b for b in edited.blocks if b["type"] == "actions"]) == 3
    assert any("skipped" in m.text.lower() and "Check dependencies" in m.text for m in thread(h))


def test_pressing_twice_or_two_people_at_once_has_one_effect(h):
    """Done pressed twice by one person, then Done and Skip on one step by two people at the same
    moment: each step is settled once; the later press is told who settled it."""
    channel = declare_and_attach(h)
    (message,) = checklist(h, channel)
    press(h, channel, message, ids.RUNBOOK_DONE, 1, BOB)
    h.settle()
    press(h, channel, message, ids.RUNBOOK_DONE, 1, BOB)
    h.settle()
    assert "already done by <@U0BOB0001>" in h.slack.responses[-1]["text"]
    barrier = threading.Barrier(2)

    def at_once(action, user):
        barrier.wait()
        press(h, channel, message, action, 3, user)

    threads = [
        threading.Thread(target=at_once, args=(ids.RUNBOOK_DONE, ALICE)),
        threading.Thread(target=at_once, args=(ids.RUNBOOK_SKIP, CAROL)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    h.settle()
    steps = [(step, outcome) for _, step, outcome, _ in checks(h)]
    assert steps.count((1, "done")) == 1
    assert len([s for s in steps if s[0] == 3]) == 1
    (edited,) = checklist(h, channel)
    assert len([b for b in edited.blocks if b["type"] == "actions"]) == 3


def test_a_runbook_that_is_not_in_the_folder_is_refused_with_the_names_and_listing_shows_progress(h):
    h.command("declare sev2 API errors")
    h.settle()
    channel = h.incident_channel()
    reply = h.command("runbook no-such-thing", channel=channel)
    assert "no runbook called `no-such-thing`" in reply.json()["text"]
    assert "`high-error-rate`" in reply.json()["text"]
    h.command("runbook HIGH-ERROR-RATE", channel=channel)  # names compare case-insensitively
    h.settle()
    again = h.command("runbook high-error-rate", channel=channel)
    assert "already attached" in again.json()["text"]
    listed = h.command("runbook", channel=channel).json()["text"]
    assert "`high-error-rate`" in listed and "*attached*, 0 done or skipped" in listed
    assert len(checklist(h, channel)) == 1


def test_the_escalation_fires_once_at_its_deadline_across_a_restart_and_two_replicas(h, clock, database_url):
    """Not before 20 minutes; at 20 minutes the target is mentioned in the channel and the
    announcement thread, once, even with a restarted bot and a second replica beating too."""
    channel = declare_and_attach(h)
    clock.after(20 * M - timedelta(seconds=1))
    beat(h.bot)
    assert not [e for e in h.bot.store.load(1) if isinstance(e.payload, ev.RunbookEscalated)]
    # A restart (the old process dies holding the scheduler lease, which lapses): a new bot on the
    # same database, and another replica beside it.
    settings = h.bot.settings
    h.bot.close()
    first, second = build_bot(settings, clock=clock), build_bot(settings, clock=clock)
    try:
        clock.after(21 * M)
        barrier = threading.Barrier(2)

        def beat_at_once(bot):
            barrier.wait()
            beat(bot)

        threads = [threading.Thread(target=beat_at_once, args=(b,)) for b in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        beat(first)
        beat(second)
        escalated = [e for e in first.store.load(1) if isinstance(e.payload, ev.RunbookEscalated)]
        assert len(escalated) == 1 and escalated[0].at == T0 + 21 * M
        said = [
            m.text
            for m in h.slack.channel(channel).messages
            if "escalated to @platform-leads" in m.text and not m.blocks
        ]
        assert len(said) == 1
        assert len([m for m in thread(h) if "escalated to @platform-leads" in m.text]) == 1
        (message,) = checklist(h, channel)
        assert "escalated at 14:53 UTC" in json.dumps(message.blocks)
    finally:
        first.close()
        second.close()


def test_resolving_before_the_deadline_cancels_the_escalation(h, clock):
    channel = declare_and_attach(h)
    clock.after(10 * M)
    h.command("resolve Rolled back", channel=channel)
    h.settle()
    clock.after(60 * M)
    beat(h.bot)
    assert not [e for e in h.bot.store.load(1) if isinstance(e.payload, ev.RunbookEscalated)]
    assert h.bot.service.state_of(1).is_resolved


def test_an_escalation_to_a_schedule_pages_whoever_holds_it(database_url, clock):
    """ "escalate to Platform Leads" names a schedule: its holder is paged (DM, invite, mention)."""
    oncall = policy_from_mapping(
        {"schedules": [{"name": "Platform Leads", "rotation": WEEKLY, "users": [CAROL]}]}
    ).oncall
    rule = RunbookEscalation(600, "Platform Leads", "after 10m escalate to Platform Leads")
    runbook = Runbook("db", "Database", (RunbookStep("Look"),), escalation=rule)
    harness = start_harness(
        database_url,
        manifest_bot_scopes(),
        policy=team_policy(runbooks=library(runbook), oncall=oncall),
        clock=clock,
    )
    try:
        harness.command("declare sev3 Slow queries")
        harness.settle()
        harness.command("runbook db", channel=harness.incident_channel())
        harness.settle()
        clock.after(10 * M)
        beat(harness.bot)
        log = harness.bot.store.load(1)
        (escalated,) = [e.payload for e in log if isinstance(e.payload, ev.RunbookEscalated)]
        assert escalated.users == (CAROL,) and escalated.paged
        pages = [e.payload for e in log if isinstance(e.payload, ev.Paged)]
        assert [(p.key, p.users) for p in pages] == [("runbook@db", (CAROL,))]
        dm = harness.slack.dm(CAROL)
        assert dm is not None and any(ids.PAGE_ACK in json.dumps(m.blocks) for m in dm.messages)
        assert CAROL in harness.slack.channel(harness.incident_channel()).members
    finally:
        harness.close()


def test_a_long_runbook_is_split_between_steps_and_never_cuts_a_command(database_url):
    """40 steps with commands of 8,000 characters: several messages, each within Slack's 50 blocks
    (the strict fake accepted them), and each command's pieces join back to it exactly."""
    long_command = "\n".join(f"echo 'line {i} & <{i}>' # {'x' * 60}" for i in range(100))
    steps = tuple(RunbookStep(f"Step {i}: é 日本語 🚀", commands=(long_command,)) for i in range(1, 41))
    big = Runbook("big", "Big runbook", steps)
    harness = start_harness(database_url, manifest_bot_scopes(), policy=team_policy(runbooks=library(big)))
    try:
        harness.command("declare sev3 Lots to do")
        harness.settle()
        channel = harness.incident_channel()
        harness.command("runbook big", channel=channel)
        harness.settle()
        messages = checklist(harness, channel)
        assert len(messages) > 1
        assert all(len(m.blocks) <= MAX_BLOCKS for m in messages)
        pieces: dict[int, list[str]] = {}
        step = 0
        for m in messages:
            for block in m.blocks:
                if block.get("block_id", "").startswith("runbook.step."):
                    step = int(block["block_id"].rsplit(".", 1)[1])
                elif block["type"] == "section" and block["text"]["text"].startswith("```"):
                    pieces.setdefault(step, []).append(block["text"]["text"][4:-4])
        assert sorted(pieces) == list(range(1, 41))
        escaped = long_command.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert all("\n".join(p) == escaped for p in pieces.values())
    finally:
        harness.close()


def alert(alertname, runbook=None, service=None, fingerprint="f1"):
    annotations = {"summary": "API error rate above 5%"}
    if runbook:
        annotations["runbook"] = runbook
    labels = {"alertname": alertname, "severity": "page"}
    if service:
        labels["service"] = service
    return {
        "version": "4",
        "receiver": "incident-bot",
        "groupKey": f'{{}}:{{alertname="{alertname}"}}',
        "status": "firing",
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": annotations,
                "startsAt": "2026-02-04T14:30:00Z",
                "fingerprint": fingerprint,
            }
        ],
    }


def thread(h, number=1):
    ts = h.bot.service.state_of(number).slack.announcement_ts
    return [m for m in h.slack.channel(h.announcements).messages if m.thread_ts == ts and m.ts != ts]


@pytest.mark.parametrize(
    ("body", "matched_by"),
    [
        (alert("ServiceDegraded", runbook="https://runbooks.company.com/high-error-rate"), "annotation"),
        (
            alert("ServiceDegraded", runbook="https://runbooks.company.com/high-error-rate.md?x=1"),
            "annotation",
        ),
        (alert("HighErrorRate"), "alertname"),
        (alert("high-error-rate"), "alertname"),
        (alert("Other", service="high-error-rate"), "service"),
    ],
)
def test_an_alert_attaches_the_runbook_it_names_with_its_declaration(h, body, matched_by):
    """The seed's annotation (a URL whose last part names the runbook), else the alert name (as
    written or kebab-case), else the service label: attached in the declaration's own write."""
    status, _ = post_alert(h, body)
    assert status == 200
    h.settle()
    log = h.bot.store.load(1)
    assert isinstance(log[0].payload, ev.IncidentDeclared)
    assert isinstance(log[1].payload, ev.RunbookAttached) and log[1].payload.matched_by == matched_by
    assert len(checklist(h, h.incident_channel())) == 1


def test_skipped_steps_and_an_unmatched_alert_suggest_action_items_added_once_by_button(h):
    """Resolved with step 2 skipped: the summary offers "Update the runbook high-error-rate: step 2
    skipped in INC-1" with Add; pressing it twice adds one action item."""
    channel = declare_and_attach(h)
    (message,) = checklist(h, channel)
    press(h, channel, message, ids.RUNBOOK_SKIP, 2, BOB)
    h.settle()
    h.command("resolve Rolled back", channel=channel)
    h.settle()
    state = h.bot.service.state_of(1)
    summary = next(m for m in h.slack.channel(channel).messages if m.ts == state.slack.summary_ts)
    text = json.dumps(summary.blocks)
    assert "Update the runbook high-error-rate: step 2 skipped in INC-1" in text
    for _ in range(2):
        h.sender.block_action(
            ids.SUGGESTION_ADD,
            value="1:0",
            user_id=ALICE,
            channel_id=channel,
            message_ts=summary.ts,
            response_url=h.slack.response_url(),
            block_id="summary.suggestion.0",
        )
        h.settle()
    items = h.bot.service.state_of(1).postmortem.action_items
    assert [i.text for i in items.values()] == ["Update the runbook high-error-rate: step 2 skipped in INC-1"]
    assert "already on INC-1" in h.slack.responses[-1]["text"]


def test_an_alert_no_runbook_matches_suggests_writing_one(h):
    post_alert(h, alert("DiskFull"))
    h.settle()
    channel = h.incident_channel()
    h.command("resolve Cleaned up", channel=channel, user=ONCALL)  # the alert's commander
    h.settle()
    state = h.bot.service.state_of(1)
    summary = next(m for m in h.slack.channel(channel).messages if m.ts == state.slack.summary_ts)
    assert "Write a runbook for DiskFull: no runbook matched it in INC-1" in json.dumps(summary.blocks)


def test_a_private_incident_keeps_its_checklist_and_ticks_in_its_own_channel(h):
    """Private: the checklist and each tick are in the incident's channel; no shared channel hears
    of the runbook, a step or the escalation rule."""
    h.command("declare", user=ALICE)
    h.settle()
    form = {
        "title": {"title": {"type": "plain_text_input", "value": "Suspicious logins"}},
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": "sev2"}}},
        "private": {"private": {"type": "checkboxes", "selected_options": [{"value": "private"}]}},
    }
    assert h.sender.view_submission(h.slack.views()[-1], form, user_id=ALICE).status == 200
    h.settle()
    channel = h.incident_channel()
    assert h.bot.service.state_of(1).private
    h.command("runbook high-error-rate", channel=channel)
    h.settle()
    (message,) = checklist(h, channel)
    press(h, channel, message, ids.RUNBOOK_DONE, 1, ALICE)
    h.settle()
    assert checks(h) == [(ALICE, 1, "done", "high-error-rate")]
    assert any("Check recent deployments" in m.text for m in h.slack.channel(channel).messages)
    for shared in (h.general, h.announcements):
        for m in h.slack.channel(shared).messages:
            assert "high-error-rate" not in m.text + repr(m.blocks)
            assert "Check recent deployments" not in m.text + repr(m.blocks)


def test_the_scheduled_status_update_follows_the_runbooks_communication_template(h, clock):
    """With the seed runbook attached, the SEV2 update due after 30 minutes is its template filled:
    known fields from the incident, Impact kept as the runbook wrote it (none recorded), the steps
    done so far as its Actions."""
    channel = declare_and_attach(h)
    (message,) = checklist(h, channel)
    clock.after(2 * M)
    press(h, channel, message, ids.RUNBOOK_DONE, 1, BOB)
    h.settle()
    clock.after(30 * M)
    beat(h.bot)
    (update,) = [m.text for m in h.slack.channel(channel).messages if m.text.startswith("🚨 Incident:")]
    lines = update.splitlines()
    assert lines[0] == "🚨 Incident: INC-1: API errors"
    assert "Status: Investigating" in lines and "Severity: SEV2" not in lines  # only the template's fields
    assert "Impact: ~10% of API requests failing" in lines
    assert "Started: 2026-02-04 14:32 UTC" in lines
    assert "- Step 1: Check recent deployments" in lines
    assert "- Rolled back recent deployment" not in lines  # the template's example value is replaced
    assert lines[-1] == "Next update: 15:32 UTC"


def test_resolving_edits_the_checklist_to_show_steps_not_reached_and_the_escalation_cancelled(h, clock):
    """Once resolved, the checklist has no Done/Skip left: unsettled steps say they were not
    reached, and the escalation rule says it was cancelled."""
    channel = declare_and_attach(h)
    (message,) = checklist(h, channel)
    press(h, channel, message, ids.RUNBOOK_DONE, 1, BOB)
    h.settle()
    clock.after(5 * M)
    h.command("resolve Rolled back", channel=channel)
    h.settle()
    (edited,) = checklist(h, channel)
    text = json.dumps(edited.blocks)
    assert not [b for b in edited.blocks if b["type"] == "actions"]
    assert text.count("Not reached before the incident was resolved") == 4
    assert "cancelled: resolved" in text and f"Done by <@{BOB}>" in text
