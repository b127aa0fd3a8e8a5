"""Events for tests, written as the store keeps them (type name and JSON data): the same path a
stored log takes back into typed events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core.events import Event, NewEvent, from_json, to_json


def E(
    incident: int, seq: int, kind: str, actor: str, at: datetime, data: dict[str, Any] | None = None
) -> Event:  # noqa: N802
    return Event(incident, seq, actor, at, from_json(kind, data or {}))


def N(kind: str, actor: str, at: datetime, data: dict[str, Any] | None = None) -> NewEvent:  # noqa: N802
    return NewEvent(actor, at, from_json(kind, data or {}))


def data_of(event: Event | NewEvent) -> dict[str, Any]:
    """The event's data as stored (JSON names; fields left unset are absent)."""
    return to_json(event.payload)
