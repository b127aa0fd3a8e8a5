"""Schema migrations (Alembic): the start-up upgrade under a lock, and what `incident-bot db` shows.

The scripts live in `bot/store/migrations/` inside the package, so an installed wheel carries them,
and the Alembic `Config` is built here, so running the bot needs no alembic.ini. The repository's
alembic.ini points plain `alembic` commands (for developers and CI) at the same folder.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel.sql.sqltypes import AutoString

from bot.core.errors import ConfigError
from bot.store.db import WRITE, UTCDateTime, normalize_url

log = logging.getLogger(__name__)

SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"
# The tables `metadata.create_all` made before there were migrations: revision 0001 exactly.
BASELINE_TABLES = frozenset({"events", "incidents", "leases", "counters", "deliveries", "alert_log"})
# SQLite has no advisory locks: the upgrade runs inside one BEGIN IMMEDIATE transaction that first
# writes a row here, so a second process waits (busy_timeout) until the first has committed.
SQLITE_LOCK_TABLE = "incident_bot_migration_lock"
# pg_advisory_lock takes a bigint; any fixed value works as long as every replica uses the same one.
PG_LOCK_KEY = 0x1BC1_DE07_5C4E_3A01
# Not part of the models: `alembic check` and autogenerate must not propose dropping them.
NOT_MODELLED = frozenset({"alembic_version", SQLITE_LOCK_TABLE})


class SchemaError(ConfigError):
    """The database's schema cannot be brought to what this code needs; the bot refuses to start."""


class DatabaseNewerThanCode(SchemaError):
    def __init__(self, database: str, head: str) -> None:
        super().__init__(
            f"the database is at schema revision {database}, which this code does not know (its newest "
            f"is {head}): it was upgraded by a newer incident-bot; run that version, not this one"
        )
        self.database, self.head = database, head


class UnrecognisedSchema(SchemaError):
    pass


def alembic_config(
    connection: Connection | None = None, url: str | None = None, script_location: Path = SCRIPT_LOCATION
) -> Config:
    """Alembic's Config, in code. With `connection`, env.py migrates on it (inside the caller's
    transaction); with only `url`, env.py opens its own engine."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    if url is not None:
        config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def code_head() -> str:
    head = script_directory().get_current_head()
    assert head is not None, "bot/store/migrations/versions has no revision"
    return head


def database_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@dataclass(frozen=True)
class SchemaStatus:
    revision: str | None  # None: no alembic_version table (an empty database, or one made before 0001)
    head: str
    tables: frozenset[str]  # the baseline tables present

    @property
    def made_before_migrations(self) -> bool:
        return self.revision is None and self.tables == BASELINE_TABLES

    @property
    def known(self) -> bool:
        return self.revision is None or _is_known(self.revision)


def status(engine: Engine) -> SchemaStatus:
    with engine.connect() as conn:
        return SchemaStatus(
            database_revision(conn), code_head(), BASELINE_TABLES & set(inspect(conn).get_table_names())
        )


def _is_known(revision: str) -> bool:
    try:
        return script_directory().get_revision(revision) is not None
    except CommandError:
        return False


OnApply = Callable[[str], None]


@dataclass(frozen=True)
class Upgraded:
    stamped_baseline: bool  # the database predated migrations and was stamped at BASELINE
    applied: tuple[str, ...]  # the revisions this call ran, oldest first
    revision: str  # where the database is now: the code's head


def upgrade(engine: Engine, on_apply: OnApply | None = None) -> Upgraded:
    """Bring the database to the code's head, once however many processes call this at the same time:
    each waits for the lock, then finds the work done.

    A database made before migrations (every baseline table, no alembic_version) is stamped at the
    baseline first; one with only some of those tables is refused, as is one newer than the code."""
    applied: list[str] = []

    def record(revision: str) -> None:
        applied.append(revision)
        log.info("applied schema migration %s", revision)
        if on_apply is not None:
            on_apply(revision)

    stamped = False
    with _migration_lock(engine) as conn:
        revision = database_revision(conn)
        head = code_head()
        if revision is None:
            present = BASELINE_TABLES & set(inspect(conn).get_table_names())
            if present == BASELINE_TABLES:
                log.info("the database predates migrations; stamping it at the baseline %s", BASELINE)
                command.stamp(alembic_config(conn), BASELINE)
                stamped = True
            elif present:
                missing = ", ".join(sorted(BASELINE_TABLES - present))
                raise UnrecognisedSchema(
                    f"the database has some of incident-bot's tables ({', '.join(sorted(present))}) but "
                    f"not {missing}, and no alembic_version: it was not made by incident-bot; "
                    "point DATABASE_URL at an incident-bot database or an empty one"
                )
        elif not _is_known(revision):
            raise DatabaseNewerThanCode(revision, head)
        config = alembic_config(conn)
        config.attributes["on_version_apply"] = record
        command.upgrade(config, "head")
    return Upgraded(stamped, tuple(applied), head)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction, held by one process at a time."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PG_LOCK_KEY})
            conn.commit()  # the lock belongs to the session and outlives this transaction
            try:
                with conn.begin():
                    yield conn
            finally:
                if not conn.invalidated:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})
                    conn.commit()
        return
    if engine.dialect.name != "sqlite":
        raise SchemaError(f"migrations support SQLite and PostgreSQL, not {engine.dialect.name}")
    # WRITE makes bot.store.db's begin hook issue BEGIN IMMEDIATE: the write lock is taken before
    # anything is read, so a second process waits on busy_timeout instead of reading a stale schema.
    with engine.execution_options(**WRITE).begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {SQLITE_LOCK_TABLE} "
            "(id INTEGER PRIMARY KEY, holder VARCHAR NOT NULL, started_at VARCHAR NOT NULL)"
        )
        conn.exec_driver_sql(
            f"INSERT OR REPLACE INTO {SQLITE_LOCK_TABLE} (id, holder, started_at) VALUES (1, ?, ?)",
            (f"{socket.gethostname()}:{os.getpid()}", datetime.now(UTC).isoformat()),
        )
        yield conn


# --- Autogenerate: what env.py hands Alembic so generated scripts run as written -------------------


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """SQLModel's `AutoString` and our `UTCDateTime` would otherwise be rendered as
    `sqlmodel.sql.sqltypes.AutoString()` and `bot.store.db.UTCDateTime()` with no import for
    either, a NameError when the script runs."""
    if type_ != "type":
        return False
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if isinstance(obj, UTCDateTime):
        autogen_context.imports.add("import bot.store.db")
        return "bot.store.db.UTCDateTime()"
    return False


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (type_ == "table" and name in NOT_MODELLED)


def process_revision_directives(context: Any, revision: Any, directives: list[Any]) -> None:
    """New revisions are numbered 0002, 0003, … after the head, unless `--rev-id` names one, so the
    versions folder reads in order."""
    if not directives or getattr(getattr(context.config, "cmd_opts", None), "rev_id", None):
        return
    script = directives[0]
    head = ScriptDirectory.from_config(context.config).get_current_head()
    if head is not None and head.isdigit():
        script.rev_id = f"{int(head) + 1:04d}"
