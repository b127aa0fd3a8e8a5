"""Plain-text helpers the core needs: a slug for comparing titles and naming services."""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[\W_]+")


def slug(text: str, max_length: int = 0) -> str:
    """Lowercase words joined by `-`: accents dropped (`Café API` -> `cafe-api`), other
    scripts kept as they are, punctuation and emoji gone; cut at a `-` to `max_length` if given."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    out = _NOT_WORD.sub("-", bare.casefold()).strip("-")
    if max_length and len(out) > max_length:
        out = out[:max_length].rsplit("-", 1)[0] if "-" in out[:max_length] else out[:max_length]
    return out
