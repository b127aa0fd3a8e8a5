"""Publishing to the status page from Slack, end to end: signed block_actions, slash commands and
view_submission payloads through the real endpoint, against the strict fake Slack (which
validates every modal the bot opens)."""

from __future__ import annotations

import json

import pytest

from bot.core import events as ev
from bot.core.status_page import Component, StatusPageConfig
from bot.render import ids
from tests.events import data_of
from tests.harness import ALICE, BOB, CAROL, start_harness, team_policy
from tests.test_manifest import manifest_bot_scopes
from tests.test_private_incidents_http import declare_private

PAGE = StatusPageConfig(
    title="Example Inc. status",
    components=(Component("API", ("checkout-api",)), Component("Dashboard")),
)
# Internal text that must never reach what is published.
INTERNAL_TITLE = "db-7 failover INTERNAL-ONLY"
INTERNAL_IMPACT = "Acme Corp SECRET-CUSTOMER cannot pay"


@pytest.fixture
def h(database_url):
    harness = start_harness(database_url, manifest_bot_scopes(), policy=team_policy(status_page=PAGE))
    yield harness
    harness.close()


def declared(h, title=INTERNAL_TITLE):
    h.command(f"declare sev2 {title}", user=ALICE)
    h.settle()
    channel = h.incident_channel()
    return channel, h.slack.channel(channel).messages[0]


def press(h, action_id, channel, summary, user=ALICE):
    reply = h.sender.block_action(
        action_id,
        user_id=user,
        channel_id=channel,
        message_ts=summary.ts,
        value="1",
        response_url=h.slack.response_url(),
    )
    assert reply.status == 200
    h.settle()


def text(value):
    return {"type": "plain_text_input", "value": value}


def select(value):
    return {"type": "static_select", "selected_option": {"value": value}}


def publish_values(title, message, status, **components):
    values = {
        "public_title": {"public_title": text(title)},
        "public_message": {"public_message": text(message)},
        "public_status": {"public_status": select(status)},
    }
    for name, value in components.items():
        values[f"component:{name}"] = {"status": select(value)}
    return values


def publications(h, number=1):
    return [e for e in h.bot.store.load(number) if e.type == ev.StatusPagePublished.TYPE]


def labels(view):
    return [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]


def initial(view, block_id):
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    element = block["element"]
    return element.get("initial_option", {}).get("value") or element.get("initial_value")


def publish(h, user=ALICE, **kw):
    h.command("statuspage INC-1", user=user)
    h.settle()
    view = h.slack.views()[-1]
    values = publish_values(**kw)
    assert h.sender.view_submission(view, values, user_id=user).status == 200
    h.settle()
    return view, values


def first_publication(h):
    return publish(
        h,
        title="Checkout is slow",
        message="We are looking into slow checkouts & <payments>",
        status="identified",
        API="partial_outage",
        Dashboard="operational",
    )


def test_the_summary_button_opens_the_publish_modal_for_the_commander(h):
    """Publish to status page is on the summary; for the commander it opens a modal whose labels say
    plainly what goes public, with one select per component, and nothing internal in it."""
    channel, summary = declared(h)
    action_ids = [e["action_id"] for b in summary.blocks if b["type"] == "actions" for e in b["elements"]]
    assert ids.PUBLISH in action_ids
    press(h, ids.PUBLISH, channel, summary, user=ALICE)
    view = h.slack.views()[-1]
    assert view["callback_id"] == ids.PUBLISH_VIEW and view["private_metadata"] == "1"
    assert labels(view) == [
        "Public title",
        "Public message (customers will read this)",
        "Status page status",
        "API",
        "Dashboard",
    ]
    status_options = [o["value"] for o in view["blocks"][3]["element"]["options"]]
    assert status_options == ["investigating", "identified", "monitoring", "resolved"]
    component_options = [o["text"]["text"] for o in view["blocks"][4]["element"]["options"]]
    assert component_options == ["Operational", "Degraded performance", "Partial outage", "Major outage"]
    assert initial(view, "component:API") == "operational" and initial(view, "public_title") is None
    assert INTERNAL_TITLE not in json.dumps(view)


def test_others_are_refused_until_they_hold_comms(h):
    """Someone neither commander nor comms gets an ephemeral refusal and no modal; made comms, the
    same press opens it."""
    channel, summary = declared(h)
    press(h, ids.PUBLISH, channel, summary, user=BOB)
    assert h.slack.views() == []
    refusal = h.slack.responses[-1]
    assert refusal["response_type"] == "ephemeral"
    assert "Only the commander (<@U0ALICE01>) or comms of INC-1 can publish" in refusal["text"]
    reply = h.command("statuspage", user=BOB, channel=channel)
    assert "can publish to the status page" in reply.json()["text"] and h.slack.views() == []
    h.command("role comms <@U0BOB0001>", user=ALICE, channel=channel)
    h.settle()
    press(h, ids.PUBLISH, channel, summary, user=BOB)
    assert h.slack.views()[-1]["callback_id"] == ids.PUBLISH_VIEW


