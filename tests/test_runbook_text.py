"""Escalation sentences and durations in runbooks, read as people write them (bot.core.runbook_text)."""

from __future__ import annotations

import pytest

from bot.core.runbook_text import read_duration, read_escalation


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1 minute", 60),
        ("20 minutes", 1200),
        ("1h", 3600),
        ("90m", 5400),
        ("2 hours", 7200),
        ("30 min", 1800),
        ("45s", 45),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("1 hour and 30 minutes", 5400),
        ("an hour", 3600),
        ("a minute", 60),
        ("1.5 hours", 5400),
        ("2 days", 172800),
        ("20 Minutes", 1200),
    ],
)
def test_read_duration_reads_the_forms_people_write(text, seconds):
    assert read_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "20", "0 minutes", "20 parsecs", "1hx", "minutes"])
def test_read_duration_refuses_what_is_not_a_positive_duration(text):
    assert read_duration(text) is None


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("If not resolved in 20 minutes, escalate to @platform-leads", (1200, "@platform-leads")),
        ("If not resolved in 20 minutes, escalate to @platform-leads.", (1200, "@platform-leads")),
        ("after 1h escalate to <@U0123>", (3600, "<@U0123>")),
        ("If not resolved in 1 minute, escalate to Primary on-call", (60, "Primary on-call")),
        ("after 90m, escalate to @x", (5400, "@x")),
        ("Escalate to @sre-leads if not resolved after 30 minutes", (1800, "@sre-leads")),
        ("Escalate to @sre-leads after 1h30m.", (5400, "@sre-leads")),
        ("If it is still not resolved within an hour, escalate to DB on-call", (3600, "DB on-call")),
        ("If not resolved in 20 minutes, escalate to **@platform-leads**", (1200, "@platform-leads")),
        ("If not resolved in 5 min, escalate to <!subteam^S012AB|@leads>", (300, "<!subteam^S012AB|@leads>")),
        (
            "if not resolved in 10 minutes, escalate to Équipe base de données",
            (600, "Équipe base de données"),
        ),
    ],
)
def test_read_escalation_gives_seconds_and_the_target_as_written(sentence, expected):
    assert read_escalation(sentence) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "Escalate when it feels bad",
        "If not resolved in a while, escalate to @platform-leads",
        "If not resolved in 20 minutes, escalate to",
        "If not resolved in 20 minutes, escalate to <#C0123|channel>",
        "Call Bob",
    ],
)
def test_read_escalation_refuses_a_sentence_without_a_duration_and_a_target(sentence):
    assert read_escalation(sentence) is None
