"""Reading incidents: lists, status, metrics, postmortems and action items, as the reader may see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core import events as ev
from bot.core.audience import may_see
from bot.core.events import MEMBERSHIP_TYPES
from bot.core.metrics import FOLDED_TYPES, Metrics, metrics_of_logs
from bot.core.postmortem import action_rows
from bot.core.state import IncidentState, replay
from bot.render.views import HeadView
from bot.service.base import bulk_read
from bot.service.names import Names


def item_rows(state: IncidentState, now: datetime, only_owner: str | None = None) -> list[dict[str, Any]]:
    rows = [vars(row) | {"incident": state.key} for row in action_rows(state, now.date().isoformat())]
    return [r for r in rows if only_owner is None or r["owner"] == only_owner]


class Reads(Names):
    def postmortem_markdown(self, number: int) -> str:
        """The Markdown postmortem, naming people and channels from the name cache (no Slack call)."""
        state = self.state_of(number)
        return self.messages.postmortem(state, self.names_for(state))

    def metrics(self, since: datetime, now: datetime) -> Metrics:
        # Slack bookkeeping and notices change no figure, so they are not read.
        # Folded straight from the typed events, not replayed (bot/core/metrics.py).
        with bulk_read():
            logs = self.store.load_declared_since(since, FOLDED_TYPES)
            return metrics_of_logs(logs.values(), since, now, dict(self.policy.services))

    def open_items_of(self, owner: str, now: datetime) -> tuple[list[dict[str, Any]], int]:
        """Open action items owned by `owner`, across every incident; and how many more are on
        private incidents `owner` is not a member of (counted, not shown)."""
        types = MEMBERSHIP_TYPES | {ev.ActionItemAdded, ev.ActionItemDone}
        with bulk_read():
            logs = self.store.load_many(self.store.numbers(), types=types)
        rows: list[dict[str, Any]] = []
        hidden = 0
        for events in logs.values():
            state = replay(events)
            mine = [r for r in item_rows(state, now, only_owner=owner) if r["status"] != "done"]
            if may_see(state, owner):
                rows += mine
            else:
                hidden += len(mine)
        return rows, hidden

    def open_incidents(self, viewer: str, from_channel: str | None = None) -> list[HeadView]:
        """Open incidents as `viewer` may see them: a private one they are not in is listed as
        hidden, without its title or people."""
        heads = self.store.heads(open_only=True)
        logs = self.store.load_many([h.number for h in heads], types=MEMBERSHIP_TYPES)
        out = []
        for h in heads:
            events = logs.get(h.number) or []
            hidden = bool(events) and not may_see(replay(events), viewer, from_channel)
            out.append(
                HeadView(
                    f"INC-{h.number}",
                    "" if hidden else h.title,
                    h.severity,
                    h.status,
                    None if hidden else h.commander,
                    None if hidden else h.channel_id,
                    h.declared_at,
                    hidden=hidden,
                )
            )
        return out

    def incident_for_channel(self, channel_id: str) -> int | None:
        return self.store.incident_for_channel(channel_id)

    def channel_of(self, number: int) -> str | None:
        return self.state_of(number).slack.channel_id
