"""Alembic environment: async engine, URL from Zoo's settings, every model's metadata."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import subprocess
import sys
from logging.config import fileConfig
from typing import Any

from alembic import context
from alembic.script import write_hooks
from sqlalchemy import text
from sqlalchemy.engine import Connection

from zoo.config import Settings
from zoo.storage.database import Database
from zoo.storage.tables import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


@write_hooks.register("ruff_if_installed")
def ruff_if_installed(filename: str, options: dict[str, Any]) -> None:
    """Format a new revision with ruff when it is installed (``make install-dev``)."""
    if importlib.util.find_spec("ruff") is None:
        logging.getLogger("alembic").info(
            "ruff is not installed (make install-dev): %s is left as generated", filename
        )
        return
    command = [sys.executable, "-m", "ruff", "format", "--quiet", filename]
    subprocess.run(command, check=True)  # noqa: S603 (our own interpreter and file)


def database_url() -> str:
    """An URL handed in by the caller (tests, the CLI) wins over the environment."""
    url = config.attributes.get("database_url")
    return str(url) if url else Settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


MIGRATION_STATEMENT_TIMEOUT = 24 * 3600.0
"""Seconds one migration statement may take: rewriting or indexing a large table can take
long, and a request's limit (ZOO_DB_STATEMENT_TIMEOUT, 15 s) failed such a migration
halfway, reported as an unreachable database."""

MIGRATION_LOCK = 0x7A6F6F5F6D696772
"""A PostgreSQL advisory lock key ("zoo_migr"), held by the migrating transaction."""

IGNORED_INDEXES = {"uq_users_email_lower"}
"""Made by a migration in each database's own way (an expression index), not by the models."""


SQLITE_UNNAMED_REFERENCES = {("users", "staff_member_id")}
"""References SQLite added with their column (migration 838361e62b83), whose names it
does not report: compared on PostgreSQL only."""


def include_object(
    object_: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    if type_ == "index" and name in IGNORED_INDEXES:
        return False
    if type_ == "foreign_key_constraint" and context.get_bind().dialect.name == "sqlite":
        columns = tuple(column.name for column in object_.columns)
        return (object_.table.name, *columns) not in SQLITE_UNNAMED_REFERENCES
    return True


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
        # SQLite's DDL is transactional, though Alembic assumes not and commits after each
        # revision: a second instance migrating at once then read a version between two of
        # the first's revisions, and both ran the next one. One transaction for the run.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        # Instances that start at once each migrate: without turns, they ran the same DDL
        # from the same version and all but one failed. Alembic reads the version after
        # this, so those that wait find the work done. (SQLite's BEGIN IMMEDIATE already
        # gives the write lock to one at a time, for the whole run.)
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def run_async_migrations() -> None:
    settings = Settings(
        database_url=database_url(), db_statement_timeout=MIGRATION_STATEMENT_TIMEOUT
    )
    database = Database(settings)
    try:
        async with database.writer.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await database.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_async_migrations())
