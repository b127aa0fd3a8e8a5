"""The on-call event stream: one append-only table for the whole workspace (overrides, handoffs,
user group syncs). `seq` is unique, so two writers cannot both append event 7; `key` is unique
where set, so a handoff (schedule, shift start) is recorded once however many processes decide it."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, insert
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from bot.core.errors import ConcurrencyConflict
from bot.core.oncall_events import KEYED_TYPES, OnCallEvent, OnCallPayload, from_json, to_json
from bot.store.db import WRITE, UTCDateTime
from bot.store.event_store import transient_as_unavailable


class OnCallEventRow(SQLModel, table=True):
    __tablename__ = "oncall_events"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)
    type: str = Field(max_length=64)
    actor: str = Field(max_length=64)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    key: str | None = Field(default=None, unique=True, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


ONCALL_EVENTS = OnCallEventRow.__table__  # type: ignore[attr-defined]
_COLUMNS = (
    ONCALL_EVENTS.c.seq,
    ONCALL_EVENTS.c.type,
    ONCALL_EVENTS.c.actor,
    ONCALL_EVENTS.c.at,
    ONCALL_EVENTS.c.data,
)


class OnCallEventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**WRITE)
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()

    def load(self) -> list[OnCallEvent]:
        with transient_as_unavailable(), self.engine.connect() as conn:
            rows = conn.execute(sa_select(*_COLUMNS).order_by(ONCALL_EVENTS.c.seq))
            return [
                OnCallEvent(seq, actor, at, from_json(type_, data)) for seq, type_, actor, at, data in rows
            ]

    def append(
        self, expected_seq: int, payloads: Sequence[OnCallPayload], actor: str, at: datetime
    ) -> list[OnCallEvent]:
        """Append after `expected_seq`; ConcurrencyConflict if another writer appended first (or
        recorded the same handoff)."""
        events = [OnCallEvent(expected_seq + i, actor, at, p) for i, p in enumerate(payloads, 1)]
        rows = [
            {
                "seq": e.seq,
                "type": e.type,
                "actor": actor,
                "at": at,
                "key": getattr(e.payload, "key", None) if isinstance(e.payload, KEYED_TYPES) else None,
                "data": to_json(e.payload),
            }
            for e in events
        ]
        try:
            with transient_as_unavailable(), self._write() as conn:
                conn.execute(insert(ONCALL_EVENTS), rows)
        except IntegrityError as exc:
            raise ConcurrencyConflict(f"on-call event {expected_seq + 1} already exists") from exc
        return events

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._write_lock, self._writer.begin() as conn:
            yield conn
