"""How long the change log keeps changes, and the pruning that enforces it.

Pruning removes a prefix of the log (see ``change_log.prune_through``): it first
records how far it goes (``pruned_through``), then deletes in batches, so that a
subscription resuming meanwhile is told its cursor is too old, never served a hole,
and no single transaction holds a large delete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from zoo.core.entity import utcnow
from zoo.events.change_log import delete_through, mark_pruned, prune_through
from zoo.storage.database import Database, is_unavailable

logger = logging.getLogger(__name__)

DELETE_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class LogPolicy:
    days: int = 90
    """Days a change is kept; 0 keeps every change."""
    resume_max_events: int = 10_000
    """Most changes a resuming subscription is replayed; further behind is EVENTS_MISSED."""

    def describe(self) -> str:
        return "every change" if self.days == 0 else f"ZOO_HISTORY_DAYS={self.days} days"


async def prune(database: Database, days: int, now: datetime | None = None) -> int:
    """Delete the changes older than ``days`` (none for 0); returns how many."""
    if days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)

    def last_to_prune(session: Session) -> int:
        return prune_through(session.connection(), cutoff)

    async with database.transaction() as session:
        through = await session.run_sync(last_to_prune)
        if through:
            await session.execute(mark_pruned(through))
    deleted = 0
    while through:
        async with database.transaction() as session:
            result = await session.execute(delete_through(through, DELETE_BATCH))
        count = int(getattr(result, "rowcount", 0))
        deleted += count
        if count < DELETE_BATCH:
            break
    return deleted


class Pruner:
    """Prunes the log every ``every`` seconds while the server runs (each instance; a
    prune that finds nothing to do costs two indexed reads)."""

    def __init__(self, database: Database, days: int, every: float) -> None:
        self.database = database
        self.days = days
        self.every = every
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.days > 0 and self.task is None:
            self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                deleted = await prune(self.database, self.days)
                if deleted:
                    logger.info("pruned %d changes older than %d days", deleted, self.days)
            except Exception as exc:  # the server outlives a failed prune; the next one retries
                level = logging.WARNING if is_unavailable(exc) else logging.ERROR
                logger.log(level, "pruning the change log failed: %r", exc)
            await asyncio.sleep(self.every)
