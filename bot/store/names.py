"""The name cache: Slack user and channel ids -> the name a reader outside Slack sees, with the
time each was fetched (refreshed once older than a day, see bot/core/names.py). The CLI reads it
without Slack credentials."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from bot.store.db import CacheWriter, UTCDateTime

USER, CHANNEL = "user", "channel"
CHUNK = 500  # ids per query, well under every database's bound-parameter limit


class SlackNameRow(SQLModel, table=True):
    """One user or channel id. `name` is None when Slack answered that it has no name for the id
    (user_not_found, channel_not_found, no scope): the answer is kept a day like a name, so the
    id is not asked about on every sync, and readers see the id."""

    __tablename__ = "slack_names"

    id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=16)  # USER or CHANNEL
    name: str | None = None
    fetched_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


NAMES = SlackNameRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CachedName:
    name: str | None
    fetched_at: datetime


class NameStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache = CacheWriter(engine, NAMES, "id")

    def cached(self, ids: Collection[str]) -> dict[str, CachedName]:
        """What the cache holds for `ids` (those never fetched are absent)."""
        wanted = sorted(set(ids))
        out: dict[str, CachedName] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), CHUNK):
                query = sa_select(NAMES.c.id, NAMES.c.name, NAMES.c.fetched_at).where(
                    NAMES.c.id.in_(wanted[start : start + CHUNK])
                )
                for row in conn.execute(query):
                    out[row.id] = CachedName(row.name, row.fetched_at)
        return out

    def known(self, ids: Collection[str]) -> dict[str, str]:
        """The names fetched for `ids`: the mapping renderers take."""
        return {i: c.name for i, c in self.cached(ids).items() if c.name}

    def record(self, id_: str, kind: str, name: str | None, fetched_at: datetime) -> None:
        """Insert or replace the entry for `id_` (two processes may fetch the same id at once:
        the later write wins, both are right)."""
        self._cache.put(id_, {"kind": kind, "name": name, "fetched_at": fetched_at})
