"""Replies: the core and the service name a reply and give its data; every word lives in the catalogue."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from bot.core.errors import ConfigError
from bot.core.policy import Policy
from bot.core.replies import REPLIES, Reply, reply
from bot.render.renderer import REPLIES_FILE, Renderer, default_template_dir
from bot.render.views import Messages
from bot.slack.template_check import check_templates
from tests.test_render import T0

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = default_template_dir() / REPLIES_FILE


def catalogue_keys(path: Path = CATALOGUE) -> set[str]:
    return set(yaml.safe_load(path.read_text()))


# Which replies the code gives -----------------------------------------------------------------


def reply_calls_in(source: str) -> list[ast.Call]:
    """Every `reply(...)` and `Reply(...)` call in `source`."""
    return [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("reply", "Reply")
        and node.args
    ]


def keys_given_by_the_code() -> set[str]:
    """The key of every `reply("key", ...)` in bot/ (in files that use bot.core.replies). The core,
    the service and the Slack adapter name their keys literally; only the start-up check, which
    walks the registry itself, passes a key in a variable."""
    keys = set()
    for path in (ROOT / "bot").rglob("*.py"):
        source = path.read_text()
        if "from bot.core.replies import" not in source:
            continue
        for call in reply_calls_in(source):
            first = call.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                keys.add(first.value)
            else:
                assert path.name == "views.py", f"{path.name}: {ast.unparse(call)} names no key literally"
    return keys


def test_the_catalogue_holds_exactly_the_registered_replies():
    """templates/replies.yml has an entry for each key in bot.core.replies.REPLIES, and no other."""
    assert catalogue_keys() == set(REPLIES)


def test_every_reply_the_code_gives_is_registered_and_every_registered_one_is_given():
    """Each key written in bot/ is in the registry (so in the catalogue), and no entry is unused."""
    given = keys_given_by_the_code()
    assert given - set(REPLIES) == set(), "replies the code gives that are not registered"
    assert set(REPLIES) - given == set(), "registered replies nothing gives"


def test_a_reply_with_an_unknown_key_or_the_wrong_data_is_a_programming_error():
    """Reply checks its key and data against the registry, so a typo fails in tests, not in Slack."""
    with pytest.raises(ValueError, match="unknown reply key"):
        reply("no_such_reply")
    with pytest.raises(ValueError, match="takes"):
        reply("noted", incident="INC-1")
    assert reply("noted", key="INC-1") == Reply("noted", {"key": "INC-1"})


def test_user_text_in_a_reply_is_escaped_like_every_template():
    """A reply passes user text through the same filters as the other templates."""
    messages = Messages(Renderer(), Policy())
    declared = reply("declared", key="INC-2", severity="sev1", title="A & <b>", channel_name="inc-2-a")
    assert messages.reply(declared).startswith(":rotating_light: *INC-2* declared (SEV1): A &amp; &lt;b&gt;")
    long_word = "x" * 60
    assert messages.reply(reply("unknown_command", word=long_word)) == (
        f"I don't know the command `{'x' * 39}…`."
    )


# Overrides and the start-up check --------------------------------------------------------------


def test_overriding_the_catalogue_changes_one_reply_and_leaves_the_rest(tmp_path):
    """A team folder holding only replies.yml (a copy with one entry reworded) changes that reply;
    every other reply and every other template stays the default, and start-up still passes."""
    text = CATALOGUE.read_text().replace(
        "  Noted on {{ key }}.\n", "  :memo: Added to {{ key }}'s timeline.\n"
    )
    assert text != CATALOGUE.read_text()
    (tmp_path / REPLIES_FILE).write_text(text)
    team, default = Messages(Renderer(tmp_path), Policy()), Messages(Renderer(), Policy())
    check_templates(team, T0)
    assert team.reply(reply("noted", key="INC-3")) == ":memo: Added to INC-3's timeline."
    for key, sample in REPLIES.items():
        if key != "noted":
            assert team.reply(Reply(key, sample)) == default.reply(Reply(key, sample)), key
    assert team.help() == default.help()


@pytest.mark.parametrize("key", sorted(REPLIES))
def test_a_broken_reply_stops_start_up_naming_its_key(tmp_path, key):
    """Whichever entry of an overriding catalogue is broken, the start-up check names it."""
    entries = yaml.safe_load(CATALOGUE.read_text())
    entries[key] = "{{ no_such_value.field }}"
    (tmp_path / REPLIES_FILE).write_text(yaml.safe_dump(entries))
    with pytest.raises(ConfigError, match=f"reply {key}, failed"):
        check_templates(Messages(Renderer(tmp_path), Policy()), T0)


def test_a_team_catalogue_may_hold_just_the_replies_it_rewords_but_not_unknown_ones(tmp_path):
    """A team's replies.yml lays its entries over the defaults: one entry changes one reply, the
    rest stay; a key the bot does not give (a typo) is refused at start."""
    (tmp_path / REPLIES_FILE).write_text(yaml.safe_dump({"noted": "Got it, {{ key }}."}))
    team = Messages(Renderer(tmp_path), Policy())
    check_templates(team, T0)
    assert team.reply(Reply("noted", {"key": "INC-4"})) == "Got it, INC-4."
    default = Messages(Renderer(), Policy())
    others = [k for k in sorted(REPLIES) if k != "noted"]
    assert [team.reply(Reply(k, REPLIES[k])) for k in others] == [
        default.reply(Reply(k, REPLIES[k])) for k in others
    ]
    (tmp_path / REPLIES_FILE).write_text(yaml.safe_dump({"nooted": "Noted."}))
    with pytest.raises(ConfigError, match="does not give: nooted"):
        check_templates(Messages(Renderer(tmp_path), Policy()), T0)


def test_a_catalogue_with_a_syntax_error_fails_when_the_templates_are_loaded(tmp_path):
    """A reply that is not valid Jinja2 is reported naming its key, before anything is served."""
    (tmp_path / REPLIES_FILE).write_text("noted: 'Noted on {{ key'\n")
    with pytest.raises(ConfigError, match="reply noted, failed"):
        Renderer(tmp_path)


# No English in the core or the service ---------------------------------------------------------

# Exceptions whose message a person reads: they carry a Reply, never a string.
USER_ERRORS = {"UserError", "TransitionRefused", "NotAllowed", "FormErrors"}
LOG_NAMES = {"log", "logger", "logging"}
# English in the core that is not a reply, by file and function, assigned name or text: what the
# postmortem's timeline rows say (rendered into Markdown by postmortem.md.j2), the status update the
# alert intake writes into the log, the default severities' descriptions (config, shown in help),
# and the registry's sample data.
NOT_REPLIES = {
    ("postmortem.py", "describe"),
    ("alerts.py", "All alerts of the group resolved; watching before closing."),
    ("policy.py", "DEFAULT_SEVERITIES"),
    ("replies.py", "REPLIES"),
}
_THREE_WORDS = re.compile(r"[A-Za-z][a-z']+[,;:]? +[A-Za-z][a-z']*[,;:]? +[A-Za-z][a-z']*")
_WORD = re.compile(r"(?<![\w%{-])[A-Za-z][a-z']+(?![\w}])")


def literal_text(node: ast.AST) -> str | None:
    """The text a string literal or f-string spells, with `{}` for each value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def looks_like_a_sentence(text: str) -> bool:
    """What a person would read: three words in a row, or two words and a full stop (`Noted on {}.`)."""
    if _THREE_WORDS.search(text):
        return True
    return " " in text and len(_WORD.findall(text)) >= 2 and text.rstrip().endswith((".", "?", "!", "…"))


