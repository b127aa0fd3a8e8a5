"""The pure core: decisions, replay and owed Slack work, without Slack, a database or a clock."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core import events as ev
from bot.core import owed
from bot.core.commands import parse_command
from bot.core.decide import TransitionRefused, decide, decide_declare
from bot.core.events import Event, NewEvent
from bot.core.policy import DEFAULT_SEVERITIES, Policy, SeverityLevel
from bot.core.state import ReplayError, replay
from bot.render.renderer import Renderer
from bot.render.views import Messages
from tests.events import E, N, data_of

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)
POLICY = Policy(
    severities=tuple(
        SeverityLevel(s.name, s.description, ("U0ONCALL",) if s.name == "sev1" else ())
        for s in DEFAULT_SEVERITIES
    ),
    resolve_by="anyone",
)
MESSAGES = Messages(Renderer(), POLICY)  # the core gives replies by key; tests read their words


class Log:
    """A hand-built incident log that numbers events the way the store does."""

    def __init__(self, text="declare sev2 API error rate above 5%", actor="U0ALICE"):
        cmd = parse_command(text, POLICY.severity_names)
        (new,) = decide_declare(cmd, actor, T0, POLICY, "C0GENERAL")
        self.events = [self._number(new)]

    def _number(self, new: NewEvent) -> Event:
        return E(7, len(getattr(self, "events", [])) + 1, new.type, new.actor, new.at, data_of(new))

    @property
    def state(self):
        return replay(self.events)

    def run(self, text, actor="U0BOB", minutes=1):
        cmd = parse_command(text, POLICY.severity_names)
        decision = decide(self.state, cmd, actor, T0 + timedelta(minutes=minutes), POLICY)
        for new in decision.events:
            self.events.append(self._number(new))
        return decision

    def record(self, type_, **data):
        self.events.append(self._number(N(type_, "bot", T0, data)))


def test_declare_makes_the_declarer_commander_and_invites_severity_responders():
    """Declaring records title, severity, commander and the severity's responders."""
    state = Log("declare sev1 DB down").state
    assert (state.key, state.facts.title, state.facts.severity, state.facts.status) == (
        "INC-7",
        "DB down",
        "sev1",
        "investigating",
    )
    assert state.commander == "U0ALICE"
    assert state.wanted_members() == {"U0ALICE", "U0ONCALL"}


def test_default_severity_comes_from_policy():
    """Without a severity the policy's default applies."""
    assert Log("declare Something odd").state.facts.severity == "sev3"


def test_full_lifecycle_replays_to_resolved():
    """ack, update, severity, role, note, mitigate, resolve each change the replayed state."""
    log = Log()
    log.run("ack", minutes=2)
    log.run("update identified Rolled back the deploy", minutes=3)
    log.run("severity sev1 Spreading", minutes=4)
    log.run("role comms <@U0CAROL>", minutes=5)
    log.run("note Support sees failures", minutes=6)
    log.run("mitigate Error rate under 1%", minutes=7)
    log.run("resolve Pool leak fixed", minutes=9)
    s = log.state
    assert s.facts.acknowledged_by == "U0BOB" and s.facts.acknowledged_at == T0 + timedelta(minutes=2)
    assert s.facts.severity == "sev1" and "U0ONCALL" in s.facts.responders
    assert s.facts.roles == {"commander": "U0ALICE", "comms": "U0CAROL"}
    assert s.facts.mitigated_at == T0 + timedelta(minutes=7)
    assert (s.facts.status, s.facts.resolution, s.facts.resolved_at) == (
        "resolved",
        "Pool leak fixed",
        T0 + timedelta(minutes=9),
    )
    assert [e.type for e in s.timeline] == [
        ev.IncidentDeclared.TYPE,
        ev.IncidentAcknowledged.TYPE,
        ev.StatusUpdated.TYPE,
        ev.SeverityChanged.TYPE,
        ev.RoleAssigned.TYPE,
        ev.NoteAdded.TYPE,
        ev.IncidentMitigated.TYPE,
        ev.IncidentResolved.TYPE,
    ]


