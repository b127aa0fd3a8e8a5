"""Storage adapters: SQLModel tables and the append-only event store."""

# Every table is registered on SQLModel.metadata as soon as any of the store is imported, so
# `create_all` and Alembic's autogenerate see the whole schema.
from bot.store import names as names  # noqa: E402
