"""Defects found by adversarial testing (issue 10), each driven as Slack or an attacker would."""

from __future__ import annotations

import pytest

from tests.harness import ALICE, start_harness
from tests.test_manifest import manifest_bot_scopes


@pytest.fixture
def h(database_url):
    harness = start_harness(database_url, manifest_bot_scopes())
    yield harness
    harness.close()


@pytest.mark.parametrize("timestamp", ["abc", "1e9", "", "-5", "99999999999999999999999"])
def test_a_malformed_request_timestamp_is_refused_like_a_bad_signature(h, timestamp):
    """A timestamp header that is not a number of seconds gets 401, never a 500, and does nothing."""
    reply = h.sender.post(
        b"command=%2Fincident&text=declare+sev1+Forged&user_id=U0ALICE01",
        "application/x-www-form-urlencoded",
        headers={"X-Slack-Request-Timestamp": timestamp},
    )
    assert reply.status == 401
    assert h.bot.store.count_events() == 0


@pytest.mark.parametrize("text", ["action done ①", "action done ²", "action done ٣"])
def test_a_number_that_is_not_ascii_digits_gets_the_usage_line(h, text):
    """`str.isdigit()` accepts ①, ² and Arabic-Indic digits; the parser takes ASCII digits only."""
    h.command("declare sev3 Digits", user=ALICE)
    h.settle()
    reply = h.command(text, user=ALICE, channel=h.incident_channel())
    assert reply.status == 200
    assert "Usage: `/incident action" in reply.text and "went wrong" not in reply.text
