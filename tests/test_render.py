"""Templates: every Block Kit payload is valid for Slack, user text is escaped and clipped at the edge."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.models.blocks import Block

from bot import pagerduty, statuspage
from bot.core import events as ev
from bot.core import owed
from bot.core.commands import USAGE, VERBS
from bot.core.errors import ConfigError
from bot.core.events import Event
from bot.core.mirror import MirrorRequest
from bot.core.policy import Policy
from bot.core.schedule import decide_notices
from bot.core.state import replay
from bot.core.status_page import Component, StatusPageConfig, StatuspageMirror
from bot.render.renderer import Renderer, clip, default_template_dir, escape_mrkdwn
from bot.render.views import Messages
from bot.slack.notifier import SlackNotifier
from bot.slack.pacing import ChannelPacer
from bot.slack.template_check import check_templates
from tests.events import E, data_of

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)
TEMPLATES = sorted(p.name for p in default_template_dir().iterdir() if p.suffix == ".j2")
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


# Sample payloads for the event types posted to Slack; the registry (owed.POSTED_TYPES) says which.
POSTED_SAMPLES = {
    ev.IncidentAcknowledged: {},
    ev.StatusUpdated: {"status": "identified", "from": "investigating", "message": "m"},
    ev.SeverityChanged: {"from": "sev2", "to": "sev1", "reason": "r"},
    ev.RoleAssigned: {"role": "comms", "user": "U0CAROL"},
    ev.NoteAdded: {"text": "n"},
    ev.IncidentMitigated: {"note": "m"},
    ev.IncidentResolved: {"summary": "s"},
    ev.IncidentReopened: {"reason": "r"},
    ev.ServiceSet: {"service": "checkout-api"},
    ev.AlertsFiring: {"fingerprints": ["f2"], "summaries": ["Disk full"]},
    ev.AlertsResolved: {"group": "g"},
    ev.Paged: {"key": "page@1:0", "level": 1, "round": 0, "users": ["U0CAROL"], "targets": ["Primary"]},
    ev.StatusPagePublished: {
        "public_title": "Checkout is slow",
        "message": "We are looking into it",
        "status": "investigating",
        "components": [{"component": "API", "status": "partial_outage"}],
    },
    ev.RunbookAttached: {
        "name": "high-error-rate",
        "title": "High Error Rate (5xx)",
        "matched_by": "annotation",
    },
    ev.RunbookStepChecked: {
        "name": "high-error-rate",
        "step": 2,
        "outcome": "skipped",
        "title": "Check dependencies",
    },
    ev.RunbookEscalated: {
        "name": "high-error-rate",
        "key": "runbook@high-error-rate",
        "target": "@platform-leads",
        "after_seconds": 1200,
    },
}


def test_timeline_entries_cover_every_posted_event_type(messages):
    """Every event type the core posts to Slack (owed.POSTED_TYPES) has its own wording, not the
    generic fallback."""
    state = incident()
    assert set(POSTED_SAMPLES) == set(owed.POSTED_TYPES), "give each posted event type a sample"
    for kind in owed.POSTED_TYPES:
        text = messages.timeline_entry(E(3, 9, kind.TYPE, "U0BOB", T0, POSTED_SAMPLES[kind]), state)
        assert text and kind.TYPE not in text, (kind.TYPE, text)


def test_topic_fits_and_help_lists_every_command(messages):
    """The topic carries severity, status and commander; help shows every verb's usage line."""
    assert messages.topic(incident()).startswith("SEV1 · Identified · Commander: <@U0ALICE>")
    help_text = messages.help()
    for verb in VERBS:
        assert f"`{USAGE[verb]}`" in help_text, verb


def test_a_template_rendering_bad_json_is_reported_at_start_up(tmp_path):
    """check_templates names a Block Kit template whose output is not JSON, before any incident."""
    (tmp_path / "announcement.json.j2").write_text('[{"type": "section", "text": {{ incident.title }}}]')
    with pytest.raises(ConfigError, match="announcement.json.j2 did not render valid JSON"):
        check_templates(Messages(Renderer(tmp_path), Policy()), T0)


