"""The append-only event log, and the incidents table: a rebuildable cache of each incident's head."""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    cast,
    delete,
    func,
    insert,
    or_,
    text,
    type_coerce,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlmodel import Field, Session, SQLModel, col, select

from bot.core.errors import ConcurrencyConflict, DuplicateDelivery, StoreUnavailable
from bot.core.events import Event, EventType, NewEvent, from_json, to_json
from bot.core.state import IncidentState, replay
from bot.store.db import WRITE, UTCDateTime


class EventRow(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("incident", "seq", name="uq_events_incident_seq"),
        # Every event of one type, and the newest one's id, without reading the whole log (the
        # public status page asks for the publications' mark on every request).
        Index("ix_events_type_id", "type", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident: int = Field(index=True)
    seq: int
    type: str = Field(max_length=64)
    actor: str = Field(max_length=64)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


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
        "title": state.facts.title,
        "severity": state.facts.severity,
        "status": state.facts.status,
        "commander": state.commander,
        "channel_id": state.slack.channel_id,
        "declared_at": state.facts.declared_at,
        "last_seq": state.last_seq,
        "slack_owed": slack_owed,
        "next_due_at": next_due_at,
    }


class CounterRow(SQLModel, table=True):
    """Named counters; `incident` holds the last incident number given out."""

    __tablename__ = "counters"

    name: str = Field(primary_key=True, max_length=64)
    value: int


class DeliveryRow(SQLModel, table=True):
    """Slack deliveries that created an incident (a submitted declare modal), so a resubmission
    of the same view cannot declare it twice."""

    __tablename__ = "deliveries"

    key: str = Field(primary_key=True, max_length=512)
    incident: int
    alert_group: str | None = Field(default=None, index=True, max_length=512)


class AlertLogRow(SQLModel, table=True):
    """Every Alertmanager notification received, and what the bot did with it."""

    __tablename__ = "alert_log"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    alert_group: str = Field(max_length=512)
    status: str = Field(max_length=16)
    severity: str = Field(max_length=32)
    action: str = Field(max_length=16)
    incident: int | None = None


TABLES = SQLModel.metadata.tables
EVENTS = TABLES[EventRow.__tablename__]
DELIVERIES = TABLES[DeliveryRow.__tablename__]
INCIDENTS = TABLES[IncidentRow.__tablename__]
LEASES = TABLES[LeaseRow.__tablename__]
COUNTERS = TABLES[CounterRow.__tablename__]
ALERT_LOG = TABLES[AlertLogRow.__tablename__]

# Built once: a statement made afresh per call costs more Python time than SQLite spends running it,
# and that time is spent holding the write lock.
INSERT_EVENTS = insert(EVENTS)
INSERT_INCIDENT = insert(INCIDENTS)
BUMP_COUNTER = (
    update(COUNTERS)
    .where(COUNTERS.c.name == bindparam("counter"))
    .values(value=COUNTERS.c.value + 1)
    .returning(COUNTERS.c.value)
)
EVENT_COLUMNS = (EVENTS.c.incident, EVENTS.c.seq, EVENTS.c.type, EVENTS.c.actor, EVENTS.c.at, EVENTS.c.data)
# For bulk reads: the JSON as text, parsed in one `json.loads` for all rows (SQLite keeps JSON as
# text; PostgreSQL's driver would parse each row's on its own); and on SQLite the time as the text
# it keeps (naive UTC, ISO 8601), which `fromisoformat` reads in C.
TEXT_DATA_EVENT_COLUMNS = (*EVENT_COLUMNS[:5], cast(EVENTS.c.data, Text))
SQLITE_TEXT_EVENT_COLUMNS = (*EVENT_COLUMNS[:4], type_coerce(EVENTS.c.at, String), cast(EVENTS.c.data, Text))
LOAD_EVENTS = (
    sa_select(*EVENT_COLUMNS).where(EVENTS.c.incident == bindparam("b_incident")).order_by(EVENTS.c.seq)
)
INCIDENT_FOR_CHANNEL = sa_select(INCIDENTS.c.number).where(INCIDENTS.c.channel_id == bindparam("b_channel"))
RENEW_LEASE = update(LEASES).where(
    LEASES.c.name == bindparam("b_name"),
    or_(
        LEASES.c.holder == bindparam("b_holder"),
        LEASES.c.expires_at <= bindparam("b_now", type_=UTCDateTime()),
    ),
)
UPDATE_HEAD = update(INCIDENTS).where(
    INCIDENTS.c.number == bindparam("b_number"), INCIDENTS.c.last_seq == bindparam("b_last_seq")
)


@contextmanager
def transient_as_unavailable() -> Iterator[None]:
    """A dropped or refused database connection becomes StoreUnavailable, which callers may retry
    (the pool's pre-ping gives the next try a fresh connection)."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise StoreUnavailable(f"the database is unavailable: {type(exc.orig or exc).__name__}") from exc


class EventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**WRITE)
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()

    def create_schema(self) -> None:
        """The schema as the bot makes it: the migrations, to head (never `create_all`, whose
        tables a later upgrade could not tell from the baseline's)."""
        from bot.store.migrate import upgrade  # migrate imports the models; import it late

        upgrade(self.engine)

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar() == 1

    def load(self, incident: int, types: Collection[EventType] | None = None) -> list[Event]:
        if types is not None:
            return self.load_many([incident], types)[incident]
        with transient_as_unavailable(), self.engine.connect() as conn:
            return [_event(row) for row in conn.execute(LOAD_EVENTS, {"b_incident": incident})]

    def load_many(
        self, incidents: Sequence[int], types: Collection[EventType] | None = None, chunk: int = 500
    ) -> dict[int, list[Event]]:
        """Several incidents' logs in a few queries (the heartbeat reads hundreds at once),
        optionally only events of the given types."""
        logs: dict[int, list[Event]] = {n: [] for n in incidents}
        with self.engine.connect() as conn:
            for start in range(0, len(incidents), chunk):
                query = sa_select(*EVENT_COLUMNS).where(
                    EVENTS.c.incident.in_(list(incidents[start : start + chunk]))
                )
                if types is not None:
                    query = query.where(EVENTS.c.type.in_(sorted(t.TYPE for t in types)))
                for row in conn.execute(query.order_by(EVENTS.c.incident, EVENTS.c.seq)):
                    logs[row.incident].append(_event(row))
        return logs

    def load_declared_since(self, since: datetime, types: Collection[EventType]) -> dict[int, list[Event]]:
        """The logs of the incidents declared at or after `since`, only events of the given types,
        in one query (the same incidents as `load_many(declared_since(since), types)`, with no
        empty logs). One query instead of chunks of 500 numbers: each chunk made SQLite walk every
        event of those types again (a 10,000-incident metrics run spent most of its time there);
        `incident IN (subquery)` walks the (incident, seq) index in order, with no sort.
        The JSON is read as text and parsed here in one `json.loads` for all rows, and on SQLite
        the times with `fromisoformat`, not row by row by SQLAlchemy's or the driver's processors."""
        sqlite = self.engine.dialect.name == "sqlite"
        declared = sa_select(INCIDENTS.c.number).where(INCIDENTS.c.declared_at >= since)
        query = (
            sa_select(*(SQLITE_TEXT_EVENT_COLUMNS if sqlite else TEXT_DATA_EVENT_COLUMNS))
            .where(EVENTS.c.incident.in_(declared), EVENTS.c.type.in_(sorted(t.TYPE for t in types)))
            .order_by(EVENTS.c.incident, EVENTS.c.seq)
        )
        with transient_as_unavailable(), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        if sqlite:
            times = [datetime.fromisoformat(row[4] + "+00:00") for row in rows]  # stored naive UTC
        else:
            times = [row[4] for row in rows]
        datas = json.loads("[" + ",".join([row[5] for row in rows]) + "]")
        logs: dict[int, list[Event]] = {}
        for (incident, seq, type_name, actor, _, _), at, data in zip(rows, times, datas, strict=True):
            log = logs.get(incident)
            if log is None:
                log = logs[incident] = []
            log.append(Event(incident, seq, actor, at, from_json(type_name, data)))
        return logs

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction. On SQLite, threads of this process queue on a lock first: SQLite's
        own busy wait sleeps in steps of up to 100 ms, which would add that to a waiting ack."""
        with self._write_lock, self._writer.begin() as conn:
            yield conn

    def declare(
        self,
        new: NewEvent,
        next_due_at: datetime | None = None,
        source: str | None = None,
        alert_group: str | None = None,
        then: Sequence[NewEvent] = (),
    ) -> Event:
        """Store a declaration under the next incident number (a counter row, so concurrent
        declares wait on each other instead of colliding and retrying), with the events `then`
        that come with it in the same transaction (a runbook the alert names). With `source`, a
        second declaration from the same Slack delivery raises DuplicateDelivery instead."""
        for _ in range(5):
            try:
                with self._write() as conn:
                    number = self._next_number(conn)
                    event = Event.stored(new, number, 1)
                    stored = [event, *(Event.stored(e, number, seq) for seq, e in enumerate(then, 2))]
                    if source:
                        conn.execute(
                            insert(DELIVERIES).values(key=source, incident=number, alert_group=alert_group)
                        )
                    conn.execute(INSERT_EVENTS, [_row(e) for e in stored])
                    conn.execute(
                        INSERT_INCIDENT, {"number": number, **head_of(replay(stored), True, next_due_at)}
                    )
                    return event
            except IntegrityError:
                if source and (earlier := self.delivered(source)) is not None:
                    raise DuplicateDelivery(earlier) from None
                continue  # two processes created the counter row at once; the next try finds it
        raise ConcurrencyConflict("could not allocate an incident number")

    def latest_for_alert_group(self, alert_group: str) -> int | None:
        with self.engine.connect() as conn:
            query = sa_select(func.max(DELIVERIES.c.incident)).where(DELIVERIES.c.alert_group == alert_group)
            return conn.execute(query).scalar()

    def log_alert(self, row: dict[str, Any]) -> None:
        with self._write() as conn:
            conn.execute(insert(ALERT_LOG).values(**row))

    def alert_log(self) -> list[AlertLogRow]:
        with Session(self.engine) as session:
            return list(session.exec(select(AlertLogRow).order_by(col(AlertLogRow.id))))

    def delivered(self, source: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(sa_select(DELIVERIES.c.incident).where(DELIVERIES.c.key == source)).scalar()

    def _next_number(self, conn: Connection) -> int:
        bumped = conn.execute(BUMP_COUNTER, {"counter": "incident"}).scalar()
        if bumped is not None:
            return bumped
        # First declaration on this database (or one from before the counter existed).
        latest = conn.execute(sa_select(func.max(INCIDENTS.c.number))).scalar() or 0
        conn.execute(insert(COUNTERS).values(name="incident", value=latest + 1))
        return latest + 1

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
        events = [Event.stored(e, incident, expected_seq + i) for i, e in enumerate(new, 1)]
        try:
            with transient_as_unavailable(), self._write() as conn:
                conn.execute(INSERT_EVENTS, [_row(e) for e in events])
                head = head_of(state_after, owed, next_due_at)
                moved = conn.execute(UPDATE_HEAD, {"b_number": incident, "b_last_seq": expected_seq, **head})
                if moved.rowcount != 1:
                    raise ConcurrencyConflict(f"INC-{incident} moved on from event {expected_seq}")
        except IntegrityError as exc:
            raise ConcurrencyConflict(f"INC-{incident} event {expected_seq + 1} already exists") from exc
        return events

    def mark_slack_done(self, incident: int, at_seq: int) -> None:
        """Clear the owed flag, unless events arrived since the check that found nothing owed."""
        with self._write() as conn:
            conn.execute(UPDATE_HEAD, {"b_number": incident, "b_last_seq": at_seq, "slack_owed": False})

    def incident_for_channel(self, channel_id: str) -> int | None:
        """Asked for nearly every command typed, so a prebuilt statement, not an ORM session."""
        with self.engine.connect() as conn:
            number: int | None = conn.execute(INCIDENT_FOR_CHANNEL, {"b_channel": channel_id}).scalar()
            return number

    def heads(self, *, open_only: bool = False, limit: int = 50) -> list[IncidentRow]:
        with Session(self.engine) as session:
            query = select(IncidentRow).order_by(col(IncidentRow.number).desc()).limit(limit)
            if open_only:
                query = query.where(IncidentRow.status != "resolved")
            return list(session.exec(query))

    def open_counts(self) -> list[tuple[str, str, int]]:
        """(severity, status, how many) for the incidents not yet resolved."""
        with Session(self.engine) as session:
            query = (
                select(IncidentRow.severity, IncidentRow.status, func.count())
                .where(IncidentRow.status != "resolved")
                .group_by(col(IncidentRow.severity), col(IncidentRow.status))
            )
            return [(severity, status, int(count)) for severity, status, count in session.exec(query)]

    def with_slack_owed(self) -> list[int]:
        with Session(self.engine) as session:
            query = select(IncidentRow.number).where(IncidentRow.slack_owed).order_by(col(IncidentRow.number))
            return list(session.exec(query))

    def due_for_schedule(self, now: datetime, limit: int = 5000) -> list[int]:
        with Session(self.engine) as session:
            query = (
                select(IncidentRow.number)
                .where(col(IncidentRow.next_due_at) <= now)
                .order_by(col(IncidentRow.next_due_at))
                .limit(limit)
            )
            return list(session.exec(query))

    def set_next_due(self, incident: int, at_seq: int, next_due_at: datetime | None) -> None:
        """Refresh the cached due time (after a config change), unless the incident moved on."""
        with self._write() as conn:
            conn.execute(
                UPDATE_HEAD, {"b_number": incident, "b_last_seq": at_seq, "next_due_at": next_due_at}
            )

    def declared_since(self, since: datetime) -> list[int]:
        with Session(self.engine) as session:
            query = (
                select(IncidentRow.number)
                .where(col(IncidentRow.declared_at) >= since)
                .order_by(col(IncidentRow.number))
            )
            return list(session.exec(query))

    def numbers(self) -> list[int]:
        with Session(self.engine) as session:
            return list(session.exec(select(IncidentRow.number).order_by(col(IncidentRow.number))))

    def try_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease `name` for `holder` until now + ttl; False if someone else holds it."""
        try:
            with self._write() as conn:
                taken = conn.execute(
                    RENEW_LEASE,
                    {
                        "b_name": name,
                        "b_holder": holder,
                        "b_now": now,
                        "holder": holder,
                        "expires_at": now + ttl,
                    },
                )
                if taken.rowcount == 1:
                    return True
                if conn.execute(sa_select(LEASES.c.name).where(LEASES.c.name == name)).first():
                    return False
                conn.execute(insert(LEASES).values(name=name, holder=holder, expires_at=now + ttl))
                return True
        except IntegrityError:
            return False  # another holder inserted it first

    def release_lease(self, name: str, holder: str) -> None:
        with self._write() as conn:
            conn.execute(delete(LEASES).where(LEASES.c.name == name, LEASES.c.holder == holder))

    def events_of_type(self, kind: EventType) -> list[Event]:
        """Every event of one type, of every incident, in log order (one indexed query)."""
        query = (
            sa_select(*EVENT_COLUMNS)
            .where(EVENTS.c.type == kind.TYPE)
            .order_by(EVENTS.c.incident, EVENTS.c.seq)
        )
        with transient_as_unavailable(), self.engine.connect() as conn:
            return [_event(row) for row in conn.execute(query)]

    def type_mark(self, kind: EventType) -> tuple[int, int]:
        """(how many events of this type, the largest id among them): changes whenever one is
        appended, even when a later id committed first (PostgreSQL), so it is a cache key."""
        query = sa_select(func.count(), func.coalesce(func.max(EVENTS.c.id), 0)).where(
            EVENTS.c.type == kind.TYPE
        )
        with transient_as_unavailable(), self.engine.connect() as conn:
            count, latest = conn.execute(query).one()
            return int(count), int(latest)

    def count_events(self) -> int:
        with Session(self.engine) as session:
            return session.exec(select(func.count()).select_from(EventRow)).one()


def _row(event: Event) -> dict[str, Any]:
    return {
        "incident": event.incident,
        "seq": event.seq,
        "type": event.type,
        "actor": event.actor,
        "at": event.at,
        "data": to_json(event.payload),
    }


def _event(row: Any) -> Event:
    """A stored row as a typed event: the JSON payload is read here, at the store's edge."""
    incident, seq, type_name, actor, at, data = row
    return Event(incident, seq, actor, at, from_json(type_name, data))
