"""Storage adapters: SQLModel tables and the append-only event store."""
