"""How many live rows the largest group holds (the most animals in one exhibit), kept fresh.

The query-cost estimate multiplies a nested list's selection by its size. A
list without ``first`` (``exhibit.animals``) has no size in the query, and a
fixed guess under-counts it by as much as the data allows: a hundred animals
in one exhibit made a 92-byte query return a million items. The largest group
as the data stands is the size to count.

Groups only grow through a change the services announce (an animal created
or moved in), and each announced change marks its groups to be counted again
at the next estimate: one indexed count of those groups. Shrinking (a delete,
a move out) and writes made around the services are caught by reading every
group again once the figure is ``max_age`` seconds old. In the moment between
a commit and its announcement (or past a write made around the services) an
estimate can be low; the per-request item limit holds then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from zoo.events.broker import Change, ChangeKind
from zoo.storage.database import Database, is_unavailable

logger = logging.getLogger(__name__)

Column = InstrumentedAttribute[Any]

PURPOSE = "zoo_purpose"
"""Execution option naming why a statement runs, for whoever counts statements."""


async def largest_group(database: Database, column: Column, among: set[int] | None = None) -> int:
    """The most live rows sharing one non-null value of ``column`` (one of ``among``)."""
    model: Any = column.class_
    where = column.in_(sorted(among)) if among is not None else column.is_not(None)
    counts = (
        select(func.count().label("n"))
        .where(where, model.deleted_at.is_(None))
        .group_by(column)
        .subquery()
    )
    statement = select(func.coalesce(func.max(counts.c.n), 0)).execution_options(
        **{PURPOSE: "list sizes"}
    )
    largest = await database.fetch(lambda connection: connection.scalar(statement))
    return int(largest or 0)


class GroupSizes:
    def __init__(
        self,
        database: Database,
        max_age: float,
        watched: Mapping[str, Column] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.max_age = max_age
        self.watched = dict(watched or {})
        """Which grouping column each announced entity's changes can grow."""
        self.clock = clock
        self.sizes: dict[Column, int] = {}
        self.read_at: dict[Column, float] = {}
        self.grown: dict[Column, set[int]] = {}
        self._lock = asyncio.Lock()

    def note(self, change: Change) -> None:
        """A broker listener: the groups a created or moved row joined may have grown."""
        column = self.watched.get(change.entity)
        if column is not None and change.kind is not ChangeKind.DELETED and change.exhibit_ids:
            self.grown.setdefault(column, set()).update(change.exhibit_ids)

    def forget(self) -> None:
        """A broker gap listener: growth announced meanwhile may have gone by unseen."""
        self.read_at.clear()

    async def largest(self, columns: Iterable[Column]) -> Mapping[Column, int]:
        """The largest group of each column, read again where older than ``max_age``.

        While the database cannot answer, the last figures (or none) stand: the
        request then meets the outage where it reads, with its own clear error.
        """
        stale = [c for c in columns if not self._fresh(c) or self.grown.get(c)]
        if stale:
            async with self._lock:
                for column in stale:
                    try:
                        await self._read(column)
                    except Exception as exc:
                        if not is_unavailable(exc):
                            raise
                        logger.warning("largest group of %s unknown: %s", column, exc)
        return self.sizes

    async def _read(self, column: Column) -> None:
        if not self._fresh(column):
            self.grown.pop(column, None)
            read_at = self.clock()
            self.sizes[column] = await largest_group(self.database, column)
            self.read_at[column] = read_at
            return
        grown = self.grown.pop(column, None)
        if grown:
            try:
                largest = await largest_group(self.database, column, grown)
            except BaseException:
                self.grown.setdefault(column, set()).update(grown)
                raise
            self.sizes[column] = max(self.sizes.get(column, 0), largest)

    def _fresh(self, column: Column) -> bool:
        read_at = self.read_at.get(column)
        return read_at is not None and self.clock() - read_at < self.max_age