def test_a_template_rendering_invalid_block_kit_is_reported_at_start_up(tmp_path):
    """A summary template producing a block Slack would reject fails the start-up check."""
    (tmp_path / "summary.json.j2").write_text(
        '[{"type": "header", "text": {"type": "plain_text", "text": "' + "x" * 200 + '"}}]'
    )
    with pytest.raises(ConfigError, match="summary.json.j2 produced an invalid block"):
        check_templates(Messages(Renderer(tmp_path), Policy()), T0)


class RecordingRenderer(Renderer):
    """Notes the name of every template it renders."""

    def __init__(self, template_dir=None) -> None:
        super().__init__(template_dir)
        self.rendered: set[str] = set()

    def text(self, name, **context):
        self.rendered.add(name)
        return super().text(name, **context)


def test_the_start_up_check_renders_every_template_in_the_folder():
    """check_templates renders each file in templates/, so none can break first during an incident."""
    renderer = RecordingRenderer()
    check_templates(Messages(renderer, Policy()), T0)
    assert renderer.rendered == set(TEMPLATES)


def test_a_folder_holding_one_template_overrides_just_that_one(tmp_path):
    """A team's folder may hold a single file: it replaces the default of that name, every other
    message keeps the default, and the start-up check still renders them all."""
    (tmp_path / "topic.txt.j2").write_text("{{ incident.severity }} | {{ incident.status }} | our words")
    renderer = RecordingRenderer(tmp_path)
    messages = Messages(renderer, Policy())
    check_templates(messages, T0)
    assert renderer.rendered == set(TEMPLATES)
    assert messages.topic(incident()) == "SEV1 | Identified | our words"
    default = Messages(Renderer(), Policy())
    assert messages.summary_text(incident()) == default.summary_text(incident())
    assert messages.help() == default.help()


@pytest.mark.parametrize("name", TEMPLATES)
def test_a_broken_single_template_override_fails_start_up_naming_it(tmp_path, name):
    """Whichever template a team overrides, a broken override stops start-up with its name."""
    (tmp_path / name).write_text("{{ no_such_value.field }}")
    with pytest.raises(ConfigError, match=f"template {re.escape(name)} "):
        check_templates(Messages(Renderer(tmp_path), Policy()), T0)


def test_a_missing_templates_folder_is_a_config_error(tmp_path):
    """`templates:` naming a folder that does not exist fails at start-up instead of silently
    falling back to the defaults."""
    with pytest.raises(ConfigError, match="does not exist"):
        Renderer(tmp_path / "no-such-folder")


class RecordingWebClient:
    """Stands in for slack_sdk's WebClient: records each call and answers as Slack would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def _record(self, method, params, answer):
        self.calls.append((method, params))
        return answer

    def conversations_create(self, **params):
        return self._record(
            "conversations.create", params, {"channel": {"id": "C0INC3", "name": params["name"]}}
        )

    def conversations_invite(self, **params):
        return self._record("conversations.invite", params, {"ok": True})

    def conversations_setTopic(self, **params):  # noqa: N802 - slack_sdk's name
        return self._record("conversations.setTopic", params, {"ok": True})

    def chat_postMessage(self, **params):  # noqa: N802 - slack_sdk's name
        channel = "C0ANNOUNCE" if params["channel"].startswith("#") else params["channel"]
        return self._record(
            "chat.postMessage", params, {"channel": channel, "ts": f"{len(self.calls)}.000100"}
        )

    def chat_update(self, **params):
        return self._record("chat.update", params, {"ok": True})

    def pins_add(self, **params):
        return self._record("pins.add", params, {"ok": True})

    def files_upload_v2(self, **params):
        return self._record("files.upload_v2", params, {"files": [{"id": "F0PM1"}]})


class RecordingPager:
    """Stands in for bot.pagerduty.PagerDutyClient: records each event and accepts it."""

    def __init__(self) -> None:
        self.sent: list[pagerduty.PagerDutyEvent] = []

    def send(self, event, *, attempt=0):
        self.sent.append(event)
        return pagerduty.Sent(event.dedup_key)


class RecordingStatuspage:
    """Stands in for bot.statuspage.StatuspageClient: records each request and accepts it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, MirrorRequest]] = []

    def create(self, page_id, request, *, marker, attempt=0):
        self.sent.append(("create", request))
        return statuspage.Created("p0incident01")

    def update(self, page_id, incident_id, request, *, attempt=0):
        self.sent.append(("update", request))
        return statuspage.Updated(incident_id)


