"""People and channels by name, for readers outside Slack (the postmortem file, the CLI).

Inside Slack a mention (`<@U…>`, `<#C…>`) shows the person or channel; a Markdown file or a
terminal shows the raw id. These rules say which ids a surface outside Slack shows, which cached
names are due a refresh, and how an id is shown: its name if one was fetched, else the name
Slack put in the mention (`<#C…|general>`), else the id itself, plainly. Pure: names come in as a
plain mapping (id -> name) that the adapters fetch and cache.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.postmortem import action_rows, timeline_rows
from bot.core.state import IncidentState

# A cached name is fetched again once it is older than this.
NAME_TTL = timedelta(days=1)

USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
# Slack's own mentions and channel links in text, as Slack sends them (typed `<` arrives escaped,
# so a person cannot forge one): `<@U123>`, `<@U123|bob>`, `<#C123|general>`.
MENTION = re.compile(r"<(@[UW][A-Z0-9]+|#[CG][A-Z0-9]+)(?:\|([^<>]*))?>")


@dataclass(frozen=True)
class Mentioned:
    users: frozenset[str]
    channels: frozenset[str]

    @property
    def ids(self) -> frozenset[str]:
        return self.users | self.channels


def mentions_in(texts: Iterable[str | None]) -> Mentioned:
    users: set[str] = set()
    channels: set[str] = set()
    for text in texts:
        for match in MENTION.finditer(text or ""):
            ref = match.group(1)
            (users if ref[0] == "@" else channels).add(ref[1:])
    return Mentioned(frozenset(users), frozenset(channels))


def shown_outside_slack(state: IncidentState) -> Mentioned:
    """Every person and channel the incident's postmortem shows: who did each step, the roles,
    the action items' owners, 📌 authors, and mentions and channel links in any text."""
    rows = timeline_rows(state)
    actions = action_rows(state, today=None)
    people = {r.who for r in rows} | set(state.facts.roles.values()) | {a.owner for a in actions if a.owner}
    texts = [
        state.facts.title,
        state.facts.impact,
        state.facts.root_cause,
        *(r.what for r in rows),
        *state.postmortem.sections.values(),
        *(a.text for a in actions),
    ]
    in_text = mentions_in(texts)
    return Mentioned(
        frozenset(p for p in people | in_text.users if USER_ID.fullmatch(p)),
        frozenset(c for c in in_text.channels if CHANNEL_ID.fullmatch(c)),
    )


def due_for_refresh(ids: Iterable[str], fetched_at: Mapping[str, datetime], now: datetime) -> list[str]:
    """The ids never fetched, or fetched more than NAME_TTL ago, in a stable order."""
    return sorted(i for i in set(ids) if i not in fetched_at or now - fetched_at[i] > NAME_TTL)


def person(user_id: str, names: Mapping[str, str], label: str | None = None) -> str:
    """A person as a reader outside Slack sees them: the fetched name, else the mention's own
    label, else the id as it is (`U0ALICE01`; also `bot`, `alertmanager`)."""
    return names.get(user_id) or label or user_id


def channel(channel_id: str, names: Mapping[str, str], label: str | None = None) -> str:
    """`#name` (fetched, else the link's own label), else the bare id."""
    name = names.get(channel_id) or label
    return f"#{name}" if name else channel_id


def mention_shown(match: re.Match[str], names: Mapping[str, str]) -> str:
    """What one MENTION match shows outside Slack."""
    ref, label = match.group(1), match.group(2) or None
    if ref[0] == "@":
        return person(ref[1:], names, label)
    return channel(ref[1:], names, label)
