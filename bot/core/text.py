"""Plain-text helpers the core needs: a slug for comparing titles and naming services."""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[\W_]+")
# C0 and C1 control characters other than tab and line breaks: no person means them, PostgreSQL
# cannot store U+0000 in JSON, and SQLite would store it; so they are refused (or, in text a
# machine sent, removed) the same way on both.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def first_control_character(text: str) -> str | None:
    """The first control character in `text` as `U+0000`, or None."""
    found = _CONTROL.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def without_control_characters(text: str) -> str:
    return _CONTROL.sub("", text)


def slug(text: str, max_length: int = 0) -> str:
    """Lowercase words joined by `-`: accents dropped (`Café API` -> `cafe-api`), other
    scripts kept as they are, punctuation and emoji gone; cut at a `-` to `max_length` if given."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    out = _NOT_WORD.sub("-", bare.casefold()).strip("-")
    if max_length and len(out) > max_length:
        out = out[:max_length].rsplit("-", 1)[0] if "-" in out[:max_length] else out[:max_length]
    return out


def typed_text(text: str) -> str:
    """Text as a person typed it, in the form Slack sends a command's text: `&`, `<` and `>`
    escaped, so none of it can become a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
