"""Who hears what: the core decides every destination, and a private incident reaches nothing shared
(but the status page, once a person published it explicitly).

The property test generates whole event logs (people, Slack progress, notices of every kind,
action items for members and outsiders) and checks every owed Slack step of every prefix.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import events as ev
from bot.core.audience import SHARED, Audience, Destination, may_reach, members
from bot.core.owed import StepKind, owed_slack_work
from bot.core.policy import Policy
from bot.core.schedule import NOTICE_KINDS, UNACKED
from bot.core.state import replay
from bot.core.status_page import Component, StatusPageConfig, StatuspageMirror
from tests.events import E

T0 = datetime(2026, 2, 4, 14, 32, tzinfo=UTC)
POLICY = Policy(announcement_channel="#incidents")
PEOPLE = ["U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0ERIN"]

person = st.sampled_from(PEOPLE)
text = st.sampled_from(["Secret breach", "rotated keys", "<https://evil.example|x>", ""])


def _notice(kind: str, owner: str, n: int) -> dict:
    return {
        "kind": kind,
        "key": f"{kind}@{n}",
        "due_at": T0.isoformat(),
        "status": "investigating",
        "severity": "sev1",
        "next_update_at": T0.isoformat(),
        "mention": [owner],
        "n": 1,
        "text": "Rotate the keys",
        "owner": owner,
        "due": "2026-02-05",
    }


def step_strategy():
    """One event after the declaration: (type, actor, data)."""
    return st.one_of(
        st.tuples(st.just(ev.IncidentAcknowledged), person, st.just({})),
        st.builds(
            lambda who, msg: (ev.StatusUpdated, who, {"status": "identified", "from": "x", "message": msg}),
            person,
            text,
        ),
        st.builds(
            lambda who, rs: (ev.SeverityChanged, who, {"from": "sev1", "to": "sev2", "responders": rs}),
            person,
            st.lists(person, max_size=2),
        ),
        st.builds(
            lambda who, role, user: (ev.RoleAssigned, who, {"role": role, "user": user, "previous": None}),
            person,
            st.sampled_from(["commander", "comms", "scribe"]),
            person,
        ),
        st.builds(lambda who, t: (ev.NoteAdded, who, {"text": t}), person, text),
        st.tuples(st.just(ev.IncidentMitigated), person, st.just({"note": "m"})),
        st.tuples(st.just(ev.IncidentResolved), person, st.just({"summary": "s"})),
        st.tuples(st.just(ev.IncidentReopened), person, st.just({"reason": "r"})),
        st.tuples(
            st.just(ev.SlackChannelCreated), st.just("bot"), st.just({"channel_id": "C1", "name": "inc-1"})
        ),
        st.builds(
            lambda user, result: (ev.SlackMemberInvited, "bot", {"user": user, "result": result}),
            person,
            st.sampled_from(["invited", "already_in_channel", "user_not_found"]),
        ),
        st.tuples(
            st.just(ev.SlackSummaryPosted),
            st.just("bot"),
            st.just({"channel_id": "C1", "ts": "1.1", "for_seq": 1}),
        ),
        # Even a log that says it was announced (say, by a buggy older release) must not post more.
        st.tuples(
            st.just(ev.SlackAnnouncementPosted), st.just("bot"), st.just({"channel_id": "C0", "ts": "2.1"})
        ),
        st.builds(
            lambda n, who, owner: (
                ev.ActionItemAdded,
                who,
                {"n": n, "text": "Rotate the keys", "owner": owner, "due": "2026-02-05"},
            ),
            st.integers(1, 3),
            person,
            person,
        ),
        st.tuples(st.just(ev.PostmortemRequested), person, st.just({"version": 1})),
        # A person published it to the status page (exactly this public text, nothing internal).
        st.builds(
            lambda who, status: (
                ev.StatusPagePublished,
                who,
                {
                    "public_title": "Login problems",
                    "message": "Some customers cannot log in.",
                    "status": status,
                    "components": [{"component": "API", "status": "partial_outage"}],
                },
            ),
            person,
            st.sampled_from(["investigating", "resolved"]),
        ),
        st.builds(
            lambda kind, owner, n: (ev.NoticeDue, "bot", _notice(kind, owner, n)),
            st.sampled_from(NOTICE_KINDS),
            person,
            st.integers(0, 1000),
        ),
    )


@st.composite
def incident_logs(draw, private):
    declared = {
        "title": "Secret breach of customer data",
        "severity": "sev1",
        "commander": draw(person),
        "responders": draw(st.lists(person, max_size=2, unique=True)),
        "origin_channel": "C0GENERAL",
        "private": draw(private),
    }
    events = [E(1, 1, "IncidentDeclared", draw(person), T0, declared)]
    for i, (kind, actor, data) in enumerate(draw(st.lists(step_strategy(), max_size=25)), 2):
        events.append(E(1, i, kind.TYPE, actor, T0 + timedelta(minutes=i), data))
    return events


def _valid_prefixes(events):
    """Each prefix of the log that replays (an action item must exist before it is referenced)."""
    for end in range(1, len(events) + 1):
        yield replay(events[:end])


@settings(max_examples=300, deadline=None)
@given(incident_logs(private=st.just(True)))
def test_no_step_of_a_private_incident_ever_targets_a_shared_destination(events):
    """Every owed step of every prefix of a private incident's log stays in its channel or goes to
    one of its members directly; the one exception is the status page, and only once a person
    published the incident explicitly (a `StatusPagePublished` in its log): the rule `may_reach`
    states, checked here for the status page on every prefix whether or not a step goes there."""
    status_page = Destination(Audience.STATUS_PAGE, "status_page")
    for state in _valid_prefixes(events):
        assert may_reach(state, status_page) is state.public.published
        for step in owed_slack_work(state, POLICY):
            if step.destination.audience is Audience.STATUS_PAGE:
                assert state.public.published, step
            else:
                assert step.destination.audience not in SHARED, (step, state.private)
            if step.destination.audience is Audience.DIRECT_MESSAGE:
                assert step.destination.user in members(state), step
            assert may_reach(state, step.destination), step


@settings(max_examples=200, deadline=None)
@given(incident_logs(private=st.just(False)))
def test_a_public_incident_reaches_its_announcement_and_owners(events):
    """The same rule lets a public incident's notices go where they are meant to: the re-announcement
    to the announcement channel, an action item's reminder to its owner."""
    for state in _valid_prefixes(events):
        for step in owed_slack_work(state, POLICY):
            if step.kind is StepKind.POST_NOTICE:
                notice = state.event(step.seq).payload
                if isinstance(notice, ev.NoticeDue) and notice.kind in ("action_due", "action_overdue"):
                    assert step.destination == Destination(
                        Audience.DIRECT_MESSAGE, notice.owner, user=notice.owner
                    )
                assert isinstance(notice, ev.NoticeDue)
                if notice.kind == UNACKED:
                    assert step.destination.audience is Audience.ANNOUNCEMENT
                    assert step.destination.channel == (state.slack.announcement_channel or "#incidents")
            if step.kind is StepKind.ANNOUNCE:
                assert step.destination.channel == "#incidents"


