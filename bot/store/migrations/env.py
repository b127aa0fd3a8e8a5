"""Alembic's entry point. `bot.store.migrate` runs it on a connection it holds the migration lock on
(`incident-bot serve` and `incident-bot db upgrade`); plain `alembic` commands from the repository
root (alembic.ini) run it on an engine for DATABASE_URL, or alembic.ini's default URL."""

from __future__ import annotations

import importlib
import os
import pkgutil
from logging.config import fileConfig

from alembic import context
from sqlmodel import SQLModel

import bot.store
from bot.store.db import make_engine
from bot.store.migrate import include_name, process_revision_directives, render_item

# Every module of bot/store/ is imported, so a table defined in a new module is seen too.
for module in pkgutil.iter_modules(bot.store.__path__):
    importlib.import_module(f"bot.store.{module.name}")

config = context.config
if config.config_file_name is not None:  # plain `alembic` from the repository root
    fileConfig(config.config_file_name, disable_existing_loggers=False)
# The models' tables; a test passes other metadata to see what autogenerate writes for a change.
target_metadata = config.attributes.get("target_metadata", SQLModel.metadata)


def _on_version_apply(ctx, step, heads, run_args) -> None:
    report = config.attributes.get("on_version_apply")
    if report is not None and step.is_upgrade and not step.is_stamp:
        report(step.up_revision_id)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
        render_item=render_item,
        include_name=include_name,
        compare_type=True,
        process_revision_directives=process_revision_directives,
        on_version_apply=_on_version_apply,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set DATABASE_URL (or sqlalchemy.url in alembic.ini)")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported: run against a database")
run_online()
