"""Slack channel names for incidents, within Slack's rules."""

from __future__ import annotations

import html

from slugify import slugify

MAX_CHANNEL_NAME = 80


def channel_name_for(number: int, title: str, prefix: str = "inc", attempt: int = 0) -> str:
    """`inc-42-api-error-rate`: lowercase ASCII, digits and dashes, at most 80 characters.

    `attempt` > 0 gives the suffixed names tried after Slack answers `name_taken`.
    """
    head = f"{_clean_prefix(prefix)}-{number}"
    tail = f"-{attempt + 1}" if attempt else ""
    room = MAX_CHANNEL_NAME - len(head) - len(tail) - 1
    slug = (
        slugify(html.unescape(title), max_length=max(room, 0), word_boundary=True, save_order=True)
        if room > 0
        else ""
    )
    return f"{head}-{slug}{tail}" if slug else f"{head}{tail}"


def _clean_prefix(prefix: str) -> str:
    cleaned = slugify(prefix, separator="-") or "inc"
    return cleaned[:20]
