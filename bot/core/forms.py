"""What a submitted modal means: the command it runs and the fields it adds, or inline errors.

Pure: the Slack adapter hands in `{block_id: value}`; every rule about what a form must hold
lives here, so a modal and its slash command are decided the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.commands import MAX_TEXT_LENGTH, MAX_TITLE_LENGTH, Command, check_title
from bot.core.errors import FormErrors, UserError
from bot.core.policy import Policy
from bot.core.publish import PublicChoice
from bot.core.replies import Reply, reply
from bot.core.status_page import COMPONENT_STATUSES, PUBLIC_STATUSES
from bot.core.text import first_control_character, typed_text


@dataclass(frozen=True)
class FormCommand:
    """A form turned into a command, with the event fields only a form carries."""

    command: Command
    extra: Mapping[str, Any]


def _text(form: Mapping[str, Any], name: str) -> str:
    """A modal's text input arrives as typed; it is kept the way Slack sends a command's text
    (`&`, `<`, `>` escaped), so a typed link or mention stays text."""
    return typed_text(str(form.get(name) or "").strip())


def _refuse_control_characters(form: Mapping[str, Any]) -> None:
    """Every text a person typed into the modal, checked as the slash command's text is."""
    errors = {}
    for name, value in form.items():
        found = first_control_character(value) if isinstance(value, str) else None
        if found is not None:
            errors[name] = reply("control_character", character=found)
    if errors:
        raise FormErrors(errors)


def declare_form(form: Mapping[str, Any], actor: str, policy: Policy) -> FormCommand:
    _refuse_control_characters(form)
    title = " ".join(_text(form, "title").split())
    errors: dict[str, Reply] = {}
    try:
        check_title(title)
    except UserError as exc:
        errors["title"] = exc.reply
    severity = form.get("severity") or policy.default_severity
    if severity not in policy.severity_names:
        errors["severity"] = reply("form_severity_unknown")
    if errors:
        raise FormErrors(errors)
    details = {
        "commander": form.get("commander") or actor,
        "impact": _text(form, "impact") or None,
        "private": "private" in (form.get("private") or []),
    }
    return FormCommand(Command("declare", severity=severity, text=title), details)


def update_form(number: int, form: Mapping[str, Any]) -> FormCommand:
    _refuse_control_characters(form)
    message = _text(form, "message")
    if not message:
        raise FormErrors({"message": reply("form_update_message_missing")})
    command = Command("update", incident=number, status=form.get("status"), text=message)
    return FormCommand(command, {"impact": _text(form, "impact") or None})


def mitigate_form(number: int, form: Mapping[str, Any]) -> FormCommand:
    _refuse_control_characters(form)
    note = _text(form, "note")
    if not note:
        raise FormErrors({"note": reply("form_mitigate_note_missing")})
    return FormCommand(Command("mitigate", incident=number, text=note), {})


def resolve_form(number: int, form: Mapping[str, Any], now: datetime) -> FormCommand:
    _refuse_control_characters(form)
    summary = _text(form, "summary")
    errors = {} if summary else {"summary": reply("form_resolve_summary_missing")}
    ended_at = None
    date, time_of_day = form.get("ended_date"), form.get("ended_time")
    if bool(date) != bool(time_of_day):
        errors["ended_time" if date else "ended_date"] = reply("form_ended_needs_both")
    elif date:
        ended_at = datetime.fromisoformat(f"{date}T{time_of_day}:00+00:00")
        if ended_at > now:
            errors["ended_date"] = reply("form_ended_in_future")
    if errors:
        raise FormErrors(errors)
    extra = {"root_cause": _text(form, "root_cause") or None, "impact_ended_at": ended_at}
    return FormCommand(Command("resolve", incident=number, text=summary), extra)


# Public text ------------------------------------------------------------------------------------
# What goes public is kept exactly as the person typed it (not escaped for Slack): the status page
# and Statuspage show it as text; Slack's timeline entry escapes it when it is posted.

ALSO_PUBLISH = "publish"  # the value of the update modal's "Also publish to the status page" box
COMPONENT_FIELD = "component:"  # a component's select: `component:<our name>`


def _public_text(form: Mapping[str, Any], name: str) -> str:
    return str(form.get(name) or "").strip()


def _public_choice(form: Mapping[str, Any], errors: dict[str, Reply]) -> PublicChoice:
    message = _public_text(form, "public_message")
    if not message:
        errors["public_message"] = reply("form_public_message_missing")
    elif len(message) > MAX_TEXT_LENGTH:
        errors["public_message"] = reply("text_too_long", length=len(message), limit=MAX_TEXT_LENGTH)
    status = form.get("public_status") or ""
    if status not in PUBLIC_STATUSES:
        errors["public_status"] = reply("form_public_status_unknown")
    components = {}
    for name, value in form.items():
        if name.startswith(COMPONENT_FIELD) and value is not None:
            if value not in COMPONENT_STATUSES:
                errors[name] = reply("form_component_status_unknown")
            components[name.removeprefix(COMPONENT_FIELD)] = value
    return PublicChoice(message=message, status=status, components=components)


def publish_form(form: Mapping[str, Any]) -> PublicChoice:
    """The publish modal: a public title, message and status, and each component's status."""
    _refuse_control_characters(form)
    errors: dict[str, Reply] = {}
    title = " ".join(_public_text(form, "public_title").split())
    if not title:
        errors["public_title"] = reply("form_public_title_missing")
    elif len(title) > MAX_TITLE_LENGTH:
        errors["public_title"] = reply("title_too_long", length=len(title), limit=MAX_TITLE_LENGTH)
    choice = _public_choice(form, errors)
    if errors:
        raise FormErrors(errors)
    return PublicChoice(choice.message, choice.status, choice.components, public_title=title)


def update_publication(form: Mapping[str, Any]) -> PublicChoice | None:
    """The update modal's own public message, status and components, if its box was ticked."""
    if ALSO_PUBLISH not in (form.get("also_publish") or []):
        return None
    errors: dict[str, Reply] = {}
    choice = _public_choice(form, errors)
    if errors:
        raise FormErrors(errors)
    return choice


def closing_message(form: Mapping[str, Any], default: str) -> str:
    """The Resolve modal's public closing message: `default` (the team's template) when the modal
    did not ask (the incident was published after it was opened); required when it did."""
    if "public_message" not in form:
        return default
    message = _public_text(form, "public_message")
    if not message:
        raise FormErrors({"public_message": reply("form_public_message_missing")})
    if len(message) > MAX_TEXT_LENGTH:
        raise FormErrors(
            {"public_message": reply("text_too_long", length=len(message), limit=MAX_TEXT_LENGTH)}
        )
    return message


# Where each modal shows an error that belongs to no one field (the incident was resolved meanwhile).
FIRST_FIELD = {
    "declare": "title",
    "update": "message",
    "mitigate": "note",
    "resolve": "summary",
    "publish": "public_title",
}
