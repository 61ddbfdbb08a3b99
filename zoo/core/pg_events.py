"""Change events shared by every server instance through PostgreSQL ``LISTEN``/``NOTIFY``.

Each instance keeps one connection listening on a channel and publishes with
``pg_notify``; PostgreSQL delivers every notification to every listener, the
publishing instance included, so local subscribers are served from the same
stream as remote ones. No extra infrastructure: the database is the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from zoo import metrics
from zoo.core.events import DEFAULT_QUEUE_SIZE, Broker, Change

logger = logging.getLogger(__name__)

CHANNEL = "zoo_changes"
RECONNECT_SECONDS = 1.0
CHECK_SECONDS = 10.0
"""How often the listening connection, otherwise idle, is asked to answer."""


GAP = "gap"
"""The notification that says an announcement was lost: every instance's subscribers may
have missed a change, and are ended with ``EVENTS_MISSED`` (see ``Broker.interrupt``)."""

PUBLISH_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


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
    ) -> None:
        super().__init__(DEFAULT_QUEUE_SIZE if queue_size is None else queue_size, max_subscribers)
        self.dsn = asyncpg_dsn(database_url)
        self.timeout = timeout
        self.check_seconds = check_seconds
        self.listener: asyncpg.Connection | None = None
        self.publisher: asyncpg.Connection | None = None
        self.publish_lock = asyncio.Lock()
        self.keeper: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()
        self.gap_unannounced = False
        """An announcement was lost: every instance is to be told, as soon as one can be."""
        self._wake = asyncio.Event()
        """Wakes the keeper: its connection closed, or there is a gap to announce."""

    async def start(self) -> None:
        await super().start()
        self.keeper = asyncio.create_task(self._keep_listening())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.listening.wait(), timeout=5)

    async def stop(self) -> None:
        if self.keeper is not None:
            self.keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.keeper
        for connection in (self.listener, self.publisher):
            if connection is not None and not connection.is_closed():
                with contextlib.suppress(Exception):
                    await connection.close(timeout=2)
        await super().stop()

    async def publish(self, change: Change) -> None:
        """Announce a committed change. The write has succeeded whatever happens here: a
        broken or silent connection is replaced and the announcement sent once more; past
        that, the announcement is lost and every instance is told so (see :data:`GAP`).
        The mutation is held for two attempts' timeouts at most, never failed."""
        metrics.EVENTS_PUBLISHED.inc()
        self.tell_listeners(change)
        async with self.publish_lock:
            for attempt in (1, 2):
                try:
                    await self._notify(change.to_json())
                    return
                except PUBLISH_ERRORS as exc:
                    logger.warning("could not publish %s (attempt %d): %r", change, attempt, exc)
                    if self.publisher is not None:
                        self.publisher.terminate()  # in an unknown state: start anew
                        self.publisher = None
            self.gap_unannounced = True
            self._wake.set()

    async def _notify(self, payload: str) -> None:
        if self.publisher is None or self.publisher.is_closed():
            self.publisher = await asyncpg.connect(self.dsn, timeout=self.timeout)
        await notify(self.publisher, payload, self.timeout)

    def _on_notification(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload == GAP:
            self.interrupt()
            return
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
            self.listening.clear()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _while_answering(self, listener: asyncpg.Connection) -> None:
        """Return when the connection closes; raise once it stops answering. Meanwhile,
        announce a gap left by a lost announcement.

        A server that vanished without a reset (a failover, a dropped NAT entry)
        leaves the connection open and silent: without the check, this instance's
        subscribers got no event again.
        """
        listener.add_termination_listener(lambda _connection: self._wake.set())
        while not listener.is_closed():
            if self.gap_unannounced:
                await notify(listener, GAP, self.timeout)
                self.gap_unannounced = False
            try:
                await asyncio.wait_for(self._wake.wait(), self.check_seconds)
                self._wake.clear()
            except TimeoutError:
                await listener.execute("SELECT 1", timeout=self.timeout)
