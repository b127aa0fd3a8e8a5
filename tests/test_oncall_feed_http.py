"""On-call at `serve`'s start and over its HTTP server: emails looked up with users.lookupByEmail
against the strict local Slack and cached, and GET /oncall/<slug>.ics read back with icalendar."""

from __future__ import annotations

import logging
import secrets
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar

from bot.config import Settings, load_config_file
from bot.local_slack import DEFAULT_SCOPES, LocalSlack
from bot.oncall_feed import make_oncall_feed
from bot.server import ServerThread, build_bot
from bot.store.db import make_engine
from bot.store.names import NameStore
from bot.store.oncall_emails import OnCallEmailStore
from tests.test_oncall_config import SEED

TOKEN = "feed-token-for-tests"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # a Tuesday; alice holds the primary since Monday
KNOWN = {"alice@example.com": "U0ALICE01", "bob@example.com": "U0BOB0001", "dave@example.com": "U0DAVE001"}
# carol@example.com, erin@example.com and frank@example.com are not in the workspace.


@pytest.fixture
def serve(tmp_path):
    """The bot as `serve` builds it (on a fixed clock), with the seed's config, over real HTTP."""
    slack = LocalSlack(scopes=DEFAULT_SCOPES | {"users:read.email"}).start()
    for email, user in KNOWN.items():
        slack.add_user(user, email.split("@")[0], email=email.upper() if user == "U0BOB0001" else email)
    config = tmp_path / "bot.yml"
    config.write_text(SEED)
    running = []

    def start(**settings_overrides):
        settings = Settings(
            bot_token=slack.token,
            signing_secret=secrets.token_hex(16),
            database_url=f"sqlite:///{tmp_path / 'bot.db'}",
            slack_api_url=slack.base_url,
            **load_config_file(config),
            **({"oncall_feed_token": TOKEN} | settings_overrides),
        )
        bot = build_bot(settings, clock=lambda: NOW)
        server = ServerThread(bot.wsgi).start()
        running.append((bot, server))
        return bot, server

    yield slack, start
    for bot, server in running:
        server.stop()
        bot.close()
    slack.stop()


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_serve_looks_up_each_email_once_and_caches_what_slack_said(serve, caplog):
    """Every email the schedules name is asked about once; found ones are cached with their user id
    (Slack matches any case), unknown ones as not found, each with a warning, and serve starts."""
    slack, start = serve
    with caplog.at_level(logging.WARNING, logger="bot.service.oncall"):
        bot, _ = start()
    asked = [call.params["email"] for call in slack.calls("users.lookupByEmail")]
    assert sorted(asked) == sorted(
        [f"{n}@example.com" for n in ("alice", "bob", "carol", "dave", "erin", "frank")]
    )
    cached = OnCallEmailStore(bot.store.engine).lookups(asked)
    assert cached.found == KNOWN
    assert cached.not_found == {"carol@example.com", "erin@example.com", "frank@example.com"}
    warned = [r.getMessage() for r in caplog.records if "has no user with the email" in r.getMessage()]
    assert len(warned) == 3 and "carol@example.com" in warned[0]


def test_slack_not_answering_leaves_the_cache_and_serve_starts(serve, caplog):
    """A 429 on users.lookupByEmail is not a crash: the lookups stop, a warning is logged, and the
    cache keeps what an earlier start found."""
    slack, start = serve
    bot, server = start()
    server.stop()
    bot.close()
    slack.fail_next("users.lookupByEmail", status=429, retry_after=60)
    with caplog.at_level(logging.WARNING, logger="bot.service.oncall"):
        bot, _ = start()
    assert any("could not look up on-call emails" in r.getMessage() for r in caplog.records)
    assert OnCallEmailStore(bot.store.engine).lookups(list(KNOWN)).found == KNOWN


