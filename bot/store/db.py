"""Engines for SQLite (the default) and PostgreSQL, set up so concurrent writers wait instead of failing."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Table, event, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import TypeDecorator
from sqlmodel import create_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE = {"incident_bot_write": True}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite (which keeps no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass UTC-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalize_url(url: str) -> str:
    """Accept the usual `postgresql://` and `postgres://` spellings; drive them with psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "isolation_level": None, "timeout": 30},
            pool_size=20,
            max_overflow=20,
        )
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """WAL is a property of the file, kept once set. Setting it needs the file to itself, and
    SQLite answers "database is locked" at once, without waiting on busy_timeout, when another
    connection is in the middle of something (replicas starting together on a new file): try
    again for a while."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01 + random.random() * 0.04)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # A write transaction takes the write lock up front: a deferred one that reads first
        # cannot wait on busy_timeout when it upgrades, and fails with "database is locked".
        if connection.get_execution_options().get("incident_bot_write"):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


class CacheWriter:
    """Insert-or-replace by key into a small cache table (names, email lookups). Two processes may
    write the same key at once: the later write wins, and both are right. On SQLite this process's
    writers take turns, as the event store's do."""

    def __init__(self, engine: Engine, table: Table, key: str) -> None:
        self._writer = engine.execution_options(**WRITE)
        self._lock = threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
        self._table = table
        self._key = table.c[key]

    def put(self, key: str, values: dict[str, Any]) -> None:
        if self._update(key, values):
            return
        try:
            with self._lock, self._writer.begin() as conn:
                conn.execute(insert(self._table).values({self._key.name: key, **values}))
        except IntegrityError:  # inserted by another process meanwhile
            self._update(key, values)

    def _update(self, key: str, values: dict[str, Any]) -> bool:
        with self._lock, self._writer.begin() as conn:
            changed = conn.execute(update(self._table).where(self._key == key).values(**values))
            return bool(changed.rowcount)
