"""Parsing the text of `/incident ...` into a Command, with usage lines for every mistake."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.core.errors import UserError
from bot.core.policy import ROLES, UPDATE_STATUSES
from bot.core.text import slug

MAX_TITLE_LENGTH = 150  # Slack's header block limit; the title is the summary's header.
MAX_TEXT_LENGTH = 3000  # Slack's section text limit; longer updates would be cut off.

USAGE = {
    "declare": "/incident declare [sev1|sev2|sev3|sev4] <title>",
    "ack": "/incident ack [INC-N]",
    "update": "/incident update [INC-N] [investigating|identified|monitoring] <message>",
    "severity": "/incident severity [INC-N] <sevN> [reason]",
    "role": "/incident role [INC-N] <commander|comms|scribe> <@user>",
    "note": "/incident note [INC-N] <text>",
    "service": "/incident service [INC-N] <service-name>",
    "mitigate": "/incident mitigate [INC-N] <note>",
    "resolve": "/incident resolve [INC-N] <summary>",
    "reopen": "/incident reopen [INC-N] <reason>",
    "status": "/incident status [INC-N]",
    "list": "/incident list",
    "postmortem": "/incident postmortem [INC-N] [summary|root-cause|went-well|went-wrong|lessons <text>]",
    "action": "/incident action [INC-N] add <text> [@owner] [due YYYY-MM-DD] | done <n> | list [mine]",
    "metrics": "/incident metrics [30d]",
    "help": "/incident help",
}
SECTIONS = ("summary", "root-cause", "went-well", "went-wrong", "lessons")
VERBS = tuple(USAGE)
# Commands that act on one incident: taken from the channel, or named as INC-N.
INCIDENT_VERBS = frozenset(VERBS) - {"declare", "list", "help", "metrics"}

_INCIDENT_REF = re.compile(r"^inc-(\d{1,9})$", re.IGNORECASE)
_USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_EMOJI_CODE = re.compile(r":[a-z0-9_+\-']+:", re.IGNORECASE)


@dataclass(frozen=True)
class Command:
    verb: str
    incident: int | None = None
    severity: str | None = None
    status: str | None = None
    role: str | None = None
    user: str | None = None
    text: str = ""
    section: str | None = None  # postmortem section being written
    sub: str | None = None  # action: add | done | list | mine
    item: int | None = None  # action item number
    due: str | None = None  # action item due date, YYYY-MM-DD
    days: int | None = None  # metrics window


def usage_for(verb: str) -> str:
    return f"Usage: `{USAGE[verb]}`"


def overall_usage() -> str:
    return "Usage: " + ", ".join(f"`{USAGE[v]}`" for v in VERBS)


def parse_command(text: str, severities: tuple[str, ...]) -> Command:
    """Turn slash command text (as Slack escapes it) into a Command, or raise UserError."""
    words = html.unescape(text or "").strip().split(maxsplit=1)
    if not words:
        return Command(verb="help")
    verb = words[0].lower()
    rest = words[1].strip() if len(words) > 1 else ""
    if verb not in USAGE:
        raise UserError(f"I don't know the command `{_clip(words[0], 40)}`.", usage=overall_usage())
    incident = None
    if verb in INCIDENT_VERBS:
        incident, rest = _take_incident_ref(rest)
    parser = _PARSERS.get(verb, _no_arguments)
    return parser(verb, incident, rest, severities)


def _take_incident_ref(rest: str) -> tuple[int | None, str]:
    head, _, tail = rest.partition(" ")
    match = _INCIDENT_REF.match(head)
    if match:
        return int(match.group(1)), tail.strip()
    return None, rest


def _first_word(rest: str) -> tuple[str, str]:
    head, _, tail = rest.partition(" ")
    return head, tail.strip()


def _parse_declare(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    if not rest:
        return Command(verb=verb)  # no text at all: the declare modal asks for everything
    head, tail = _first_word(rest)
    severity = None
    if head.lower() in severities:
        severity, rest = head.lower(), tail
    elif re.fullmatch(r"sev-?\d+|p\d", head, re.IGNORECASE):
        raise UserError(
            f"`{_clip(head, 20)}` is not a severity here. Choose one of {_choices(severities)}.",
            usage=usage_for(verb),
        )
    title = " ".join(rest.split())
    check_title(title)
    return Command(verb=verb, severity=severity, text=title)


def check_title(title: str) -> None:
    if not title:
        raise UserError("An incident needs a title: what is broken?", usage=usage_for("declare"))
    if len(title) > MAX_TITLE_LENGTH:
        raise UserError(
            f"That title is {len(title)} characters; keep it under {MAX_TITLE_LENGTH} "
            "and put the details in `/incident note`.",
            usage=usage_for("declare"),
        )
    if not _has_words(title):
        raise UserError("A title needs words, not only emoji or punctuation.", usage=usage_for("declare"))


def _has_words(text: str) -> bool:
    without_codes = _EMOJI_CODE.sub("", text)
    return any(unicodedata.category(ch)[0] in "LN" for ch in without_codes)


def _parse_update(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    head, tail = _first_word(rest)
    status = None
    if head.lower() in UPDATE_STATUSES:
        status, rest = head.lower(), tail
    message = _required_text(verb, rest, "What is the update? Say what changed and what happens next.")
    return Command(verb=verb, incident=incident, status=status, text=message)


def _parse_severity(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    head, tail = _first_word(rest)
    if not head:
        raise UserError(f"Which severity? Choose one of {_choices(severities)}.", usage=usage_for(verb))
    if head.lower() not in severities:
        raise UserError(
            f"`{_clip(head, 20)}` is not a severity. Choose one of {_choices(severities)}.",
            usage=usage_for(verb),
        )
    return Command(verb=verb, incident=incident, severity=head.lower(), text=_limit(verb, tail))


def _parse_role(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    role, tail = _first_word(rest)
    if role.lower() not in ROLES:
        raise UserError(f"Which role? Choose one of {_choices(ROLES)}.", usage=usage_for(verb))
    who, extra = _first_word(tail)
    match = _USER_MENTION.match(who)
    if not match or extra:
        raise UserError("Mention exactly one person with @, e.g. `@alice`.", usage=usage_for(verb))
    return Command(verb=verb, incident=incident, role=role.lower(), user=match.group(1))


Parser = Callable[[str, int | None, str, tuple[str, ...]], Command]


def _text_command(prompt: str) -> Parser:
    def parse(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
        return Command(verb=verb, incident=incident, text=_required_text(verb, rest, prompt))

    return parse


def _no_arguments(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    if rest:
        raise UserError(f"`{verb}` takes no text after it.", usage=usage_for(verb))
    return Command(verb=verb, incident=incident)


def _required_text(verb: str, rest: str, prompt: str) -> str:
    text = rest.strip()
    if not text:
        raise UserError(prompt, usage=usage_for(verb))
    return _limit(verb, text)


def _limit(verb: str, text: str) -> str:
    if len(text) > MAX_TEXT_LENGTH:
        raise UserError(
            f"That text is {len(text)} characters; Slack shows at most {MAX_TEXT_LENGTH}. Split it up.",
            usage=usage_for(verb),
        )
    return text


def _choices(options: tuple[str, ...]) -> str:
    return ", ".join(f"`{o}`" for o in options)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parse_postmortem(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    if not rest:
        return Command(verb=verb, incident=incident)
    head, tail = _first_word(rest)
    if head.lower() not in SECTIONS:
        raise UserError(f"Which section? Choose one of {_choices(SECTIONS)}.", usage=usage_for(verb))
    text = _required_text(verb, tail, f"What should the {head.lower()} section say?")
    return Command(verb=verb, incident=incident, section=head.lower(), text=text)


_DUE = re.compile(r"(?:^|\s)due\s+(\d{4}-\d{2}-\d{2})\s*$", re.IGNORECASE)
_OWNER = re.compile(r"\s*<@([UW][A-Z0-9]+)(?:\|[^>]*)?>\s*$")


def _parse_action(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    head, tail = _first_word(rest)
    sub = head.lower()
    if sub == "list":
        if tail.lower() not in ("", "mine"):
            raise UserError("`action list` takes only `mine`.", usage=usage_for(verb))
        return Command(verb=verb, incident=incident, sub="mine" if tail else "list")
    if sub == "done":
        if not tail.isdigit():
            raise UserError(
                "Which item? Give its number from `/incident action list`.", usage=usage_for(verb)
            )
        return Command(verb=verb, incident=incident, sub="done", item=int(tail))
    if sub != "add":
        raise UserError("Use `action add`, `action done` or `action list`.", usage=usage_for(verb))
    text, due, owner = tail, None, None
    match = _DUE.search(text)
    if match:
        due, text = match.group(1), text[: match.start()].strip()
        try:
            date.fromisoformat(due)
        except ValueError:
            raise UserError(f"`{due}` is not a date; use YYYY-MM-DD.", usage=usage_for(verb)) from None
    match = _OWNER.search(text)
    if match:
        owner, text = match.group(1), text[: match.start()].strip()
    text = _required_text(
        verb, text, "What needs doing? e.g. `/incident action add Add a pool-leak alert @bob`"
    )
    return Command(verb=verb, incident=incident, sub="add", text=text, user=owner, due=due)


def _parse_metrics(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    if not rest:
        return Command(verb=verb, days=30)
    match = re.fullmatch(r"(\d{1,4})d?", rest.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise UserError("Give the window in days, e.g. `30d`.", usage=usage_for(verb))
    return Command(verb=verb, days=int(match.group(1)))


def _parse_service(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    name = slug(rest, max_length=64)
    if not name:
        raise UserError(
            "Which service is affected? e.g. `/incident service checkout`.", usage=usage_for(verb)
        )
    return Command(verb=verb, incident=incident, text=name)


_PARSERS: dict[str, Parser] = {
    "service": _parse_service,
    "postmortem": _parse_postmortem,
    "action": _parse_action,
    "metrics": _parse_metrics,
    "declare": _parse_declare,
    "update": _parse_update,
    "severity": _parse_severity,
    "role": _parse_role,
    "note": _text_command("What should the note say?"),
    "mitigate": _text_command("What mitigated it? e.g. `/incident mitigate Rolled back to v1.4.2`"),
    "resolve": _text_command("Give a one-line resolution summary: what fixed it?"),
    "reopen": _text_command("Why reopen it? Say what came back."),
}