def test_a_submission_publishes_exactly_the_public_text_once(h):
    """`/incident statuspage` opens the modal; submitting records one StatusPagePublished with
    exactly the public title, message, status and affected components, by the person, and none
    of the internal text; submitting the same view again changes nothing."""
    h.command(f"declare sev2 {INTERNAL_TITLE}", user=ALICE)
    h.settle()
    h.command(f"update INC-1 identified impact noted: {INTERNAL_IMPACT}", user=ALICE)
    h.settle()
    view, values = first_publication(h)
    assert h.sender.view_submission(view, values, user_id=ALICE).status == 200  # a double submit
    h.settle()
    (published,) = publications(h)
    assert published.actor == ALICE
    assert data_of(published) == {
        "public_title": "Checkout is slow",
        "message": "We are looking into slow checkouts & <payments>",
        "status": "identified",
        "components": [{"component": "API", "status": "partial_outage"}],
        "source": f"view:{view['id']}",
    }
    stored = json.dumps(data_of(published))
    assert INTERNAL_TITLE not in stored and "SECRET-CUSTOMER" not in stored


def test_the_publication_is_posted_on_the_timeline_in_channel_and_thread(h):
    """A publication is a timeline step: posted in the incident channel and under the announcement."""
    channel, _ = declared(h)
    first_publication(h)
    posted = [m.text for m in h.slack.channel(channel).messages if "Published to the status page" in m.text]
    assert len(posted) == 1
    assert "We are looking into slow checkouts &amp; &lt;payments&gt;" in posted[0]
    assert "API: partial outage" in posted[0]
    thread = [m.text for m in h.slack.channel(h.announcements).messages if m.thread_ts]
    assert sum("Published to the status page" in t for t in thread) == 1


def test_a_modal_submitted_without_public_text_shows_inline_errors(h):
    """No title, no message: response_action=errors next to each field, nothing published."""
    declared(h)
    h.command("statuspage", user=ALICE, channel=h.incident_channel())
    h.settle()
    reply = h.sender.view_submission(
        h.slack.views()[-1], publish_values("  ", "", "investigating"), user_id=ALICE
    )
    assert reply.json() == {
        "response_action": "errors",
        "errors": {
            "public_title": "Give the incident a public title: customers see it, not the internal one.",
            "public_message": "Write what customers should read.",
        },
    }
    assert publications(h) == []


def test_once_published_the_update_modal_also_publishes_when_ticked(h):
    """Before publication the update modal has no status page part; after it, the box with its own
    message and status, components prefilled with what was published; ticked, one submission
    records the update and the publication (components unchanged unless changed there)."""
    channel, summary = declared(h)
    press(h, ids.UPDATE, channel, summary)
    assert "also_publish" not in [b.get("block_id") for b in h.slack.views()[-1]["blocks"]]
    first_publication(h)
    press(h, ids.UPDATE, channel, summary)
    view = h.slack.views()[-1]
    assert "Also publish to the status page" in json.dumps(view)
    assert initial(view, "public_status") == "identified"
    assert initial(view, "component:API") == "partial_outage"
    assert initial(view, "component:Dashboard") == "operational"
    values = {
        "status": {"status": select("monitoring")},
        "message": {"message": text(f"Deploy rolled back on db-7; {INTERNAL_IMPACT}")},
        "also_publish": {"also_publish": {"type": "checkboxes", "selected_options": [{"value": "publish"}]}},
        "public_message": {"public_message": text("A fix is in place; we are watching it.")},
        "public_status": {"public_status": select("monitoring")},
        "component:API": {"status": select("degraded_performance")},
        "component:Dashboard": {"status": select("operational")},
    }
    assert h.sender.view_submission(view, values, user_id=ALICE).status == 200
    h.settle()
    assert [e.type for e in h.bot.store.load(1)].count(ev.StatusUpdated.TYPE) == 1
    latest = data_of(publications(h)[-1])
    assert latest["public_title"] == "Checkout is slow" and latest["status"] == "monitoring"
    assert latest["message"] == "A fix is in place; we are watching it."
    assert latest["components"] == [{"component": "API", "status": "degraded_performance"}]
    assert len(publications(h)) == 2


def test_an_update_without_the_box_ticked_publishes_nothing(h):
    channel, summary = declared(h)
    first_publication(h)
    press(h, ids.UPDATE, channel, summary)
    values = {
        "status": {"status": select("monitoring")},
        "message": {"message": text("Internal only")},
        "public_message": {"public_message": text("Should not go out")},
        "public_status": {"public_status": select("monitoring")},
    }
    assert h.sender.view_submission(h.slack.views()[-1], values, user_id=ALICE).status == 200
    h.settle()
    assert len(publications(h)) == 1


