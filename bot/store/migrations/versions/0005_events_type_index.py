"""Events by type: an index on (type, id), for the public status page's reads of the publications

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_type_id", "events", ["type", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_events_type_id", table_name="events")
