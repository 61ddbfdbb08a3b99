"""The database: one async engine per app, and the session factories built on it.

SQLite is the embedded default, so it is tuned to behave like a server under
concurrent use: WAL lets readers run beside a writer, a busy timeout makes
writers queue instead of failing with "database is locked", and write
transactions start with ``BEGIN IMMEDIATE`` so two writers never both hold a
read lock and then deadlock upgrading it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import event, exc, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import PoolResetState
from sqlalchemy.util import greenlet_spawn

from zoo.config import Settings
from zoo.observability import metrics

T = TypeVar("T")

logger = logging.getLogger("zoo.db")

SQLITE_BUSY_TIMEOUT_MS = 30_000
WRITE_ISOLATION = "READ COMMITTED"
"""PostgreSQL's default level, named because the pool's own is autocommit (for reads)."""
_BEGIN_MODE = "zoo_sqlite_begin"
_AT_COMMIT = "zoo_at_commit"


class WriteSession(Session):
    """The sessions that write: they run the work queued by :func:`at_commit`."""


def at_commit(
    session: AsyncSession, within: Callable[[Session], object] | None, after: Callable[[], None]
) -> None:
    """Run ``within`` as the session's transaction commits, inside it (what it writes
    commits or rolls back with the rest), and ``after`` once it has committed; neither
    if the transaction rolls back. Whatever commits it, here or in a library (fastapi-users
    commits its own writes), the work goes with that commit and no other."""
    session.sync_session.info.setdefault(_AT_COMMIT, []).append((within, after))


@event.listens_for(WriteSession, "before_commit")
def _run_within(session: Session) -> None:
    for within, _after in session.info.get(_AT_COMMIT, ()):
        if within is not None:
            within(session)


@event.listens_for(WriteSession, "after_commit")
def _run_after(session: Session) -> None:
    for _within, after in session.info.pop(_AT_COMMIT, ()):
        try:
            after()
        except Exception:  # the write has committed: it must not be reported as failed
            logger.exception("work after a commit failed")


@event.listens_for(WriteSession, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back (a commit has taken its work already)
        session.info.pop(_AT_COMMIT, None)


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module: the "begin" hook issues it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: in WAL mode, NORMAL leaves the last commits to a later checkpoint's sync,
        # so a power loss or OS crash could roll back a write already acknowledged.
        # Syncing the log at each commit costs about 0.2 ms here.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
        # SQLite's own lower() folds ASCII only; PostgreSQL folds all of Unicode.
        raw = dbapi_connection.driver_connection
        if isinstance(raw, sqlite3.Connection):
            raw.create_function("lower", 1, _unicode_lower, deterministic=True)
        else:
            dbapi_connection.await_(
                raw.create_function("lower", 1, _unicode_lower, deterministic=True)
            )

    @event.listens_for(engine.sync_engine.pool, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
        # A read without BEGIN, or a write that committed, leaves nothing to roll
        # back: skipping the ROLLBACK saves a round trip to aiosqlite's thread on
        # every connection returned. A connection left mid-transaction (a cancelled
        # request) is still rolled back.
        if not state.terminate_only and dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_MODE, "DEFERRED")
        if mode is not None:
            connection.exec_driver_sql(f"BEGIN {mode}")


_TIMER = "zoo_statement_timer"


def _time_sqlite_statements(engine: AsyncEngine, seconds: float) -> None:
    """Interrupt a SQLite statement still running ``seconds`` after it began, as
    PostgreSQL's statement timeout does (an outage, 503): a scan of a large table held a
    pooled connection and a thread for as long as it took. The timer runs on the event
    loop and calls ``sqlite3_interrupt``, which another thread may call; it is started
    with each statement (its rows are computed as they are fetched) and stopped when
    the transaction ends or the connection goes back to the pool."""

    def stop(connection_info: dict[str, Any]) -> None:
        timer = connection_info.pop(_TIMER, None)
        if timer is not None:
            timer.cancel()

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _start(connection: Connection, *_: Any) -> None:
        stop(connection.info)
        raw = connection.connection.driver_connection
        if raw is None or isinstance(raw, sqlite3.Connection):  # a synchronous engine
            return

        async def interrupt() -> None:
            with suppress(ValueError, sqlite3.ProgrammingError):  # closed meanwhile
                await raw.interrupt()

        loop = asyncio.get_running_loop()
        connection.info[_TIMER] = loop.call_later(
            seconds, lambda: asyncio.ensure_future(interrupt())
        )

    @event.listens_for(engine.sync_engine, "commit")
    @event.listens_for(engine.sync_engine, "rollback")
    def _end(connection: Connection) -> None:
        if not connection.invalidated:  # else its info is out of reach; checkin stops it
            stop(connection.info)

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        stop(record.info)


class Database:
    """Owns the engine; hands out short read sessions and one-transaction write sessions.

    Statements go through ``reader`` or ``writer``, not ``engine`` itself: on
    PostgreSQL the engine's connections autocommit, and only ``writer``'s open
    a transaction.
    """

    def __init__(self, settings: Settings, **engine_options: Any) -> None:
        self.url = settings.database_url
        self.is_sqlite = settings.is_sqlite
        self.postgres = not self.is_sqlite
        # Enough kept open for the requests one process serves at once: a connection
        # opened beyond the pool is closed again on return, and opening one (a thread
        # and its pragmas on SQLite, a TLS attempt and a handshake on PostgreSQL) cost
        # more than the small query it served (seen under 8 clients with 5 kept).
        engine_options.setdefault("pool_size", settings.db_pool_size)
        engine_options.setdefault("max_overflow", settings.db_pool_size)
        if self.is_sqlite:
            if settings.sqlite_path is not None:
                settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            engine_options.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            # The pool's reset is a ROLLBACK on every return; _configure_sqlite's
            # "reset" hook sends one only when a transaction is actually open.
            engine_options.setdefault("pool_reset_on_return", None)
        else:
            # No ping per checkout (a round trip, and BEGIN/ROLLBACK around it, before
            # every request's first statement). A connection that died in the pool fails
            # its first statement instead; SQLAlchemy then invalidates the whole pool (so
            # a server restart costs one failure, not one per pooled connection), and a
            # read is read again on a fresh connection (``reading_again``).
            engine_options.setdefault("pool_pre_ping", False)
            # A server that accepts but never answers (a hung host, a dead network path)
            # would hold each request for minutes: connecting, each statement and waiting
            # for a pooled connection all give up in seconds, as an outage (503).
            connect_args: dict[str, Any] = {
                "timeout": settings.db_connect_timeout,
                "command_timeout": settings.db_statement_timeout,
            }
            # Statements are prepared once per connection; under PostgreSQL's "auto"
            # mode, those whose parameters could change the plan (a LIMIT, an array of
            # ids) were planned again on every execution: planning took half of the
            # connection page's statement. Zoo's statements are keyset pages and
            # lookups on indexed columns, whose generic plans are the custom ones.
            if settings.db_plan_cache_mode != "server":
                connect_args["server_settings"] = {"plan_cache_mode": settings.db_plan_cache_mode}
            engine_options.setdefault("connect_args", connect_args)
            engine_options.setdefault("pool_timeout", settings.db_pool_timeout)
            # Reads are single statements (or a token and its user): in autocommit they
            # skip the BEGIN and ROLLBACK round trips a transaction would add. Autocommit
            # is the pool's own level, so that a read does not set it on checkout and
            # reset it on return (a tenth of a read's CPU); writes ask for a transaction.
            engine_options.setdefault("isolation_level", "AUTOCOMMIT")
        self.engine = create_async_engine(self.url, **engine_options)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
            _time_sqlite_statements(self.engine, settings.db_statement_timeout)
            # A lone SELECT is atomic in SQLite; an explicit BEGIN would only cost a
            # round trip to aiosqlite's thread.
            self.reader = self.engine.execution_options(**{_BEGIN_MODE: None})
            self.writer = self.engine.execution_options(**{_BEGIN_MODE: "IMMEDIATE"})
        else:
            self.reader = self.engine
            self.writer = self.engine.execution_options(isolation_level=WRITE_ISOLATION)
        self._write_turn = asyncio.Lock() if self.is_sqlite else None
        # Reads only: on SQLite each statement of a read session stands alone (no
        # BEGIN, one round trip less), which the lookups it serves (a token, then
        # its user; seeding's checks) do not mind.
        self.read_session = async_sessionmaker(self.reader, expire_on_commit=False)
        self.write_session = async_sessionmaker(
            self.writer, expire_on_commit=False, sync_session_class=WriteSession
        )

    async def fetch(self, run: Callable[[Connection], T]) -> T:
        """``run`` on a Core read connection (no ORM session, no transaction setup), read
        again once if the connection was lost (see :meth:`reading_again`).

        The checkout, ``run`` and the return happen in one greenlet, the way
        SQLAlchemy's asyncio layer runs each of its calls: through ``AsyncConnection``
        they would be three (checkout, statement, close), each a switch into a new
        greenlet and back: one greenlet takes about a third less CPU per read (a row by
        id on PostgreSQL, measured side by side). The engine, its pool and its events
        (metrics, spans, the fault tests' hooks) are the same.
        """
        sync_engine = self.reader.sync_engine

        def attempt() -> T:
            with sync_engine.connect() as connection:
                return run(connection)

        return await self.reading_again(partial(greenlet_spawn, attempt))

    async def reading_again(self, read: Callable[[], Awaitable[T]]) -> T:
        """Run ``read`` once more, on a fresh connection, if its connection was lost on
        the way (a server restart, a killed backend, a reset network path): the pool's
        pre-ping cannot see a connection die while in use. Reads only: a read has no
        effect to repeat, a write's outcome is unknown and it is never repeated."""
        try:
            return await read()
        except exc.DBAPIError as error:
            if not error.connection_invalidated:
                raise
        return await read()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One session, one transaction: committed if the block succeeds, rolled back if not."""
        async with self.writing(), self.write_session() as session, session.begin():
            yield session

    @asynccontextmanager
    async def request_session(self) -> AsyncIterator[AsyncSession]:
        """A write session for a REST request, whose closing cannot fail the request for
        a lost connection.

        FastAPI closes it after the answer is sent: an error then only logs a traceback
        and drops the client's kept-alive connection. What the request committed stays
        committed; closing rolls back the rest, which a lost connection rolls back too,
        and SQLAlchemy drops that connection from the pool.
        """
        session = self.write_session()
        try:
            yield session
        finally:
            try:
                await session.close()
            except exc.DBAPIError as error:
                if not is_unavailable(error):
                    raise
                logger.warning("connection lost while closing a session: %s", error.orig)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Take this process's turn to write (SQLite only; PostgreSQL writes concurrently).

        SQLite admits one writer at a time. Writers that queue on the file lock wait in
        SQLite's busy handler, which sleeps and polls with growing pauses: fine between
        processes, but inside one process an asyncio lock hands the turn over at once.
        """
        if self._write_turn is None:
            yield
            return
        waits = self._write_turn.locked()
        started = time.perf_counter()
        async with self._write_turn:
            if waits:
                metrics.WRITE_TURN_WAITS.inc()
                metrics.WRITE_TURN_WAIT_SECONDS.inc(time.perf_counter() - started)
            yield

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    exc.InterfaceError,
    exc.TimeoutError,
)
"""Errors that always mean the database could not be reached (or its connection broke):
a refused or reset socket, a timeout, a pool with no connection to spare."""

