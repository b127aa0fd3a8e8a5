"""Parsing the text of `/incident ...` into a Command, with usage lines for every mistake."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.core.errors import UserError
from bot.core.policy import ROLES, UPDATE_STATUSES
from bot.core.replies import Reply, reply
from bot.core.text import first_control_character, slug

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
    "oncall": "/incident oncall [schedule] | override <schedule> <@user> <2h | until 2026-12-02 09:00>"
    " | override remove <id> | take <schedule> [2h | until 2026-12-02 09:00]",
    "page": '/incident page <@user | schedule | "Schedule Name"> [INC-N] [message]',
    "statuspage": "/incident statuspage [INC-N]",
    "slo": "/incident slo [name]",
    "runbook": "/incident runbook [INC-N] [name]",
    "help": "/incident help",
}
SECTIONS = ("summary", "root-cause", "went-well", "went-wrong", "lessons")
VERBS = tuple(USAGE)
# Commands that act on one incident: taken from the channel, or named as INC-N.
# Commands about no one incident; every other verb acts on one, taken from the channel or INC-N.
NO_INCIDENT_VERBS = ("declare", "list", "help", "metrics", "oncall", "slo")
INCIDENT_VERBS = frozenset(VERBS) - set(NO_INCIDENT_VERBS)

_INCIDENT_REF = re.compile(r"^inc-([0-9]{1,9})$", re.IGNORECASE)
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
    target: str | None = None  # page: a schedule's name or slug (a person is `user`)


def usage_for(verb: str) -> str:
    return f"Usage: `{USAGE[verb]}`"


def overall_usage() -> str:
    return "Usage: " + ", ".join(f"`{USAGE[v]}`" for v in VERBS)


def parse_command(text: str, severities: tuple[str, ...]) -> Command:
    """Turn slash command text into a Command, or raise UserError. The text stays as Slack sent
    it: what the person typed has `&`, `<` and `>` escaped, while real mentions, channel links and
    links (made with Slack's composer) are raw tokens. So a typed `<https://…|…>` stays text."""
    words = (text or "").strip().split(maxsplit=1)
    if not words:
        return Command(verb="help")
    verb = words[0].lower()
    rest = words[1].strip() if len(words) > 1 else ""
    control = first_control_character(" ".join(words))
    if control is not None:
        usage = usage_for(verb) if verb in USAGE else overall_usage()
        raise UserError(reply("control_character", character=control), usage=usage)
    if verb not in USAGE:
        raise UserError(reply("unknown_command", word=words[0]), usage=overall_usage())
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
        raise UserError(reply("declare_not_a_severity", word=head, choices=severities), usage=usage_for(verb))
    title = " ".join(rest.split())
    check_title(title)
    return Command(verb=verb, severity=severity, text=title)


def check_title(title: str) -> None:
    if not title:
        raise UserError(reply("title_missing"), usage=usage_for("declare"))
    if len(title) > MAX_TITLE_LENGTH:
        raise UserError(
            reply("title_too_long", length=len(title), limit=MAX_TITLE_LENGTH), usage=usage_for("declare")
        )
    if not _has_words(title):
        raise UserError(reply("title_without_words"), usage=usage_for("declare"))


def _has_words(text: str) -> bool:
    without_codes = _EMOJI_CODE.sub("", text)
    return any(unicodedata.category(ch)[0] in "LN" for ch in without_codes)


def _parse_update(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    head, tail = _first_word(rest)
    status = None
    if head.lower() in UPDATE_STATUSES:
        status, rest = head.lower(), tail
    message = _required_text(verb, rest, reply("update_text_missing"))
    return Command(verb=verb, incident=incident, status=status, text=message)


def _parse_severity(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    head, tail = _first_word(rest)
    if not head:
        raise UserError(reply("severity_missing", choices=severities), usage=usage_for(verb))
    if head.lower() not in severities:
        raise UserError(reply("severity_unknown", word=head, choices=severities), usage=usage_for(verb))
    return Command(verb=verb, incident=incident, severity=head.lower(), text=_limit(verb, tail))


def _parse_role(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    role, tail = _first_word(rest)
    if role.lower() not in ROLES:
        raise UserError(reply("role_unknown", choices=ROLES), usage=usage_for(verb))
    who, extra = _first_word(tail)
    match = _USER_MENTION.match(who)
    if not match or extra:
        raise UserError(reply("mention_one_person"), usage=usage_for(verb))
    return Command(verb=verb, incident=incident, role=role.lower(), user=match.group(1))


Parser = Callable[[str, int | None, str, tuple[str, ...]], Command]


def _text_command(prompt: Reply) -> Parser:
    def parse(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
        return Command(verb=verb, incident=incident, text=_required_text(verb, rest, prompt))

    return parse


def _no_arguments(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    if rest:
        raise UserError(reply("takes_no_text", verb=verb), usage=usage_for(verb))
    return Command(verb=verb, incident=incident)


def _required_text(verb: str, rest: str, prompt: Reply) -> str:
    text = rest.strip()
    if not text:
        raise UserError(prompt, usage=usage_for(verb))
    return _limit(verb, text)


def _limit(verb: str, text: str) -> str:
    if len(text) > MAX_TEXT_LENGTH:
        raise UserError(
            reply("text_too_long", length=len(text), limit=MAX_TEXT_LENGTH), usage=usage_for(verb)
        )
    return text


def _parse_postmortem(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    if not rest:
        return Command(verb=verb, incident=incident)
    head, tail = _first_word(rest)
    if head.lower() not in SECTIONS:
        raise UserError(reply("section_unknown", choices=SECTIONS), usage=usage_for(verb))
    text = _required_text(verb, tail, reply("section_text_missing", section=head.lower()))
    return Command(verb=verb, incident=incident, section=head.lower(), text=text)


_DUE = re.compile(r"(?:^|\s)due\s+([0-9]{4}-[0-9]{2}-[0-9]{2})\s*$", re.IGNORECASE)
_OWNER = re.compile(r"\s*<@([UW][A-Z0-9]+)(?:\|[^>]*)?>\s*$")


def _parse_action(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    head, tail = _first_word(rest)
    sub = head.lower()
    if sub == "list":
        if tail.lower() not in ("", "mine"):
            raise UserError(reply("action_list_takes_mine"), usage=usage_for(verb))
        return Command(verb=verb, incident=incident, sub="mine" if tail else "list")
    if sub == "done":
        if not re.fullmatch(r"[0-9]{1,9}", tail):  # ASCII digits: isdigit() also takes ① and ²
            raise UserError(reply("action_item_number_missing"), usage=usage_for(verb))
        return Command(verb=verb, incident=incident, sub="done", item=int(tail))
    if sub != "add":
        raise UserError(reply("action_sub_unknown"), usage=usage_for(verb))
    text, due, owner = tail, None, None
    match = _DUE.search(text)
    if match:
        due, text = match.group(1), text[: match.start()].strip()
        try:
            date.fromisoformat(due)
        except ValueError:
            raise UserError(reply("due_not_a_date", due=due), usage=usage_for(verb)) from None
    match = _OWNER.search(text)
    if match:
        owner, text = match.group(1), text[: match.start()].strip()
    text = _required_text(verb, text, reply("action_text_missing"))
    return Command(verb=verb, incident=incident, sub="add", text=text, user=owner, due=due)


def _parse_metrics(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    if not rest:
        return Command(verb=verb, days=30)
    match = re.fullmatch(r"([0-9]{1,4})d?", rest.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise UserError(reply("metrics_window_unknown"), usage=usage_for(verb))
    return Command(verb=verb, days=int(match.group(1)))


def _parse_service(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    name = slug(rest, max_length=64)
    if not name:
        raise UserError(reply("service_missing"), usage=usage_for(verb))
    return Command(verb=verb, incident=incident, text=name)


_UNTIL_OR_DURATION = re.compile(r"(?:^|\s)(until\s+.*|[0-9]+(?:\.[0-9]+)?[a-z]+)$", re.IGNORECASE)


def _parse_oncall(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    """`oncall [schedule]`, `oncall override <schedule> <@user> <end>`, `oncall override remove <id>`,
    `oncall take <schedule> [end]`. A schedule's name may hold spaces; `text` is the schedule, `due`
    the end as typed (read later, in the reader's zone), `item` an override's id."""
    head, tail = _first_word(rest)
    sub = head.lower()
    if sub == "override":
        word, after = _first_word(tail)
        if word.lower() == "remove":
            if not re.fullmatch(r"[0-9]{1,9}", after):
                raise UserError(reply("oncall_override_id_missing"), usage=usage_for(verb))
            return Command(verb=verb, sub="remove", item=int(after))
        mention = re.search(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>", tail)
        if mention is None:
            raise UserError(reply("mention_one_person"), usage=usage_for(verb))
        schedule, end = tail[: mention.start()].strip(), tail[mention.end() :].strip()
        if not schedule:
            raise UserError(reply("oncall_schedule_missing"), usage=usage_for(verb))
        if not end:
            raise UserError(reply("oncall_end_missing"), usage=usage_for(verb))
        return Command(verb=verb, sub="override", text=schedule, user=mention.group(1), due=end)
    if sub == "take":
        match = _UNTIL_OR_DURATION.search(tail)
        taken_until: str | None = match.group(1) if match else None
        schedule = tail[: match.start()].strip() if match else tail
        if not schedule:
            raise UserError(reply("oncall_schedule_missing"), usage=usage_for(verb))
        return Command(verb=verb, sub="take", text=schedule, due=taken_until)
    return Command(verb=verb, sub="show", text=" ".join(rest.split()))


_QUOTED = re.compile(r'^["\u201c]([^"\u201d]+)["\u201d]\s*(.*)$', re.DOTALL)


def _parse_page(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    """A mention, a schedule's slug (one word) or its name in quotes; then INC-N and a message."""
    quoted = _QUOTED.match(rest)
    if quoted:
        target, tail = quoted.group(1).strip(), quoted.group(2).strip()
    else:
        target, tail = _first_word(rest)
    if not target:
        raise UserError(reply("page_target_missing"), usage=usage_for(verb))
    if incident is None:
        incident, tail = _take_incident_ref(tail)
    message = _limit(verb, tail)
    mention = _USER_MENTION.match(target)
    if mention:
        return Command(verb=verb, incident=incident, user=mention.group(1), text=message)
    if target.startswith("<"):
        raise UserError(reply("page_target_missing"), usage=usage_for(verb))
    return Command(verb=verb, incident=incident, target=target, text=message)


def _parse_slo(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    """`slo [name]`: an SLO's name (may hold spaces), slug or service; empty: every SLO."""
    return Command(verb=verb, text=rest.strip())


def _parse_runbook(verb: str, incident: int | None, rest: str, severities: tuple[str, ...]) -> Command:
    """`runbook`: list the runbooks; `runbook [INC-N] <name>`: attach one (a file name, one word)."""
    name = rest.strip()
    if len(name.split()) > 1 or name.startswith("<"):
        raise UserError(reply("runbook_name_one_word"), usage=usage_for(verb))
    return Command(verb=verb, incident=incident, text=name)


_PARSERS: dict[str, Parser] = {
    "runbook": _parse_runbook,
    "slo": _parse_slo,
    "oncall": _parse_oncall,
    "page": _parse_page,
    "service": _parse_service,
    "postmortem": _parse_postmortem,
    "action": _parse_action,
    "metrics": _parse_metrics,
    "declare": _parse_declare,
    "update": _parse_update,
    "severity": _parse_severity,
    "role": _parse_role,
    "note": _text_command(reply("note_text_missing")),
    "mitigate": _text_command(reply("mitigate_text_missing")),
    "resolve": _text_command(reply("resolve_text_missing")),
    "reopen": _text_command(reply("reopen_text_missing")),
}