def _log(private: bool, *more):
    declared = {"title": "Secret", "severity": "sev1", "commander": "U0ALICE", "responders": ["U0BOB"]}
    events = [E(1, 1, "IncidentDeclared", "U0ALICE", T0, {**declared, "private": private})]
    events.append(E(1, 2, "SlackChannelCreated", "bot", T0, {"channel_id": "C1", "name": "inc-1"}))
    for i, (kind, data) in enumerate(more, 3):
        events.append(E(1, i, kind.TYPE, "bot", T0, data))
    return replay(events)


def test_a_private_incidents_reminder_to_an_outsider_is_said_in_its_channel():
    """An action item owner outside a private incident is not sent its text in a DM; the reminder
    goes to the incident channel, where its members are."""
    state = _log(True, (ev.NoticeDue, _notice("action_due", "U0CAROL", 1)))
    (notice,) = [s for s in owed_slack_work(state, POLICY) if s.kind is StepKind.POST_NOTICE]
    assert (notice.destination.audience, notice.destination.channel) == (Audience.INCIDENT_CHANNEL, "C1")
    member = _log(True, (ev.NoticeDue, _notice("action_due", "U0BOB", 1)))
    (notice,) = [s for s in owed_slack_work(member, POLICY) if s.kind is StepKind.POST_NOTICE]
    assert (notice.destination.audience, notice.destination.channel) == (Audience.DIRECT_MESSAGE, "U0BOB")


