"""An end-to-end harness: the real bot over HTTP, talking to the strict local Slack on loopback."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from bot.config import Settings
from bot.core.policy import DEFAULT_SEVERITIES, Policy, SeverityLevel
from bot.local_slack import HttpReply, LocalSlack
from bot.server import Bot, ServerThread, build_bot
from tests.interaction_sender import InteractionSender
from tests.socket_mode_server import SocketModeSender, SocketModeServer

ALICE, BOB, CAROL, ONCALL = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0ONCALL1"
SYNC_TIMEOUT = 30
ALERT_TOKEN = "alert-token-for-tests"


def wait_for(predicate, timeout: float = 30.0) -> bool:
    """Poll `predicate` until it holds or `timeout` passes (for effects that happen in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def team_policy(**overrides) -> Policy:
    severities = tuple(
        SeverityLevel(s.name, s.description, (ONCALL,) if s.name == "sev1" else ())
        for s in DEFAULT_SEVERITIES
    )
    return Policy(severities=severities, announcement_channel="#incidents", **overrides)


@dataclass
class Harness:
    slack: LocalSlack
    bot: Bot
    server: ServerThread
    sender: InteractionSender
    general: str
    announcements: str
    socket: SocketModeServer | None = None  # Slack's side of Socket Mode, when the bot runs in it

    def command(self, text: str, user: str = ALICE, channel: str | None = None, **kw) -> HttpReply:
        """Send `/incident text` as Slack would, from `channel` (default #general)."""
        channel = channel or self.general
        name = self.slack.channel(channel).name
        return self.sender.slash_command(
            text,
            user_id=user,
            channel_id=channel,
            channel_name=name,
            response_url=self.slack.response_url(),
            **kw,
        )

    def settle(self) -> None:
        assert self.bot.wait_idle(SYNC_TIMEOUT), "listeners or Slack sync did not finish"

    def incident_channel(self, number: int = 1) -> str:
        channel = self.bot.service.state_of(number).slack.channel_id
        assert channel is not None
        return channel

    def types(self, number: int = 1) -> list[str]:
        return [e.type for e in self.bot.store.load(number)]

    def close(self) -> None:
        self.server.stop()
        self.bot.close()
        if self.socket is not None:
            self.socket.stop()
        self.slack.stop()


def start_harness(
    database_url: str,
    scopes: set[str],
    policy: Policy | None = None,
    posts_per_second: float = 50.0,
    clock=None,
    socket_mode: bool = False,
    *,
    bot_token: str | None = None,
    signing_secret: str | None = None,
    alert_token: str = ALERT_TOKEN,
    prometheus_url: str | None = None,
) -> Harness:
    """The bot on the wall clock, or on `clock` (a tests.clock.DrivenClock) when given; the
    credentials are made up unless given. With `socket_mode`, Slack's requests reach it as Socket
    Mode envelopes over a WebSocket it opens (and `sender` sends them so), and it has no signing
    secret."""
    slack = LocalSlack(scopes=scopes, **({"token": bot_token} if bot_token else {})).start()
    for user, name in ((ALICE, "alice"), (BOB, "bob"), (CAROL, "carol"), (ONCALL, "oncall")):
        slack.add_user(user, name)
    general = slack.add_channel("general", members=[ALICE, BOB, CAROL])
    announcements = slack.add_channel("incidents", members=[ALICE, BOB])
    slack.add_channel("alerts-triage", members=[ALICE])
    secret = "" if socket_mode else (signing_secret or secrets.token_hex(16))
    socket = SocketModeServer(slack) if socket_mode else None
    settings = Settings(
        bot_token=slack.token,
        signing_secret=secret,
        socket_mode=socket_mode,
        app_token=slack.app_token if socket_mode else None,
        database_url=database_url,
        slack_api_url=slack.base_url,
        policy=policy or team_policy(),
        posts_per_second=posts_per_second,
        alertmanager_token=alert_token,
        prometheus_url=prometheus_url,
    )
    bot = build_bot(settings) if clock is None else build_bot(settings, clock=clock)
    server = ServerThread(bot.wsgi).start()
    sender = InteractionSender(f"{server.url}/slack/events", secret)
    if socket is not None:
        bot.start_socket_mode()
        socket.wait_connections(1)
        sender = SocketModeSender(socket)
    return Harness(slack, bot, server, sender, general, announcements, socket)
