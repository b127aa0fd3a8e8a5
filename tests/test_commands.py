"""Command parsing: every form the README documents, and a helpful error for every mistake."""

import pytest

from bot.core.commands import Command, parse_command
from bot.core.errors import UserError
from bot.core.policy import Policy
from bot.render.renderer import Renderer
from bot.render.views import Messages

SEVS = Policy().severity_names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "declare sev1 API error rate above 5%",
            Command("declare", severity="sev1", text="API error rate above 5%"),
        ),
        ("declare SEV2 Checkout slow", Command("declare", severity="sev2", text="Checkout slow")),
        ("declare Checkout   slow", Command("declare", text="Checkout slow")),
        ("DECLARE sev4 x", Command("declare", severity="sev4", text="x")),
        ("ack", Command("ack")),
        ("ack INC-42", Command("ack", incident=42)),
        ("ack inc-7", Command("ack", incident=7)),
        ("update identified Rolled back", Command("update", status="identified", text="Rolled back")),
        (
            "update INC-3 monitoring Looks good",
            Command("update", incident=3, status="monitoring", text="Looks good"),
        ),
        ("update Still looking", Command("update", text="Still looking")),
        ("severity sev1 Spreading to EU", Command("severity", severity="sev1", text="Spreading to EU")),
        ("severity INC-2 sev3", Command("severity", incident=2, severity="sev3")),
        ("role commander <@U123ABC|bob>", Command("role", role="commander", user="U123ABC")),
        ("role INC-9 scribe <@U999>", Command("role", incident=9, role="scribe", user="U999")),
        ("note DB failover at 14:22", Command("note", text="DB failover at 14:22")),
        ("mitigate Error rate back under 1%", Command("mitigate", text="Error rate back under 1%")),
        ("resolve Pool leak fixed", Command("resolve", text="Pool leak fixed")),
        ("reopen INC-5 It came back", Command("reopen", incident=5, text="It came back")),
        ("status", Command("status")),
        ("status INC-12", Command("status", incident=12)),
        ("list", Command("list")),
        ("help", Command("help")),
        ("", Command("help")),
        ("declare", Command("declare")),
        # Kept as Slack sent it: typed text escaped, so it can never turn into markup.
        ("note a &lt;b&gt; &amp; c", Command("note", text="a &lt;b&gt; &amp; c")),
    ],
)
def test_parses_documented_forms(text, expected):
    """Each documented command form parses to the intended command."""
    assert parse_command(text, SEVS) == expected


@pytest.mark.parametrize(
    ("text", "message_part", "usage_part"),
    [
        ("explode now", "don't know the command `explode`", "/incident declare"),
        ("declare sev1", "needs a title", "/incident declare"),
        ("declare sev9 Broken", "`sev9` is not a severity", "/incident declare"),
        ("declare :fire: :fire: 🔥🔥", "needs words", "/incident declare"),
        ("declare !!! ???", "needs words", "/incident declare"),
        ("declare " + "x" * 3000, "3000 characters", "/incident declare"),
        ("update identified", "What is the update", "/incident update"),
        ("severity", "Which severity", "/incident severity"),
        ("severity critical", "`critical` is not a severity", "/incident severity"),
        ("role boss <@U1>", "Which role", "/incident role"),
        ("role commander bob", "Mention exactly one person", "/incident role"),
        ("role commander <@U1> <@U2>", "Mention exactly one person", "/incident role"),
        ("note", "What should the note say", "/incident note"),
        ("mitigate", "What mitigated it", "/incident mitigate"),
        ("resolve", "resolution summary", "/incident resolve"),
        ("reopen", "Why reopen", "/incident reopen"),
        ("list everything", "takes no text", "/incident list"),
        ("update " + "y" * 3001, "3001 characters", "/incident update"),
    ],
)
def test_mistakes_get_a_reason_and_the_usage_line(text, message_part, usage_part):
    """Bad input raises a UserError whose message explains and whose usage shows the right form."""
    with pytest.raises(UserError) as caught:
        parse_command(text, SEVS)
    assert message_part in Messages(Renderer(), Policy()).reply(caught.value.reply)
    assert usage_part in (caught.value.usage or "")


def test_a_word_the_person_typed_is_escaped_when_the_reply_repeats_it():
    """An unknown command or severity is quoted back with &, < and > escaped, so typed markup stays text."""
    from bot.core.policy import Policy
    from bot.render.renderer import Renderer
    from bot.render.views import Messages

    messages = Messages(Renderer(), Policy())
    for text in ("<!channel>", "severity INC-1 <!channel>"):
        with pytest.raises(UserError) as caught:
            parse_command(text, ("sev1", "sev2"))
        shown = messages.user_error(caught.value)
        assert "<!channel>" not in shown and "&lt;" in shown, shown
