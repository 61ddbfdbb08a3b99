"""Faults the tests inject into a running database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.util import await_only

from tests.support.databases import asyncpg_dsn


@asynccontextmanager
async def killing_the_backend(app: Any, statement_start: str) -> AsyncIterator[list[int]]:
    """Terminate the server process behind the first statement that starts with
    ``statement_start`` (or behind the first rollback or commit, for ``"ROLLBACK"`` or
    ``"COMMIT"``), just before it is sent: the connection dies in use."""
    admin = await asyncpg.connect(asyncpg_dsn(app.state.settings.database_url))
    killed: list[int] = []

    def kill(conn: Any) -> None:
        pid = conn.connection.dbapi_connection.driver_connection.get_server_pid()
        await_only(admin.execute("SELECT pg_terminate_backend($1)", pid))
        await_only(asyncio.sleep(0.1))
        killed.append(pid)

    def before_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not killed and statement.startswith(statement_start):
            kill(conn)

    def before_ending(conn: Any) -> None:
        if not killed:
            kill(conn)

    engine = app.state.database.engine.sync_engine
    hook, listener = (
        (statement_start.lower(), before_ending)
        if statement_start in ("ROLLBACK", "COMMIT")
        else ("before_cursor_execute", before_statement)
    )
    event.listen(engine, hook, listener)
    try:
        yield killed
    finally:
        event.remove(engine, hook, listener)
        await admin.close()
