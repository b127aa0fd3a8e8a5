"""Postmortem, action items and metrics from Slack: signed slash commands, the fake's file upload flow."""

from __future__ import annotations

import pytest

from bot.core import events as ev
from tests.events import data_of
from tests.harness import ALICE, BOB, start_harness, wait_for
from tests.test_manifest import manifest_bot_scopes


@pytest.fixture
def h(database_url):
    harness = start_harness(database_url, manifest_bot_scopes())
    yield harness
    harness.close()


def incident_channel(h):
    h.command("declare sev2 Checkout slow", user=ALICE)
    h.settle()
    return h.incident_channel()


def test_sections_and_action_items_are_written_from_slack(h):
    """postmortem <section>, action add/done/list: stored as events, with clear refusals."""
    inc = incident_channel(h)
    assert (
        "Saved the summary section"
        in h.command("postmortem summary Checkout failed for 40 minutes", channel=inc).text
    )
    added = h.command("action add Alert on pool saturation <@U0BOB0001|bob> due 2026-03-01", channel=inc).text
    assert added == "Action item 1 added for <@U0BOB0001>, due 2026-03-01."
    assert h.command("action add Load-test timeouts", channel=inc).text == "Action item 2 added."
    listing = h.command("action list", channel=inc).text
    assert "#1 Alert on pool saturation · <@U0BOB0001> · due 2026-03-01" in listing
    assert "#2 Load-test timeouts · unassigned" in listing
    assert h.command("action done 1", user=BOB, channel=inc).text == "Action item 1 is done."
    assert "already done" in h.command("action done 1", channel=inc).text
    assert "has no action item 7" in h.command("action done 7", channel=inc).text
    assert "`2026-13-01` is not a date" in h.command("action add X due 2026-13-01", channel=inc).text
    types = [e.type for e in h.bot.store.load(1)]
    assert types.count(ev.ActionItemAdded.TYPE) == 2 and types.count(ev.ActionItemDone.TYPE) == 1
    assert types.count(ev.PostmortemSectionWritten.TYPE) == 1


def test_action_list_mine_outside_the_channel_spans_incidents(h):
    """`action list mine` in any channel lists my open items across incidents."""
    inc = incident_channel(h)
    h.command(f"action add Fix the pool <@{BOB}|bob>", channel=inc)
    h.command(f"action add Write the runbook <@{ALICE}|alice>", channel=inc)
    mine = h.command("action list mine", user=BOB).text
    assert "INC-1 #1 Fix the pool" in mine and "runbook" not in mine


def test_postmortem_is_published_as_a_markdown_file_and_regenerating_supersedes_visibly(h):
    """/incident postmortem uploads the Markdown through the external upload flow; a second run is v2."""
    inc = incident_channel(h)
    h.command("postmortem root-cause Connections not returned on timeout", channel=inc)
    reply = h.command("postmortem", channel=inc)
    assert "Publishing the INC-1 postmortem (version 1)" in reply.text
    h.settle()
    files = h.slack.files()
    assert len(files) == 1 and files[0]["filename"] == "INC-1-postmortem-v1.md"
    content = h.slack.file_content(files[0]["id"]).decode()
    assert content == h.bot.service.postmortem_markdown(1)
    assert "## Root cause\n\nConnections not returned on timeout" in content
    again = h.command("postmortem", channel=inc)
    assert "supersedes version 1" in again.text
    h.settle()
    files = h.slack.files()
    assert [f["filename"] for f in files] == ["INC-1-postmortem-v1.md", "INC-1-postmortem-v2.md"]
    comments = [m.text for m in h.slack.channel(inc).messages if "Postmortem for INC-1" in m.text]
    assert comments == [
        "Postmortem for INC-1, version 1.",
        "Postmortem for INC-1, version 2. It supersedes version 1.",
    ]
    published = [e for e in h.bot.store.load(1) if e.type == ev.SlackPostmortemPublished.TYPE]
    assert [data_of(p)["version"] for p in published] == [1, 2]
    assert [c.method for c in h.slack.calls() if c.method.startswith("files.")].count("files.upload") == 0


def test_metrics_from_slack(h):
    """/incident metrics 30d reports over the window; /incident service names the affected service."""
    inc = incident_channel(h)
    h.command("ack", channel=inc, user=BOB)
    assert h.command("service Checkout API", channel=inc).text == "INC-1 affects checkout-api."
    assert h.bot.service.state_of(1).facts.service == "checkout-api"
    text = h.command("metrics 30d").text
    assert "Incidents: *1* (SEV2: 1)" in text and "Time to acknowledge: mean" in text
    assert "`0d`" not in text
    assert "Give the window in days" in h.command("metrics soon").text


def test_the_owner_of_an_overdue_item_gets_one_direct_message(h):
    """The heartbeat DMs the owner once when an item is overdue (its 'due today' is superseded)."""
    import time
    from datetime import UTC, datetime, timedelta

    inc = incident_channel(h)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    h.command(f"action add Rotate the leaked key <@{BOB}|bob> due {yesterday}", channel=inc)
    h.settle()
    h.bot.start_heartbeat(interval_seconds=0.1)
    assert wait_for(lambda: h.slack.dm(BOB) is not None, timeout=20)
    time.sleep(0.5)  # several more heartbeats: none may send it again
    h.bot.stop_heartbeat()
    h.settle()
    dm = h.slack.dm(BOB)
    assert dm is not None
    assert [m.text for m in dm.messages] == [
        f":warning: Your action item from *INC-1* is overdue (was due {yesterday}): Rotate the leaked key. "
        "Done? `/incident action INC-1 done 1`."
    ]
