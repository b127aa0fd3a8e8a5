"""The append-only event log, and the incidents table: a rebuildable cache of each incident's head."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint, func, text
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from bot.core.events import Event, NewEvent
from bot.core.state import IncidentState, replay
from bot.errors import ConcurrencyConflict
from bot.store.db import WRITE, UTCDateTime


class EventRow(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("incident", "seq", name="uq_events_incident_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    incident: int = Field(index=True)
    seq: int
    type: str = Field(max_length=64)
    actor: str = Field(max_length=64)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))

    def to_event(self) -> Event:
        return Event(self.incident, self.seq, self.type, self.actor, self.at, dict(self.data))


class IncidentRow(SQLModel, table=True):
    __tablename__ = "incidents"

    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    title: str
    severity: str = Field(max_length=32)
    status: str = Field(max_length=32, index=True)
    commander: str | None = None
    channel_id: str | None = Field(default=None, index=True, max_length=32)
    declared_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_seq: int
    slack_owed: bool = Field(default=True, index=True)
    # When the heartbeat should next look at this incident (a status update or reminder falls due).
    next_due_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True)
    )


class LeaseRow(SQLModel, table=True):
    """A named lease: who may do some work (the scheduler, one incident's Slack sync) until when."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


def head_of(state: IncidentState, slack_owed: bool, next_due_at: datetime | None = None) -> dict[str, Any]:
    return {
        "title": state.title,
        "severity": state.severity,
        "status": state.status,
        "commander": state.commander,
        "channel_id": state.channel_id,
        "declared_at": state.declared_at,
        "last_seq": state.last_seq,
        "slack_owed": slack_owed,
        "next_due_at": next_due_at,
    }


class EventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**WRITE)

    def create_schema(self) -> None:
        SQLModel.metadata.create_all(self.engine)

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar() == 1

    def load(self, incident: int) -> list[Event]:
        with Session(self.engine) as session:
            rows = session.exec(select(EventRow).where(EventRow.incident == incident).order_by(EventRow.seq))
            return [row.to_event() for row in rows]

    def load_many(self, incidents: Sequence[int], chunk: int = 500) -> dict[int, list[Event]]:
        """Several incidents' logs in a few queries (the heartbeat reads hundreds at once)."""
        table = EventRow.__table__
        columns = [table.c.incident, table.c.seq, table.c.type, table.c.actor, table.c.at, table.c.data]
        logs: dict[int, list[Event]] = {n: [] for n in incidents}
        with self.engine.connect() as conn:
            for start in range(0, len(incidents), chunk):
                part = list(incidents[start : start + chunk])
                query = (
                    sa_select(*columns)
                    .where(table.c.incident.in_(part))
                    .order_by(table.c.incident, table.c.seq)
                )
                for row in conn.execute(query):
                    logs[row.incident].append(
                        Event(row.incident, row.seq, row.type, row.actor, row.at, row.data)
                    )
        return logs

    def declare(self, new: NewEvent, next_due_at: datetime | None = None) -> Event:
        """Store a declaration under the next free incident number."""
        for _ in range(20):
            try:
                with Session(self._writer) as session:
                    latest = session.exec(select(func.max(IncidentRow.number))).one()
                    number = (latest or 0) + 1
                    event = Event(number, 1, new.type, new.actor, new.at, dict(new.data))
                    session.add(_row(event))
                    session.add(IncidentRow(number=number, **head_of(replay([event]), True, next_due_at)))
                    session.commit()
                    return event
            except IntegrityError:
                continue  # another process took that number first; take the next one
        raise ConcurrencyConflict("could not allocate an incident number")

    def append(
        self,
        incident: int,
        expected_seq: int,
        new: Sequence[NewEvent],
        state_after: IncidentState,
        owed: bool,
        next_due_at: datetime | None = None,
    ) -> list[Event]:
        """Append after `expected_seq`; raise ConcurrencyConflict if another writer got there first."""
        events = [
            Event(incident, expected_seq + i, e.type, e.actor, e.at, dict(e.data))
            for i, e in enumerate(new, 1)
        ]
        try:
            with Session(self._writer) as session:
                for event in events:
                    session.add(_row(event))
                session.flush()
                row = session.get(IncidentRow, incident)
                if row is None or row.last_seq != expected_seq:
                    raise ConcurrencyConflict(f"INC-{incident} moved on from event {expected_seq}")
                for key, value in head_of(state_after, owed, next_due_at).items():
                    setattr(row, key, value)
                session.add(row)
                session.commit()
        except IntegrityError as exc:
            raise ConcurrencyConflict(f"INC-{incident} event {expected_seq + 1} already exists") from exc
        return events

    def mark_slack_done(self, incident: int, at_seq: int) -> None:
        """Clear the owed flag, unless events arrived since the check that found nothing owed."""
        with Session(self._writer) as session:
            row = session.get(IncidentRow, incident)
            if row is not None and row.last_seq == at_seq:
                row.slack_owed = False
                session.add(row)
                session.commit()

    def incident_for_channel(self, channel_id: str) -> int | None:
        with Session(self.engine) as session:
            return session.exec(
                select(IncidentRow.number).where(IncidentRow.channel_id == channel_id)
            ).first()

    def heads(self, *, open_only: bool = False, limit: int = 50) -> list[IncidentRow]:
        with Session(self.engine) as session:
            query = select(IncidentRow).order_by(IncidentRow.number.desc()).limit(limit)
            if open_only:
                query = query.where(IncidentRow.status != "resolved")
            return list(session.exec(query))

    def with_slack_owed(self) -> list[int]:
        with Session(self.engine) as session:
            query = select(IncidentRow.number).where(IncidentRow.slack_owed).order_by(IncidentRow.number)
            return list(session.exec(query))

    def due_for_schedule(self, now: datetime, limit: int = 5000) -> list[int]:
        with Session(self.engine) as session:
            query = (
                select(IncidentRow.number)
                .where(IncidentRow.next_due_at <= now)
                .order_by(IncidentRow.next_due_at)
                .limit(limit)
            )
            return list(session.exec(query))

    def set_next_due(self, incident: int, at_seq: int, next_due_at: datetime | None) -> None:
        """Refresh the cached due time (after a config change), unless the incident moved on."""
        with Session(self._writer) as session:
            row = session.get(IncidentRow, incident)
            if row is not None and row.last_seq == at_seq:
                row.next_due_at = next_due_at
                session.add(row)
                session.commit()

    def numbers(self) -> list[int]:
        with Session(self.engine) as session:
            return list(session.exec(select(IncidentRow.number).order_by(IncidentRow.number)))

    def try_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease `name` for `holder` until now + ttl; False if someone else holds it."""
        try:
            with Session(self._writer) as session:
                row = session.get(LeaseRow, name)
                if row is None:
                    session.add(LeaseRow(name=name, holder=holder, expires_at=now + ttl))
                elif row.holder == holder or row.expires_at <= now:
                    row.holder, row.expires_at = holder, now + ttl
                    session.add(row)
                else:
                    return False
                session.commit()
                return True
        except IntegrityError:
            return False  # another holder inserted it first

    def release_lease(self, name: str, holder: str) -> None:
        with Session(self._writer) as session:
            row = session.get(LeaseRow, name)
            if row is not None and row.holder == holder:
                session.delete(row)
                session.commit()

    def count_events(self) -> int:
        with Session(self.engine) as session:
            return session.exec(select(func.count()).select_from(EventRow)).one()


def _row(event: Event) -> EventRow:
    return EventRow(
        incident=event.incident,
        seq=event.seq,
        type=event.type,
        actor=event.actor,
        at=event.at,
        data=event.data,
    )