class SentenceFinder(ast.NodeVisitor):
    """Every string literal that reads like English, outside docstrings, log calls and messages
    of exceptions a person never sees (programming errors such as ValueError)."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.found: list[tuple[int, str]] = []
        self.skipped: set[int] = set()
        self.function = ""
        self.user_error_class = False

    def skip(self, *nodes: ast.AST | None) -> None:
        for node in nodes:
            if node is not None:
                self.skipped.update(id(n) for n in ast.walk(node))

    def _docstring(self, node: ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        first = node.body[0] if node.body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            self.skip(first)

    def visit_Module(self, node: ast.Module) -> None:
        self._docstring(node)
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._docstring(node)
        outer = self.user_error_class
        bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
        self.user_error_class = node.name in USER_ERRORS or bool(bases & USER_ERRORS)
        self.generic_visit(node)
        self.user_error_class = outer

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._docstring(node)
        outer, self.function = self.function, node.name
        if (self.filename, node.name) not in NOT_REPLIES:
            self.generic_visit(node)
        self.function = outer

    def visit_Assign(self, node: ast.Assign) -> None:
        names = {t.id for t in node.targets if isinstance(t, ast.Name)}
        if not any((self.filename, name) in NOT_REPLIES for name in names):
            self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        name = node.target.id if isinstance(node.target, ast.Name) else ""
        if (self.filename, name) not in NOT_REPLIES:
            self.generic_visit(node)

    def visit_Raise(self, node: ast.Raise) -> None:
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        name = exc.id if isinstance(exc, ast.Name) else exc.attr if isinstance(exc, ast.Attribute) else ""
        if name not in USER_ERRORS:
            self.skip(node.exc)
        self.generic_visit(node)

    def visit_Assert(self, node: ast.Assert) -> None:
        self.skip(node.msg)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in LOG_NAMES
        ):
            self.skip(node)
        is_super_init = (
            isinstance(func, ast.Attribute)
            and func.attr == "__init__"
            and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "super"
        )
        if is_super_init and not self.user_error_class:
            self.skip(node)  # the message of an exception no person reads
        self.generic_visit(node)

    def _literal(self, node: ast.AST) -> None:
        text = literal_text(node)
        if (
            text is not None
            and id(node) not in self.skipped
            and looks_like_a_sentence(text)
            and (self.filename, text) not in NOT_REPLIES
        ):
            self.found.append((getattr(node, "lineno", 0), text))
            self.skip(node)  # an f-string's parts are not reported again

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._literal(node)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        self._literal(node)


def sentences_in(source: str, filename: str) -> list[tuple[int, str]]:
    finder = SentenceFinder(filename)
    finder.visit(ast.parse(source))
    return finder.found


@pytest.mark.parametrize(
    "path",
    sorted([*(ROOT / "bot" / "core").glob("*.py"), *(ROOT / "bot" / "service").glob("*.py")]),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_no_english_sentence_is_written_in_the_core_or_the_service(path):
    """What a person reads is in templates/, not in a string literal of bot/core or bot/service."""
    assert sentences_in(path.read_text(), path.name) == []


@pytest.mark.parametrize(
    "source",
    [
        'raise UserError(f"There is no INC-{number}. `/incident list` shows the open incidents.")',
        'return Decision(reply=f"That was already applied to {state.key}.")',
        'raise TransitionRefused(f"{state.key} is already {to.upper()}.", usage=usage_for(verb))',
        'errors["severity"] = "Choose one of the severities."',
        '_text_command("What should the note say?")',
        'class FormErrors(UserError):\n    def __init__(self):\n        super().__init__("Fix the form, please.")',
    ],
)
def test_the_sentence_finder_catches_replies_written_in_python(source):
    """Lines as the core and service wrote them before the catalogue are found. (Run over
    bot/core and bot/service as of 2a47f38, before the catalogue, it finds 64 replies.)"""
    assert sentences_in(source, "decide.py") != []


@pytest.mark.parametrize(
    "source",
    [
        '"""A docstring is for the reader of the code."""',
        'log.info("pinned message %s in %s not found (a thread reply?)", ts, channel)',
        'raise ValueError(f"{verb!r} is not a command that changes an incident")',
        'raise ConcurrencyConflict(f"INC-{number} is changing too fast; try again")',
        "class DuplicateDelivery(IncidentBotError):\n    def __init__(self, n):\n"
        '        super().__init__(f"already applied to INC-{n}")',
        'raise UserError(reply("no_such_incident", key=f"INC-{number}"))',
        'at = value.strftime("%Y-%m-%d %H:%M UTC")',
        'USAGE = {"action": "/incident action [INC-N] add <text> [@owner] | done <n>"}',
    ],
)
def test_the_sentence_finder_leaves_code_alone(source):
    """Docstrings, logs, programming errors, reply keys, formats and command syntax are not replies."""
    assert sentences_in(source, "decide.py") == []


@pytest.mark.parametrize("name", ["declared_reply.mrkdwn.j2", "sumary.json.j2"])
def test_a_team_template_the_bot_does_not_use_stops_start_up(tmp_path, name):
    """A misspelt override, or one of a template now folded into replies.yml, would silently
    change nothing; it is named at start instead."""
    (tmp_path / name).write_text("x")
    with pytest.raises(ConfigError, match=f"does not use: {name}"):
        Renderer(tmp_path)
