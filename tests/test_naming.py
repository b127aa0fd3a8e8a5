"""Incident channel names stay inside Slack's rules for any title."""

import re

import pytest

from bot.slack.naming import channel_name_for

SLACK_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")


@pytest.mark.parametrize(
    ("number", "title", "attempt", "expected"),
    [
        (1, "API error rate above 5%", 0, "inc-1-api-error-rate-above-5"),
        (42, "Checkout: 502s from EU/LB!", 0, "inc-42-checkout-502s-from-eu-lb"),
        (2, "Ошибка оплаты", 0, "inc-2-oshibka-oplaty"),
        (3, "Café résumé", 0, "inc-3-cafe-resume"),
        (4, "🔥🔥🔥", 0, "inc-4"),
        (5, "Database down", 1, "inc-5-database-down-2"),
        (5, "Database down", 2, "inc-5-database-down-3"),
    ],
)
def test_channel_name_for(number, title, attempt, expected):
    """Titles are slugged to lowercase ASCII; retries after name_taken get a numeric suffix."""
    assert channel_name_for(number, title, "inc", attempt) == expected


@pytest.mark.parametrize("title", ["x" * 500, "word " * 100, "支付服务宕机 " * 40, "-" * 90, ""])
@pytest.mark.parametrize("attempt", [0, 9])
def test_channel_names_always_valid(title, attempt):
    """Whatever the title, the name fits Slack's alphabet and 80-character limit."""
    name = channel_name_for(123456, title, "inc", attempt)
    assert SLACK_NAME.match(name), name
