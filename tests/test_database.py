"""How reads and writes open (or do not open) transactions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, func, select

from zoo.exhibits.models import Exhibit
from zoo.services import Services


@pytest.fixture
def sent(services: Services) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = services.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield statements
    event.remove(engine, "before_cursor_execute", record)


async def test_reads_send_no_begin_and_writes_begin_immediately_on_sqlite(
    services: Services, sent: list[str]
) -> None:
    database = services.database
    async with database.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Exhibit)) == 0
    async with database.read() as connection:
        assert (await connection.execute(select(func.count()).select_from(Exhibit))).scalar() == 0
    assert not [s for s in sent if s.startswith("BEGIN")]
    assert len(sent) == 2
    async with database.transaction() as session:
        session.add(Exhibit(name="Reptile House"))
    begins = [s for s in sent if s.startswith("BEGIN")]
    # asyncpg opens its transactions outside the cursor; SQLite's is sent as SQL.
    assert begins == (["BEGIN IMMEDIATE"] if database.is_sqlite else [])
