"""Templates: every Block Kit payload is valid for Slack, user text is escaped and clipped at the edge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.models.blocks import Block

from bot.core import events as ev
from bot.core.policy import Policy
from bot.core.state import replay
from bot.render.renderer import Renderer, clip, escape_mrkdwn
from bot.render.views import Messages
from tests.events import E

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)
NASTY = "Checkout <b>broken</b> & <!channel> for <@U0ALICE|alice> see <https://status.example.com|status>"


@pytest.fixture
def messages():
    return Messages(Renderer(), Policy())


def incident(title=NASTY, update="x", **extra):
    events = [
        E(
            3,
            1,
            ev.IncidentDeclared.TYPE,
            "U0ALICE",
            T0,
            {"title": title, "severity": "sev1", "commander": "U0ALICE"},
        ),
        E(3, 2, ev.SlackChannelCreated.TYPE, "bot", T0, {"channel_id": "C0INC3", "name": "inc-3-x"}),
        E(3, 3, ev.IncidentAcknowledged.TYPE, "U0BOB", T0 + timedelta(minutes=3)),
        E(
            3,
            4,
            ev.StatusUpdated.TYPE,
            "U0BOB",
            T0 + timedelta(minutes=5),
            {"status": "identified", "from": "investigating", "message": update},
        ),
    ]
    return replay(events)


def assert_valid_blocks(blocks):
    assert 0 < len(blocks) <= 50
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None and type(block) is not Block, raw
        block.validate_json()


def test_escape_keeps_slack_markup_and_escapes_the_rest():
    """&, < and > are escaped; mentions, channel links and links survive; <!channel> does not ping."""
    out = escape_mrkdwn(NASTY)
    assert "&lt;b&gt;broken&lt;/b&gt; &amp; &lt;!channel&gt;" in out
    assert "<@U0ALICE|alice>" in out and "<https://status.example.com|status>" in out


def test_clip_marks_the_cut():
    """Clipped text ends with an ellipsis and fits the limit."""
    assert clip("abcdef", 4) == "abc…" and clip("abc", 4) == "abc"


def test_summary_blocks_are_valid_block_kit(messages):
    """The pinned summary parses with slack_sdk's block models and passes their validation."""
    blocks = messages.summary_blocks(incident(), T0 + timedelta(minutes=20))
    assert_valid_blocks(blocks)
    header = blocks[0]["text"]["text"]
    assert header.startswith("INC-3: Checkout <b>broken</b>")  # plain_text: shown literally, not parsed
    fields = " ".join(f["text"] for f in blocks[1]["fields"])
    assert "Identified" in fields and "SEV1" in fields and "<@U0ALICE>" in fields and "20m so far" in fields


def test_long_user_text_is_clipped_to_slack_limits(messages):
    """A 150-character title and a 3,000-character update still render within Slack's limits."""
    state = incident(title="T" * 150, update="&" * 3000)
    blocks = messages.summary_blocks(state, T0)
    assert_valid_blocks(blocks)
    assert len(blocks[0]["text"]["text"]) <= 150
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section" and "text" in b)


def test_announcement_links_the_channel_and_is_valid(messages):
    """The announcement names the incident, links its channel and is valid Block Kit."""
    blocks = messages.announcement_blocks(incident())
    assert_valid_blocks(blocks)
    assert "<#C0INC3>" in blocks[0]["text"]["text"]
    assert "&lt;!channel&gt;" in blocks[0]["text"]["text"]


def test_timeline_entries_cover_every_posted_event_type(messages):
    """Every event type that is posted to Slack has its own wording, not the generic fallback."""
    state = incident()
    samples = {
        ev.IncidentAcknowledged.TYPE: {},
        ev.StatusUpdated.TYPE: {"status": "identified", "from": "investigating", "message": "m"},
        ev.SeverityChanged.TYPE: {"from": "sev2", "to": "sev1", "reason": "r"},
        ev.RoleAssigned.TYPE: {"role": "comms", "user": "U0CAROL"},
        ev.NoteAdded.TYPE: {"text": "n"},
        ev.IncidentMitigated.TYPE: {"note": "m"},
        ev.IncidentResolved.TYPE: {"summary": "s"},
        ev.IncidentReopened.TYPE: {"reason": "r"},
    }
    for type_, data in samples.items():
        text = messages.timeline_entry(E(3, 9, type_, "U0BOB", T0, data), state)
        assert "<@U0BOB>" in text and type_ not in text, (type_, text)


def test_topic_fits_and_help_lists_every_command(messages):
    """The topic carries severity, status and commander; help lists every verb."""
    assert messages.topic(incident()).startswith("SEV1 · Identified · Commander: <@U0ALICE>")
    help_text = messages.help()
    for verb in (
        "declare",
        "ack",
        "update",
        "severity",
        "role",
        "note",
        "mitigate",
        "resolve",
        "reopen",
        "status",
    ):
        assert f"/incident {verb}" in help_text


def test_a_template_rendering_bad_json_is_reported_at_start_up(tmp_path):
    """check_templates names a Block Kit template whose output is not JSON, before any incident."""
    import shutil

    from bot.core.errors import ConfigError
    from bot.slack.template_check import check_templates

    for source in Renderer().template_dir.iterdir():
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / "announcement.json.j2").write_text('[{"type": "section", "text": {{ incident.title }}}]')
    with pytest.raises(ConfigError, match="announcement.json.j2 did not render valid JSON"):
        check_templates(Messages(Renderer(tmp_path), Policy()), T0)


def test_a_template_rendering_invalid_block_kit_is_reported_at_start_up(tmp_path):
    """A summary template producing a block Slack would reject fails the start-up check."""
    import shutil

    from bot.core.errors import ConfigError
    from bot.slack.template_check import check_templates

    for source in Renderer().template_dir.iterdir():
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / "summary.json.j2").write_text(
        '[{"type": "header", "text": {"type": "plain_text", "text": "' + "x" * 200 + '"}}]'
    )
    with pytest.raises(ConfigError, match="summary.json.j2 produced an invalid block"):
        check_templates(Messages(Renderer(tmp_path), Policy()), T0)