def test_second_ack_records_nothing_and_names_the_first():
    """Only the first acknowledgement counts; a later one says who and when."""
    log = Log()
    log.run("ack", actor="U0BOB", minutes=2)
    decision = log.run("ack", actor="U0CAROL", minutes=3)
    assert decision.events == []
    text = MESSAGES.reply(decision.reply)
    assert "<@U0BOB>" in text and "14:34 UTC" in text
    assert log.state.facts.acknowledged_by == "U0BOB"


@pytest.mark.parametrize(
    ("setup", "command", "reason"),
    [
        (["resolve Fixed"], "resolve Again", "already resolved"),
        (["resolve Fixed"], "update identified x", "is resolved"),
        (["resolve Fixed"], "mitigate x", "is resolved"),
        (["resolve Fixed"], "severity sev1", "is resolved"),
        (["resolve Fixed"], "ack", "is resolved"),
        (["mitigate x"], "mitigate y", "already mitigated"),
        ([], "severity sev2", "already SEV2"),
        ([], "reopen why", "still open"),
        ([], "role commander <@U0ALICE>", "already commander"),
    ],
)
def test_transitions_that_make_no_sense_are_refused(setup, command, reason):
    """Impossible transitions raise TransitionRefused with a reason and record nothing."""
    log = Log()
    for text in setup:
        log.run(text)
    before = len(log.events)
    with pytest.raises(TransitionRefused) as caught:
        log.run(command)
    assert reason in MESSAGES.user_error(caught.value)
    assert len(log.events) == before


def test_reopen_after_resolve_returns_to_investigating_and_accepts_updates():
    """A reopened incident is open again and takes updates."""
    log = Log()
    log.run("resolve Fixed")
    log.run("reopen It came back")
    assert log.state.facts.status == "investigating" and log.state.facts.resolved_at is None
    log.run("update identified Same leak")
    assert log.state.facts.status == "identified"


def test_notes_are_accepted_after_resolve():
    """Notes keep collecting facts for the postmortem after resolution."""
    log = Log()
    log.run("resolve Fixed")
    assert log.run("note Found a second cause").events[0].type == ev.NoteAdded.TYPE


def test_replay_refuses_a_log_without_declaration():
    """A log must start with IncidentDeclared."""
    with pytest.raises(ReplayError):
        replay([])
    with pytest.raises(ReplayError):
        replay([E(1, 1, ev.NoteAdded.TYPE, "U1", T0, {"text": "x"})])


def test_naive_times_are_rejected():
    """Events carry timezone-aware UTC times only."""
    with pytest.raises(ValueError):
        N(ev.NoteAdded.TYPE, "U1", datetime(2026, 1, 1), {})


def kinds(state):
    return [(s.kind, s.seq or s.user or None) for s in owed.owed_slack_work(state, POLICY)]


def test_owed_work_starts_with_the_channel_only():
    """Before the channel exists nothing else can be done in Slack."""
    assert kinds(Log().state) == [(owed.StepKind.CREATE_CHANNEL, None)]


def test_owed_work_follows_the_log_until_nothing_is_owed():
    """Each recorded side effect removes exactly its step; a new command adds its posts."""
    log = Log("declare sev1 DB down")
    log.record(ev.SlackChannelCreated.TYPE, channel_id="C1", name="inc-7-db-down")
    assert kinds(log.state) == [
        (owed.StepKind.INVITE, "U0ALICE"),
        (owed.StepKind.INVITE, "U0ONCALL"),
        (owed.StepKind.POST_SUMMARY, 1),
        (owed.StepKind.SET_TOPIC, 1),
        (owed.StepKind.ANNOUNCE, None),
    ]
    log.record(ev.SlackMemberInvited.TYPE, user="U0ALICE", result="invited")
    log.record(ev.SlackMemberInvited.TYPE, user="U0ONCALL", result="already_in_channel")
    log.record(ev.SlackSummaryPosted.TYPE, channel_id="C1", ts="1.1", for_seq=1)
    log.record(ev.SlackTopicSet.TYPE, for_seq=1, topic="t")
    log.record(ev.SlackAnnouncementPosted.TYPE, channel_id="C0ANN", ts="2.1")
    assert kinds(log.state) == [(owed.StepKind.PIN_SUMMARY, None)]
    log.record(ev.SlackSummaryPinned.TYPE, ts="1.1")
    assert kinds(log.state) == []
    log.run("mitigate Failover done")
    seq = log.state.last_lifecycle_seq
    assert kinds(log.state) == [
        (owed.StepKind.UPDATE_SUMMARY, seq),
        (owed.StepKind.SET_TOPIC, seq),
        (owed.StepKind.POST_IN_CHANNEL, seq),
        (owed.StepKind.POST_IN_THREAD, seq),
    ]
    log.record(ev.SlackSummaryUpdated.TYPE, for_seq=seq)
    log.record(ev.SlackTopicSet.TYPE, for_seq=seq, topic="t2")
    log.record(ev.SlackChannelMessagePosted.TYPE, for_seq=seq, ts="3.1")
    log.record(ev.SlackThreadReplyPosted.TYPE, for_seq=seq, ts="3.2")
    assert kinds(log.state) == []


