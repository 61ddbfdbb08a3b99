"""Change events shared by every server instance through PostgreSQL ``LISTEN``/``NOTIFY``.

Each instance keeps one connection listening on a channel. A change is announced with
``pg_notify`` inside the transaction that makes it: PostgreSQL sends the notification
when, and only if, that transaction commits, to every listener, the announcing
instance included, so local subscribers are served from the same stream as remote
ones. No extra infrastructure: the database is the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zoo.events.broker import DEFAULT_QUEUE_SIZE, Broker, Change
from zoo.observability import metrics

logger = logging.getLogger(__name__)

CHANNEL = "zoo_changes"
RECONNECT_SECONDS = 1.0
CHECK_SECONDS = 10.0
"""How often the listening connection, otherwise idle, is asked to answer."""
QUEUE_WARNING = 0.5
"""Share of PostgreSQL's notification queue in use past which a warning is logged."""


async def notify(connection: asyncpg.Connection, payload: str, seconds: float) -> None:
    """Send ``payload`` on the channel, giving up after ``seconds``."""
    await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, payload, timeout=seconds)


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


class PostgresBroker(Broker):
    def __init__(
        self,
        database_url: str,
        queue_size: int | None = None,
        max_subscribers: int | None = None,
        timeout: float = 5,
        check_seconds: float = CHECK_SECONDS,
        queue_warning: float = QUEUE_WARNING,
    ) -> None:
        super().__init__(DEFAULT_QUEUE_SIZE if queue_size is None else queue_size, max_subscribers)
        self.dsn = asyncpg_dsn(database_url)
        self.timeout = timeout
        self.check_seconds = check_seconds
        self.queue_warning = queue_warning
        self._queue_warned = False
        self.listener: asyncpg.Connection | None = None
        self.keeper: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()
        self._closed = asyncio.Event()
        """Wakes the keeper: its connection closed."""

    @property
    def state(self) -> str:
        if self.keeper is None:
            return "not started"
        return "listening" if self.listening.is_set() else "reconnecting"

    async def start(self) -> None:
        await super().start()
        metrics.EVENT_LISTENERS_RECONNECTING.inc()
        self.keeper = asyncio.create_task(self._keep_listening())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.listening.wait(), timeout=5)

    async def stop(self) -> None:
        keeper, self.keeper = self.keeper, None
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            if not self.listening.is_set():
                metrics.EVENT_LISTENERS_RECONNECTING.dec()
            self.listening.clear()
        if self.listener is not None and not self.listener.is_closed():
            with contextlib.suppress(Exception):
                await self.listener.close(timeout=2)
        await super().stop()

    channel = CHANNEL

    def announcing(self, change: Change) -> Callable[[Session], object]:
        statement = select(func.pg_notify(CHANNEL, change.to_json()))
        return lambda session: session.execute(statement)

    def committed(self, change: Change) -> None:
        """Subscribers get the change through the listener, as every instance's do."""
        metrics.EVENTS_PUBLISHED.inc()
        self.tell_listeners(change)

    def _on_notification(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            change = Change.from_json(payload)
        except (ValueError, TypeError, KeyError) as exc:
            logger.warning("ignoring a malformed notification %r: %s", payload[:100], exc)
            return
        self.deliver(change)

    async def _keep_listening(self) -> None:
        """Listen, and listen again after any failure, every ``RECONNECT_SECONDS``. An
        outage is logged as a warning once, and the return as it ends: a warning on
        each attempt filled the log with one line a second per process."""
        listened = False
        failures = 0
        while True:
            try:
                self.listener = await asyncpg.connect(self.dsn, timeout=self.timeout)
                await self.listener.add_listener(CHANNEL, self._on_notification)
                if failures:
                    logger.info("event listener is back after %d failed attempts", failures)
                    failures = 0
                if listened or self.subscribers:
                    # Whoever subscribed while nothing listened may have missed changes.
                    self.interrupt()
                listened = True
                self.listening.set()
                metrics.EVENT_LISTENERS_RECONNECTING.dec()
                await self._while_answering(self.listener)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the keeper must outlive any failure, or events stop
                failures += 1
                logger.log(
                    logging.WARNING if failures == 1 else logging.DEBUG,
                    "event listener lost its connection (its subscriptions end with "
                    "EVENTS_MISSED once it is back; trying again every %.0f s): %r",
                    RECONNECT_SECONDS,
                    exc,
                )
            if self.listener is not None:
                self.listener.terminate()
            if self.listening.is_set():
                self.listening.clear()
                metrics.EVENT_LISTENERS_RECONNECTING.inc()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _while_answering(self, listener: asyncpg.Connection) -> None:
        """Return when the connection closes; raise once it stops answering.

        A server that vanished without a reset (a failover, a dropped NAT entry)
        leaves the connection open and silent: without the check, this instance's
        subscribers got no event again.
        """
        self._closed.clear()
        listener.add_termination_listener(lambda _connection: self._closed.set())
        while not listener.is_closed():
            try:
                await asyncio.wait_for(self._closed.wait(), self.check_seconds)
            except TimeoutError:
                usage = await listener.fetchval(
                    "SELECT pg_notification_queue_usage()", timeout=self.timeout
                )
                self._queue_in_use(float(usage))

    def _queue_in_use(self, usage: float) -> None:
        """Notifications wait in PostgreSQL's queue (8 GB) until every listening session
        has read them; a session that listens and stops reading (a stopped or hung
        process, or one left in a transaction) makes it grow, and once it is full every
        transaction that announces a change fails at commit: every write. Warned of at
        ``queue_warning``, and again after it has gone back below half of that."""
        metrics.EVENT_QUEUE_USAGE.set(usage)
        if usage >= self.queue_warning and not self._queue_warned:
            self._queue_warned = True
            logger.warning(
                "PostgreSQL's notification queue is %.4g%% full: a session listening on "
                "the database is not reading (pg_stat_activity shows which); once the "
                "queue is full, every write fails at commit",
                usage * 100,
            )
        elif usage < self.queue_warning / 2:
            self._queue_warned = False
