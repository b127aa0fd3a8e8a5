"""Sentences in runbooks, read as people write them: durations ("20 minutes", "1h30m", "an hour")
and the escalation rule ("If not resolved in 20 minutes, escalate to @platform-leads").

Pure. The Markdown around these sentences is read by `bot.runbook_files`; this module only reads
one sentence at a time.
"""

from __future__ import annotations

import re

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}
_UNIT = "|".join(sorted(_UNITS, key=len, reverse=True))
_PART = re.compile(rf"(\d+(?:\.\d+)?|an?)\s*({_UNIT})(?![a-z])", re.IGNORECASE)
_JOINER = re.compile(r"(?:\s|,|and\b)*", re.IGNORECASE)


def read_duration(text: str) -> int | None:
    """Seconds in "1 minute", "20 minutes", "1h", "90m", "2 hours", "30 min", "45s", "1h30m",
    "1 hour and 30 minutes", "an hour"; None when `text` is anything else (or no time at all)."""
    rest = text.strip()
    total = 0.0
    parts = 0
    while rest:
        if parts:
            rest = rest[_JOINER.match(rest).end() :]  # type: ignore[union-attr]  # matches empty
        match = _PART.match(rest)
        if match is None:
            return None
        number = match.group(1).lower()
        total += (1 if number in ("a", "an") else float(number)) * _UNITS[match.group(2).lower()]
        parts += 1
        rest = rest[match.end() :].strip()
    seconds = round(total)
    return seconds if parts and seconds > 0 else None


# A Slack mention (<@U0123>, <!subteam^S01|@leads>), an @handle, or a name of words (a schedule's).
_TARGET = re.compile(
    r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>|<!subteam\^[A-Z0-9]+(?:\|[^>]*)?>|@[\w.-]+|\w[\w'&.-]*(?:\s+[\w'&.-]+)*"
)
_UNRESOLVED = r"(?:if\b[^,]*?\b)?"  # "If not resolved", "If it is still not mitigated", or nothing
_WHEN = r"(?:in|within|after)\s+(?P<duration>.+?)"
_FORMS = (
    # If not resolved in 20 minutes, escalate to @platform-leads / after 90m, escalate to @x
    re.compile(
        rf"{_UNRESOLVED}{_WHEN}\s*[,;:]?\s*(?:then\s+)?escalate\s+(?:it\s+)?to\s+(?P<target>.+?)",
        re.IGNORECASE,
    ),
    # Escalate to @sre-leads if not resolved after 30 minutes / Escalate to @x after 1h
    re.compile(
        rf"escalate\s+(?:it\s+)?to\s+(?P<target>.+?)\s*,?\s+{_UNRESOLVED}{_WHEN}",
        re.IGNORECASE,
    ),
)


def read_escalation(sentence: str) -> tuple[int, str] | None:
    """(seconds, target as written) from an escalation sentence, e.g. "If not resolved in 20
    minutes, escalate to @platform-leads" -> (1200, "@platform-leads"); None if it cannot be read.
    A target is a Slack mention, an @handle or a name (such as a schedule's)."""
    text = " ".join(sentence.replace("*", "").replace("`", "").split()).rstrip(".!").strip()
    for form in _FORMS:
        match = form.fullmatch(text)
        if match is None:
            continue
        seconds = read_duration(match.group("duration"))
        target = match.group("target").strip().rstrip(",;:").strip()
        if seconds is not None and _TARGET.fullmatch(target):
            return seconds, target
    return None
