"""How reads and writes open (or do not open) transactions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError

from tests.support.databases import POSTGRES_URL
from zoo.config import Settings
from zoo.domains import Services
from zoo.exhibits.models import Exhibit
from zoo.storage.database import Database, is_unavailable


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
    count = select(func.count()).select_from(Exhibit)
    assert await database.fetch(lambda connection: connection.execute(count).scalar()) == 0
    assert not [s for s in sent if s.startswith("BEGIN")]
    assert len(sent) == 2
    async with database.transaction() as session:
        session.add(Exhibit(name="Reptile House"))
    begins = [s for s in sent if s.startswith("BEGIN")]
    # asyncpg opens its transactions outside the cursor; SQLite's is sent as SQL.
    assert begins == (["BEGIN IMMEDIATE"] if database.is_sqlite else [])


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_an_acknowledged_write_on_sqlite_is_on_disk(services: Services) -> None:
    """WAL with ``synchronous = FULL``: each commit syncs the log before it returns, so
    a write that was answered survives a power loss (with NORMAL it may roll back)."""

    def pragmas(connection: Any) -> tuple[str, int]:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        return mode, connection.exec_driver_sql("PRAGMA synchronous").scalar()

    assert await services.database.fetch(pragmas) == ("wal", 2)


async def test_a_connection_returned_mid_transaction_is_still_rolled_back(
    services: Services,
) -> None:
    """SQLite skips the pool's ROLLBACK when nothing is open, never when something is."""
    database = services.database
    if not database.is_sqlite:
        pytest.skip("PostgreSQL keeps SQLAlchemy's own reset on return")

    def leave_a_transaction_open(connection: Any) -> tuple[bool, bool, bool]:
        pool_connection = connection.engine.raw_connection()
        driver = pool_connection.dbapi_connection.driver_connection
        cursor = pool_connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        cursor.close()
        was_open = driver.in_transaction
        pool_connection.close()  # back to the pool, as a cancelled request leaves it
        again = connection.engine.raw_connection()
        try:
            same = again.dbapi_connection.driver_connection is driver
            return was_open, same, driver.in_transaction
        finally:
            again.close()

    database.engine.sync_engine.pool.dispose()
    async with database.engine.connect() as connection:
        was_open, same, still_open = await connection.run_sync(leave_a_transaction_open)
    assert was_open
    assert same
    assert not still_open


async def test_a_read_cancelled_mid_statement_gives_its_connection_back(
    services: Services,
) -> None:
    """A request cancelled while its read runs (a client gone, a deadline) must not keep
    the connection: the pool would run dry one cancelled request at a time."""
    database = services.database
    pool = database.engine.sync_engine.pool
    slow = (
        text("SELECT pg_sleep(30)")
        if database.postgres
        else text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000)"
            " SELECT count(*) FROM n"
        )
    )
    checked_out, checked_in = asyncio.Event(), asyncio.Event()
    event.listen(pool, "checkout", lambda *_: checked_out.set())
    event.listen(pool, "checkin", lambda *_: checked_in.set())
    read = asyncio.ensure_future(database.fetch(lambda c: c.execute(slow).scalar()))
    await checked_out.wait()
    await asyncio.sleep(0.1)
    read.cancel()
    with pytest.raises(asyncio.CancelledError):
        await read
    async with asyncio.timeout(20):
        await checked_in.wait()
    count = select(func.count()).select_from(Exhibit)
    assert await database.fetch(lambda connection: connection.execute(count).scalar()) == 0


def _in_transaction(driver: Any) -> bool:
    """Whether the driver's own connection has a transaction open (asyncpg or aiosqlite)."""
    is_in = getattr(driver, "is_in_transaction", None)
    return bool(is_in()) if is_in is not None else bool(driver.in_transaction)


async def test_a_write_is_one_transaction_and_its_connection_goes_back_autocommitting(
    services: Services,
) -> None:
    """On PostgreSQL the pool's connections autocommit (for reads) and a write asks for
    a transaction: it must get one, all or nothing, and its connection must go back to
    the pool autocommitting, or a later read would leave a transaction open."""
    database = services.database
    database.engine.sync_engine.pool.dispose()  # one connection, used by both below

    def read_state(connection: Any) -> tuple[Any, bool]:
        driver = connection.connection.driver_connection
        return driver, _in_transaction(driver)

    async def write_then_fail() -> Any:
        async with database.transaction() as session:
            session.add(Exhibit(name="Reptile House"))
            await session.flush()
            connection = await session.connection()
            driver = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
            assert _in_transaction(driver)
            raise RuntimeError(driver)

    with pytest.raises(RuntimeError) as failed:
        await write_then_fail()
    writer = failed.value.args[0]
    count = select(func.count()).select_from(Exhibit)
    assert await database.fetch(lambda connection: connection.execute(count).scalar()) == 0

    async with database.transaction() as session:
        session.add(Exhibit(name="Reptile House"))
    reader, open_during_read = await database.fetch(read_state)
    assert reader is writer
    assert not open_during_read
    assert await database.fetch(lambda connection: connection.execute(count).scalar()) == 1


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("mode", ["force_generic_plan", "auto", "server"])
async def test_postgres_connections_plan_statements_as_configured(
    settings: Settings, mode: str
) -> None:
    """By default each prepared statement is planned once per connection: under the
    server's "auto", a page's statement (its LIMIT a parameter) was planned again on
    every execution. ``server`` sends no startup parameter, for poolers that refuse one."""
    database = Database(settings.model_copy(update={"db_plan_cache_mode": mode}))
    show = text("SHOW plan_cache_mode")
    try:
        used = await database.fetch(lambda connection: connection.scalar(show))
        async with database.transaction() as session:
            used_by_writes = await session.scalar(show)
    finally:
        await database.dispose()
    driver = await asyncpg.connect(POSTGRES_URL)
    try:
        server_default = await driver.fetchval("SHOW plan_cache_mode")
    finally:
        await driver.close()
    expected = server_default if mode == "server" else mode
    assert (used, used_by_writes) == (expected, expected)


SLOW = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000)"
    " SELECT count(*) FROM n"
)


async def test_a_statement_past_the_timeout_is_stopped_as_an_outage(database_url: str) -> None:
    """On both databases: SQLite had no statement timeout, and a long scan held a pooled
    connection (and a thread) for as long as it took. The statement is stopped, as an
    outage (a 503 to the client), and the connection serves the next one."""
    database = Database(Settings(database_url=database_url, db_statement_timeout=0.3))
    try:
        with pytest.raises((DBAPIError, TimeoutError)) as stopped:
            await database.fetch(lambda connection: connection.scalar(text(SLOW)))
        assert is_unavailable(stopped.value), stopped.value
        assert await database.fetch(lambda connection: connection.scalar(text("SELECT 1"))) == 1
        async with database.transaction() as session:  # a write, after a read that was stopped
            assert await session.scalar(text("SELECT 2")) == 2
    finally:
        await database.dispose()