_BROKEN_CONNECTION = frozenset(
    {
        "ConnectionDoesNotExistError",
        "CannotConnectNowError",
        "ConnectionFailureError",
        "InternalClientError",  # asyncpg's protocol state broke: "another operation is in progress"
    }
)
_OUTAGE_SQLSTATES = ("08", "53", "57P01", "57P02", "57P03", "57014")
"""PostgreSQL: connection exceptions, insufficient resources (too many connections, disk
full, out of memory), shutdowns and restarts, a statement cancelled by its timeout."""
_SQLITE_OUTAGES = (
    "interrupted",  # by the statement timeout
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "disk i/o error",
    "database or disk is full",
)
"""SQLite's operational errors that a retry later can cure; the rest ("no such table",
"LIKE or GLOB pattern too complex", ...) are bugs or bad statements."""


def is_unavailable(error: BaseException | None) -> bool:
    """The database could not be reached or could not serve now, so that a retry later can
    succeed (a 503), as opposed to a bug or a bad statement (a 500 with a request id)."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    while error is not None:
        if isinstance(error, UNAVAILABLE_ERRORS) or type(error).__name__ in _BROKEN_CONNECTION:
            return True
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_OUTAGE_SQLSTATES):
            return True
        if isinstance(error, sqlite3.OperationalError) and str(error).lower().startswith(
            _SQLITE_OUTAGES
        ):
            return True
        error = error.__cause__ or error.__context__
    return False