def test_a_private_incident_is_neither_announced_nor_re_announced():
    """No announcement step at all; the unacknowledged notice goes to the incident channel."""
    state = _log(True, (ev.NoticeDue, _notice(UNACKED, "U0ALICE", 1)))
    steps = owed_slack_work(state, POLICY)
    assert StepKind.ANNOUNCE not in [s.kind for s in steps]
    (notice,) = [s for s in steps if s.kind is StepKind.POST_NOTICE]
    assert notice.destination.audience is Audience.INCIDENT_CHANNEL
    public = owed_slack_work(_log(False, (ev.NoticeDue, _notice(UNACKED, "U0ALICE", 1))), POLICY)
    assert [s.destination.audience for s in public if s.kind is StepKind.POST_NOTICE] == [
        Audience.ANNOUNCEMENT
    ]


def test_the_transport_performs_every_kind_of_step():
    """The notifier's table covers every StepKind: each one reaches a Web API call (PagerDuty's
    step, its Events API; Statuspage's, its Manage API)."""
    from bot.core.audience import Destination
    from bot.core.owed import Owed
    from bot.render.renderer import Renderer
    from bot.render.views import Messages
    from bot.slack.notifier import SlackNotifier
    from bot.slack.pacing import ChannelPacer

    class Reached(Exception):
        pass

    class Client:
        def __getattr__(self, name):
            def call(*args, **kwargs):
                raise Reached(name)

            return call

    state = _log(
        False,
        (ev.SlackChannelNameChosen, {"name": "inc-1"}),  # so creating it is a call, not a choice
        (ev.SlackSummaryPosted, {"channel_id": "C1", "ts": "1.1", "for_seq": 1}),
        (ev.SlackAnnouncementPosted, {"channel_id": "C0", "ts": "2.1"}),
        (ev.NoteAdded, {"text": "n"}),
        (ev.NoticeDue, _notice("status_update", "U0ALICE", 1)),
        (ev.PostmortemRequested, {"version": 1}),
        (ev.Paged, {"key": "manual@9", "users": ("U0BOB",)}),
        (ev.StatusPagePublished, {"public_title": "t", "message": "m", "status": "investigating"}),
        (ev.StatuspageIncidentCreated, {"for_seq": 10, "incident_id": "p0incident01"}),
        (ev.RunbookAttached, {"name": "rb", "title": "R", "steps": [{"title": "s"}]}),
        (ev.SlackRunbookPosted, {"name": "rb", "part": 0, "channel_id": "C1", "ts": "3.1", "for_seq": 12}),
    )
    seqs = {ev.NoteAdded: 6, ev.NoticeDue: 7, ev.PostmortemRequested: 8, ev.Paged: 9}
    mirror = StatusPageConfig(components=(Component("API"),), statuspage=StatuspageMirror("page01"))
    policy = replace(POLICY, status_page=mirror, mirror_statuspage=True)
    notifier = SlackNotifier(
        Client(),
        Messages(Renderer(), policy),
        policy,
        ChannelPacer(100),
        pager=Client(),
        statuspage=Client(),
    )
    here = Destination(Audience.INCIDENT_CHANNEL, "C1")
    for kind in StepKind:
        seq = {
            StepKind.POST_NOTICE: seqs[ev.NoticeDue],
            StepKind.PUBLISH_POSTMORTEM: seqs[ev.PostmortemRequested],
            StepKind.PAGE: seqs[ev.Paged],
            StepKind.PAGERDUTY: seqs[ev.Paged],
            StepKind.STATUSPAGE: 10,
        }.get(kind, seqs[ev.NoteAdded])
        action = "update" if kind is StepKind.STATUSPAGE else "trigger"
        try:
            step = Owed(kind, here, seq=seq, user="U0BOB", action=action, runbook="rb")
            notifier.perform(step, state, T0)
        except Reached:
            continue
        raise AssertionError(f"{kind} made no Web API call")