def test_without_the_email_scope_serve_starts_and_emails_stay_emails(tmp_path, caplog):
    """missing_scope (an app installed before users:read.email) is a warning, not a crash."""
    slack = LocalSlack().start()
    (tmp_path / "bot.yml").write_text(SEED)
    settings = Settings(
        bot_token=slack.token,
        signing_secret="s",
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        slack_api_url=slack.base_url,
        **load_config_file(tmp_path / "bot.yml"),
    )
    with caplog.at_level(logging.WARNING, logger="bot.service.oncall"):
        bot = build_bot(settings, clock=lambda: NOW)
    try:
        assert [r.getMessage() for r in caplog.records] == [
            "could not look up on-call emails in Slack (missing_scope); using the cache"
        ]
        assert OnCallEmailStore(bot.store.engine).lookups(list(KNOWN)).found == {}
    finally:
        bot.close()
        slack.stop()


def events_of(body: bytes) -> list:
    return list(Calendar.from_ical(body).walk("VEVENT"))


def test_the_ics_feed_has_the_current_shift_whole_and_each_shift_for_90_days(serve):
    """RFC 5545 from icalendar: one VEVENT per held shift in UTC, the current one from its start, the
    last one whole past 90 days; resolved emails show as user ids; an unknown email's week is a gap."""
    _, start = serve
    _, server = start()
    status, headers, body = get(f"{server.url}/oncall/platform-team-primary.ics?token={TOKEN}")
    assert status == 200 and headers["Content-Type"].startswith("text/calendar")
    events = events_of(body)
    spans = [(e.decoded("dtstart"), e.decoded("dtend")) for e in events]
    assert spans[0] == (datetime(2026, 11, 30, 14, tzinfo=UTC), datetime(2026, 12, 7, 14, tzinfo=UTC))
    assert all(s.utcoffset() == timedelta(0) and e - s == timedelta(weeks=1) for s, e in spans)
    assert spans[-1][0] < NOW + timedelta(days=90) < spans[-1][1]
    holders = [str(e["description"]).split(": ", 1)[1] for e in events]
    # alice, bob, [carol unknown: a gap], dave, alice, ... over 13 weeks.
    assert holders[:4] == ["U0ALICE01", "U0BOB0001", "U0DAVE001", "U0ALICE01"]
    starts = [s for s, _ in spans]
    assert datetime(2026, 12, 14, 14, tzinfo=UTC) not in starts
    assert len(events) == 13 - 3  # 13 weekly shifts from 30 November, carol's three are gaps
    uids = [str(e["uid"]) for e in events]
    assert len(set(uids)) == len(uids)
    assert uids[0].startswith("platform-team-primary-20261130T140000Z-")
    _, _, again = get(f"{server.url}/oncall/platform-team-primary.ics?token={TOKEN}")
    assert [str(e["uid"]) for e in events_of(again)] == uids  # stable: a subscribed calendar updates


def test_the_feed_refuses_a_missing_or_wrong_token_and_an_unknown_schedule(serve):
    _, start = serve
    _, server = start()
    assert get(f"{server.url}/oncall/platform-team-primary.ics")[0] == 401
    assert get(f"{server.url}/oncall/platform-team-primary.ics?token=wrong")[0] == 401
    assert get(f"{server.url}/oncall/nightly.ics?token=wrong")[0] == 401  # no hint which names exist
    assert get(f"{server.url}/oncall/nightly.ics?token={TOKEN}")[0] == 404
    assert get(f"{server.url}/oncall/Platform Team Primary.ics?token={TOKEN}".replace(" ", "%20"))[0] == 404
    assert get(f"{server.url}/oncall/platform-team-primary?token={TOKEN}")[0] == 404


def test_the_feed_is_off_without_a_token(serve, tmp_path):
    """Without ONCALL_FEED_TOKEN the route answers 404 whatever the token given."""
    _, start = serve
    bot, server = start(oncall_feed_token=None)
    assert get(f"{server.url}/oncall/platform-team-primary.ics?token=")[0] == 404
    assert get(f"{server.url}/oncall/platform-team-primary.ics?token={TOKEN}")[0] == 404
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    feed = make_oncall_feed(
        bot.settings.policy.oncall, OnCallEmailStore(engine), NameStore(engine), None, lambda: NOW
    )
    other = ServerThread(feed).start()
    try:
        assert get(f"{other.url}/oncall/platform-team-primary.ics?token=x")[0] == 404
    finally:
        other.stop()
        engine.dispose()