def test_the_resolve_modal_asks_for_the_public_closing_message(h):
    """Resolve on a published incident asks for the closing message (starting from the template);
    the resolution publishes it as resolved, every affected component back to operational."""
    channel, summary = declared(h)
    first_publication(h)
    press(h, ids.RESOLVE, channel, summary)
    view = h.slack.views()[-1]
    assert "Public closing message (customers will read this)" in labels(view)
    assert initial(view, "public_message") == "This incident has been resolved."
    empty = {"summary": {"summary": text("Pool leak fixed")}, "public_message": {"public_message": text("")}}
    assert h.sender.view_submission(view, empty, user_id=ALICE).json()["errors"] == {
        "public_message": "Write what customers should read."
    }
    values = {
        "summary": {"summary": text("Pool leak fixed in db-7")},
        "public_message": {"public_message": text("Checkouts are fast again. Sorry!")},
    }
    assert h.sender.view_submission(view, values, user_id=ALICE).status == 200
    h.settle()
    assert h.bot.service.state_of(1).is_resolved
    closing = publications(h)[-1]
    assert data_of(closing) == {
        "public_title": "Checkout is slow",
        "message": "Checkouts are fast again. Sorry!",
        "status": "resolved",
        "components": [{"component": "API", "status": "operational"}],
        "source": f"view:{view['id']}",
    }


def test_resolve_by_command_publishes_the_template_and_says_so(h):
    """`/incident resolve <text>` on a published incident publishes "This incident has been
    resolved." (never the internal summary), and its reply says so."""
    channel, _ = declared(h)
    first_publication(h)
    reply = h.command("resolve Pool leak fixed in db-7", user=ALICE, channel=channel)
    h.settle()
    assert "The status page says so too" in reply.json()["text"]
    assert "This incident has been resolved." in reply.json()["text"]
    closing = data_of(publications(h)[-1])
    assert closing["message"] == "This incident has been resolved." and closing["status"] == "resolved"
    assert closing["components"] == [{"component": "API", "status": "operational"}]
    assert "db-7" not in json.dumps(closing)


def test_resolving_an_unpublished_incident_publishes_nothing(h):
    channel, summary = declared(h)
    press(h, ids.RESOLVE, channel, summary)
    assert "public_message" not in [b.get("block_id") for b in h.slack.views()[-1]["blocks"]]
    reply = h.command("resolve Fixed", user=ALICE, channel=channel)
    h.settle()
    assert "status page" not in reply.json()["text"]
    assert publications(h) == []


def test_a_private_incident_is_published_only_explicitly(h):
    """A private incident: resolving and reopening publish nothing; its update modal offers no
    publication; its commander may still publish it explicitly, warned it is private."""
    number, channel = declare_private(h, title=INTERNAL_TITLE)
    h.command("resolve Fixed", user=ALICE, channel=channel)
    h.command("reopen Back again", user=ALICE, channel=channel)
    h.settle()
    assert publications(h, number) == []
    h.command("statuspage", user=CAROL, channel=h.general)
    h.settle()
    assert h.slack.views()[-1]["callback_id"] == ids.DECLARE_VIEW  # an outsider opens nothing
    h.command(f"statuspage INC-{number}", user=ALICE, channel=channel)
    h.settle()
    view = h.slack.views()[-1]
    assert view["callback_id"] == ids.PUBLISH_VIEW and "This incident is *private*" in json.dumps(view)
    assert INTERNAL_TITLE not in json.dumps(view)
    values = publish_values(
        "Login problems", "Some customers cannot log in.", "investigating", API="major_outage"
    )
    assert h.sender.view_submission(view, values, user_id=ALICE).status == 200
    h.settle()
    (published,) = publications(h, number)
    assert data_of(published)["message"] == "Some customers cannot log in."
    posted = [m.text for m in h.slack.channel(channel).messages if "Published to the status page" in m.text]
    assert len(posted) == 1
    assert h.slack.channel(h.announcements).messages == []  # still nothing in a shared channel


def test_the_published_postmortem_says_what_customers_were_told(h):
    """`/incident postmortem` after a publication and a resolution: the file in the channel has
    "What customers were told" with each publication's time, status and exact message."""
    channel, _ = declared(h)
    first_publication(h)
    h.command("resolve Pool leak fixed", user=ALICE, channel=channel)
    h.command("postmortem", user=ALICE, channel=channel)
    h.settle()
    (file,) = h.slack.files()
    content = h.slack.file_content(file["id"]).decode()
    told = content.split("## What customers were told\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in told.splitlines() if line.startswith("| 20")]
    assert len(rows) == 2
    assert "| Identified | **Checkout is slow**: We are looking into slow checkouts & <payments> |" in rows[0]
    assert (
        "| Resolved | **Checkout is slow**: This incident has been resolved. | API: operational |" in rows[1]
    )
