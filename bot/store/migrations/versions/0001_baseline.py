"""Baseline: the schema before migrations (as of release a6d0b6c)

Exactly what `SQLModel.metadata.create_all` made before there were migrations. A database made by those releases has exactly these tables, indexes and constraints and no
alembic_version; `bot.store.migrate.upgrade` stamps it at this revision instead of running it.
Do not edit: change the schema in a new revision on top.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.db

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", bot.store.db.UTCDateTime(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident", "seq", name="uq_events_incident_seq"),
    )
    op.create_index("ix_events_incident", "events", ["incident"], unique=False)
    op.create_table(
        "incidents",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("commander", sa.String(), nullable=True),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("declared_at", bot.store.db.UTCDateTime(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("slack_owed", sa.Boolean(), nullable=False),
        sa.Column("next_due_at", bot.store.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"], unique=False)
    op.create_index("ix_incidents_next_due_at", "incidents", ["next_due_at"], unique=False)
    op.create_index("ix_incidents_slack_owed", "incidents", ["slack_owed"], unique=False)
    op.create_index("ix_incidents_channel_id", "incidents", ["channel_id"], unique=False)
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", bot.store.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "deliveries",
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("incident", sa.Integer(), nullable=False),
        sa.Column("alert_group", sa.String(length=512), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_deliveries_alert_group", "deliveries", ["alert_group"], unique=False)
    op.create_table(
        "alert_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", bot.store.db.UTCDateTime(), nullable=False),
        sa.Column("alert_group", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("incident", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    for table in ("alert_log", "deliveries", "counters", "leases", "incidents", "events"):
        op.drop_table(table)  # their indexes go with them
