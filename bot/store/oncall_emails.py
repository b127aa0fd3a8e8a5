"""The on-call email cache: each email a schedule or policy names -> the Slack user id that
`users.lookupByEmail` gave for it when `serve` started (None: Slack knows no such user). The CLI
and the ICS feed read it without Slack credentials; an email never looked up is absent."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from bot.store.db import CacheWriter, UTCDateTime

CHUNK = 500  # emails per query, well under every database's bound-parameter limit


class OnCallEmailRow(SQLModel, table=True):
    __tablename__ = "oncall_emails"

    email: str = Field(primary_key=True, max_length=254)
    user_id: str | None = Field(default=None, max_length=32)  # None: users_not_found
    looked_up_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


EMAILS = OnCallEmailRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class EmailLookups:
    """What the cache says about some emails: found (email -> user id) and not found."""

    found: dict[str, str]
    not_found: frozenset[str]


class OnCallEmailStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache = CacheWriter(engine, EMAILS, "email")

    def lookups(self, emails: Collection[str]) -> EmailLookups:
        wanted = sorted({e.lower() for e in emails})
        found: dict[str, str] = {}
        missing: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), CHUNK):
                query = sa_select(EMAILS.c.email, EMAILS.c.user_id).where(
                    EMAILS.c.email.in_(wanted[start : start + CHUNK])
                )
                for row in conn.execute(query):
                    if row.user_id:
                        found[row.email] = row.user_id
                    else:
                        missing.add(row.email)
        # Keyed as the config wrote them (the cache keeps them lowercased, as Slack matches them).
        return EmailLookups(
            {e: found[e.lower()] for e in emails if e.lower() in found},
            frozenset(e for e in emails if e.lower() in missing),
        )

    def record(self, email: str, user_id: str | None, looked_up_at: datetime) -> None:
        """Insert or replace the answer for `email` (two processes may look it up at once: both are right)."""
        self._cache.put(email.lower(), {"user_id": user_id, "looked_up_at": looked_up_at})