def test_every_owed_step_kind_sends_text_rendered_within_slack_limits():
    """Playing an incident's owed Slack work step by step reaches every kind in owed.STEP_KINDS,
    and each one sends rendered text (no template syntax left) and valid Block Kit."""
    mirror = StatusPageConfig(components=(Component("API"),), statuspage=StatuspageMirror("page01"))
    policy = Policy(pagerduty=True, status_page=mirror, mirror_statuspage=True)
    pager = RecordingPager()
    mirrored = RecordingStatuspage()
    notifier = SlackNotifier(
        RecordingWebClient(),
        Messages(Renderer(), policy),
        policy,
        ChannelPacer(1000),
        pager=pager,
        statuspage=mirrored,  # type: ignore[arg-type]
    )
    events = [E(3, 1, "IncidentDeclared", "U0ALICE", T0, {"title": NASTY, "severity": "sev1"})]
    performed = []

    def sync(now):
        while steps := owed.owed_slack_work(replay(events), policy):
            done = notifier.perform(steps[0], replay(events), now)
            performed.append(steps[0].kind)
            events.append(Event(3, len(events) + 1, "bot", now, done))

    def add(minutes, type_, data):
        events.append(E(3, len(events) + 1, type_, "U0BOB", T0 + timedelta(minutes=minutes), data))

    sync(T0)
    add(2, ev.Paged.TYPE, {"key": "manual@5", "users": ["U0CAROL"], "message": NASTY})
    runbook = {
        "name": "high-error-rate",
        "title": NASTY,
        "steps": [
            {
                "title": NASTY,
                "text": NASTY,
                "commands": [f"echo '{NASTY}'"],
                "links": ["https://x.example/a?b&c"],
            }
        ],
        "communication": f"Status: {NASTY}",
        "escalation": {"after_seconds": 1200, "target": "@platform-leads", "sentence": NASTY},
        "escalate_at": (T0 + timedelta(minutes=22)).isoformat(),
    }
    add(2, ev.RunbookAttached.TYPE, runbook)
    sync(T0 + timedelta(minutes=2))
    add(2, ev.RunbookStepChecked.TYPE, {"name": "high-error-rate", "step": 1, "outcome": "skipped"})
    sync(T0 + timedelta(minutes=2))
    add(3, ev.IncidentAcknowledged.TYPE, {})
    add(4, ev.RoleAssigned.TYPE, {"role": "comms", "user": "U0CAROL", "previous": None})
    for notice in decide_notices(replay(events), policy, T0 + timedelta(minutes=20)):
        add(20, notice.type, data_of(notice))
    add(
        25,
        ev.StatusPagePublished.TYPE,
        {"public_title": "API errors", "message": "Looking", "status": "identified"},
    )
    add(30, ev.IncidentResolved.TYPE, {"summary": "Rolled back"})
    add(
        30,
        ev.StatusPagePublished.TYPE,
        {"public_title": "API errors", "message": "Fixed", "status": "resolved"},
    )
    add(40, ev.PostmortemRequested.TYPE, {"version": 1})
    sync(T0 + timedelta(minutes=40))
    assert set(performed) == set(owed.STEP_KINDS)
    assert [e.action for e in pager.sent] == ["trigger", "resolve"]
    assert [(what, r.status) for what, r in mirrored.sent] == [
        ("create", "identified"),
        ("update", "resolved"),
    ]
    for method, params in notifier.client.calls:
        for key in ("text", "topic", "content"):
            if key in params:
                assert params[key].strip() and "{{" not in params[key] and "{%" not in params[key], method
        if "blocks" in params:
            assert_valid_blocks(params["blocks"])


def test_the_status_page_modals_are_valid_with_many_long_components():
    """With a status page of many components with long names, the start-up check passes: the
    publish modal and the update and resolve modals' status page parts are valid Block Kit."""
    from bot.core.status_page import Component, StatusPageConfig

    names = [f"Component {i} " + "x" * 180 for i in range(20)]
    page = StatusPageConfig(components=tuple(Component(n) for n in names))
    messages = Messages(Renderer(), Policy(status_page=page))
    check_templates(messages, T0)
    view = messages.publish_modal(incident())
    assert_valid_blocks(view["blocks"])
    assert [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"][3:] == names
