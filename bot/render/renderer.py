"""The Jinja2 environment: strict about undefined names, escaping user text for Slack mrkdwn."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
)

from bot.core import names as core_names
from bot.core.errors import ConfigError
from bot.core.runbook import format_seconds
from bot.render.ids import IDS

# Slack's own markup that user text may carry on purpose: mentions, channel links, links.
_SLACK_MARKUP = re.compile(r"<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+|https?://[^<>\s|]+)(?:\|[^<>]*)?>")


# The one catalogue of replies: every short answer to a person, keyed by name (bot/core/replies.py).
REPLIES_FILE = "replies.yml"


def default_template_dir() -> Path:
    """`templates/` of a source checkout, or the copy packed into the wheel."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "templates", here / "_templates"):
        if candidate.is_dir():
            return candidate
    raise ConfigError("cannot find the templates folder")


def escape_mrkdwn(text: object) -> str:
    """Escape &, < and > as Slack asks, keeping mentions, channel links and links intact."""
    source = str(text)
    out, last = [], 0
    for match in _SLACK_MARKUP.finditer(source):
        out.append(_escape(source[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_escape(source[last:]))
    return "".join(out)


_BARE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt);)")


def _escape(text: str) -> str:
    """User text is kept as Slack sent it (typed `&<>` already escaped); escape what is not."""
    return _BARE_AMPERSAND.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


def plain(text: object) -> str:
    """User text for a place that shows it as typed (a header, the topic, a Markdown file):
    Slack's escapes undone."""
    return html.unescape(str(text))


def readable(text: object, names: Mapping[str, str]) -> str:
    """User text for a reader outside Slack (a Markdown file, a terminal): like `plain`, and
    Slack's own mentions and channel links show the person's or channel's name from `names`
    (else the name the link carries, else the bare id). A typed `<@U…>` arrived escaped, so it
    stays text and is never given a name."""
    source = str(text)
    out, last = [], 0
    for match in core_names.MENTION.finditer(source):
        out.append(plain(source[last : match.start()]))
        out.append(core_names.mention_shown(match, names))
        last = match.end()
    out.append(plain(source[last:]))
    return "".join(out)


def person(user_id: object, names: Mapping[str, str]) -> str:
    """A person, by id, for a reader outside Slack: their name from `names`, else the bare id."""
    return core_names.person(str(user_id), names)


def clip(text: object, limit: int) -> str:
    """Cut text to `limit` characters at the edge, marking the cut."""
    value = str(text)
    return value if len(value) <= limit else value[: max(limit - 1, 0)] + "…"


def hhmm(value: datetime | None) -> str:
    return value.strftime("%H:%M UTC") if value else "—"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def span(value: timedelta | None) -> str:
    """A key figure: `1h 5m`, or `not reached` when the step never happened."""
    return duration(value.total_seconds()) if value is not None else "not reached"


def html_only(name: str | None) -> bool:
    """Autoescape the HTML templates (the public status page) and nothing else."""
    return bool(name) and str(name).endswith(".html.j2")


def template_loader(team_dir: Path | None) -> BaseLoader:
    """The bot's templates, with a team's folder in front: a file there replaces the default of
    the same name, so the folder may hold just the templates the team changes."""
    defaults = FileSystemLoader(str(default_template_dir()))
    if team_dir is None:
        return defaults
    if not team_dir.is_dir():
        raise ConfigError(f"templates folder {team_dir} does not exist")
    known = {p.name for p in default_template_dir().iterdir()}
    unused = sorted(p.name for p in team_dir.iterdir() if p.suffix in (".j2", ".yml") and p.name not in known)
    if unused:
        # A misspelt name would silently change nothing; so would a template since folded into
        # replies.yml (declared_reply.mrkdwn.j2, channel_ready.mrkdwn.j2).
        raise ConfigError(
            f"templates folder {team_dir} has file(s) the bot does not use: {', '.join(unused)} "
            f"(short replies are entries of {REPLIES_FILE})"
        )
    return ChoiceLoader([FileSystemLoader(str(team_dir)), defaults])


class Renderer:
    def __init__(self, template_dir: Path | None = None) -> None:
        self.template_dir = template_dir or default_template_dir()
        self.env = Environment(
            loader=template_loader(template_dir),
            undefined=StrictUndefined,
            autoescape=html_only,  # Slack's text is escaped by the mrkdwn filter; HTML by Jinja2
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            mrkdwn=escape_mrkdwn,
            plain=plain,
            readable=readable,
            person=person,
            clip=clip,
            hhmm=hhmm,
            when=when,
            duration=duration,
            span=span,
            spoken_seconds=format_seconds,  # "20 minutes", "1 hour": a runbook's escalation delay
        )
        self.env.globals["ids"] = IDS
        self.replies = self._load_replies()

    def text(self, name: str, **context: Any) -> str:
        try:
            return self.env.get_template(name).render(**context).strip()
        except TemplateError as exc:
            raise ConfigError(f"template {name} failed: {exc}") from exc

    def reply(self, key: str, data: Mapping[str, Any]) -> str:
        """One entry of the reply catalogue, rendered with its data."""
        template = self.replies.get(key)
        if template is None:
            raise ConfigError(f"template {REPLIES_FILE} has no reply {key!r}")
        try:
            return template.render(**data).strip()
        except TemplateError as exc:
            raise ConfigError(f"template {REPLIES_FILE}, reply {key}, failed: {exc}") from exc

    def _load_replies(self) -> dict[str, Template]:
        """The default catalogue, with the entries of the team's `replies.yml` (if its folder holds
        one) over it, so that file may hold just the replies the team rewords. Each entry is
        compiled now, so a syntax error stops the bot at start naming its key."""
        loader = self.env.loader
        layers = list(reversed(loader.loaders)) if isinstance(loader, ChoiceLoader) else [loader]
        entries: dict[str, str] = {}
        for layer in layers:
            assert layer is not None
            entries.update(self._catalogue(layer))
        compiled = {}
        for key, text in entries.items():
            try:
                compiled[key] = self.env.from_string(text)
            except TemplateError as exc:
                raise ConfigError(f"template {REPLIES_FILE}, reply {key}, failed: {exc}") from exc
        return compiled

    def _catalogue(self, loader: BaseLoader) -> dict[str, str]:
        try:
            source, _, _ = loader.get_source(self.env, REPLIES_FILE)
        except TemplateNotFound:
            return {}  # a team folder without its own replies.yml
        try:
            entries = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            raise ConfigError(f"template {REPLIES_FILE} cannot be read: {exc}") from exc
        if not isinstance(entries, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in entries.items()
        ):
            raise ConfigError(f"template {REPLIES_FILE} must map each reply key to its text")
        return entries

    def blocks(self, name: str, **context: Any) -> list[dict[str, Any]]:
        value = self._json(name, context)
        if not isinstance(value, list):
            raise ConfigError(f"template {name} must render a JSON list of blocks")
        return value

    def view(self, name: str, **context: Any) -> dict[str, Any]:
        value = self._json(name, context)
        if not isinstance(value, dict) or value.get("type") != "modal":
            raise ConfigError(f"template {name} must render a JSON modal view")
        return value

    def _json(self, name: str, context: dict[str, Any]) -> Any:
        rendered = self.text(name, **context)
        try:
            return json.loads(rendered)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"template {name} did not render valid JSON: {exc}") from exc