def test_a_note_does_not_change_the_topic():
    """Only status, severity and commander changes make the topic owed again."""
    log = Log()
    log.record(ev.SlackChannelCreated.TYPE, channel_id="C1", name="n")
    log.record(ev.SlackTopicSet.TYPE, for_seq=1, topic="t")
    log.run("note hello")
    assert owed.StepKind.SET_TOPIC not in [k for k, _ in kinds(log.state)]
    log.run("role commander <@U0BOB>")
    assert owed.StepKind.SET_TOPIC in [k for k, _ in kinds(log.state)]


def test_only_the_commander_may_resolve_or_reopen_when_the_policy_says_so():
    """With resolve_by=commander, others get NotAllowed naming the commander; taking the role works."""
    from dataclasses import replace

    from bot.core.decide import NotAllowed

    strict = replace(POLICY, resolve_by="commander")
    log = Log()
    state = log.state
    with pytest.raises(NotAllowed) as caught:
        decide(state, parse_command("resolve Fixed", strict.severity_names), "U0BOB", T0, strict)
    assert MESSAGES.user_error(caught.value).startswith("Only the commander of INC-7, <@U0ALICE>")
    log.run("role commander <@U0BOB>", actor="U0ALICE")
    decision = decide(log.state, parse_command("resolve Fixed", strict.severity_names), "U0BOB", T0, strict)
    assert decision.events[0].type == ev.IncidentResolved.TYPE


def test_the_same_slack_delivery_is_applied_once():
    """A command carrying a source already in the log (a resubmitted view) records nothing."""
    log = Log()
    cmd = parse_command("update identified Found it", POLICY.severity_names)
    first = decide(log.state, cmd, "U0BOB", T0, POLICY, {"source": "view:V1", "impact": "EU checkout"})
    assert data_of(first.events[0])["impact"] == "EU checkout"
    log.events.append(log._number(first.events[0]))
    again = decide(log.state, cmd, "U0BOB", T0, POLICY, {"source": "view:V1"})
    assert again.events == [] and again.reply and "already applied" in MESSAGES.reply(again.reply)
    assert log.state.facts.impact == "EU checkout"


def test_pins_keep_the_message_and_unpin_removes_it():
    """📌 puts a message on the timeline once; removing the reaction takes it off."""
    from bot.core.decide import decide_pin, decide_unpin

    log = Log()
    message = ev.MessagePinned(
        message_ts="1770215520.000200",
        author="U0CAROL",
        text="DB CPU at 100%",
        message_at=T0,
        source="event:Ev1",
    )
    (pin,) = decide_pin(log.state, message, "U0BOB", T0)
    log.events.append(log._number(pin))
    assert decide_pin(log.state, replace(message, source="event:Ev2"), "U0BOB", T0) == []
    assert data_of(log.state.pins["1770215520.000200"])["text"] == "DB CPU at 100%"
    (unpin,) = decide_unpin(log.state, "1770215520.000200", "U0BOB", T0, "event:Ev3")
    log.events.append(log._number(unpin))
    assert log.state.pins == {}
    assert decide_unpin(log.state, "1770215520.000200", "U0BOB", T0, "event:Ev4") == []
