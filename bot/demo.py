"""`incident-bot demo`: a whole incident, played over signed HTTP against the local Slack on loopback."""

from __future__ import annotations

import secrets
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import Settings
from bot.core.policy import DEFAULT_SEVERITIES, Policy, SeverityLevel
from bot.local_slack import LocalSlack, SlackRequestSender
from bot.server import ServerThread, build_bot

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
SYNC_TIMEOUT = 30

# (minutes after the declaration, who, what they type)
SCRIPT = [
    (3, ALICE, "ack"),
    (9, BOB, "update identified Rolled back the 14:20 deploy; watching the error rate"),
    (11, CAROL, "role comms <@U0CAROL01|carol>"),
    (14, ALICE, "note Customer support reports checkout failures in EU"),
    (21, BOB, "mitigate Error rate back under 1%"),
    (48, ALICE, "resolve Connection pool exhausted by a leak in auth middleware"),
]


class DemoClock:
    """The bot's `now` for the demo: a scripted morning instead of a few real seconds."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set_minutes(self, minutes: int) -> None:
        with self._lock:
            self._now = self.start + timedelta(minutes=minutes)


def run_demo(db_path: str | None = None, out=print) -> int:
    path = Path(db_path) if db_path else Path(tempfile.mkdtemp(prefix="incident-bot-demo-")) / "incidents.db"
    secret = secrets.token_hex(16)
    with LocalSlack() as slack:
        for user, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol")):
            slack.add_user(user, name)
        general = slack.add_channel("general", members=[ALICE, BOB, CAROL])
        announcements = slack.add_channel("incidents", members=[ALICE, BOB, CAROL])
        severities = tuple(
            SeverityLevel(s.name, s.description, (BOB,) if s.name == "sev1" else ())
            for s in DEFAULT_SEVERITIES
        )
        settings = Settings(
            bot_token=slack.token,
            signing_secret=secret,
            database_url=f"sqlite:///{path}",
            slack_api_url=slack.base_url,
            policy=Policy(severities=severities, announcement_channel="#incidents"),
        )
        clock = DemoClock(datetime.now(UTC).replace(hour=14, minute=32, second=0, microsecond=0))
        bot = build_bot(settings, clock=clock)
        server = ServerThread(bot.wsgi).start()
        try:
            sender = SlackRequestSender(f"{server.url}/slack/events", secret)
            out(f"Fake Slack on {slack.root_url}; bot on {server.url}/slack/events\n")
            channel = _play(sender, bot, slack, general, clock, out)
            if channel is None:
                out("The incident channel was not created; see the log above.")
                return 1
            out("\nThe bot's clock ran a scripted 48 minutes; the fake Slack stamps messages with real time.")
            out("\n=== What the incident channel shows ===")
            out(slack.transcript(channel))
            out("\n=== What the announcement channel shows ===")
            out(slack.transcript(announcements))
            out(f"\nEvent log: {path} ({bot.store.count_events()} events)")
        finally:
            server.stop()
            bot.close()
    return 0


def _play(
    sender: SlackRequestSender, bot, slack: LocalSlack, general: str, clock: DemoClock, out
) -> str | None:
    declare = "declare sev1 API error rate above 5%"
    _send(sender, slack, ALICE, declare, general, "general", out)
    if not bot.queue.wait_idle(SYNC_TIMEOUT):
        return None
    number = bot.store.heads(limit=1)[0].number
    channel = bot.service.state_of(number).slack.channel_id
    if channel is None:
        return None
    for response in slack.responses:
        out(f"  (later, to the declarer) {response.get('text', '')}")
    name = slack.channel(channel).name
    for minutes, user, text in SCRIPT:
        clock.set_minutes(minutes)
        _send(sender, slack, user, text, channel, name, out)
        bot.queue.wait_idle(SYNC_TIMEOUT)
    return channel


def _send(
    sender: SlackRequestSender, slack: LocalSlack, user: str, text: str, channel: str, name: str, out
) -> None:
    reply = sender.slash_command(
        text, user_id=user, channel_id=channel, channel_name=name, response_url=slack.response_url()
    )
    out(f"\n> [#{name}] <@{user}> /incident {text}")
    out(f"  (only you can see this) {reply.text}")
