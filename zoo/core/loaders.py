"""Batch queries behind the DataLoaders: one statement for any number of keys.

Each batch opens its own short session, because strawberry resolves sibling
fields concurrently and an ``AsyncSession`` must never be used by two
coroutines at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from zoo.core.models import Entity
from zoo.db import Database

M = TypeVar("M", bound=Entity)


async def live_by_id(database: Database, model: type[M], ids: Sequence[int]) -> list[M | None]:
    """The live row for each id, or None where it is missing or deleted."""
    statement = select(model).where(
        model.id.in_(set(ids)),
        model.deleted_at.is_(None),
    )
    async with database.read_session() as session:
        found = {row.id: row for row in await session.scalars(statement)}
    return [found.get(id_) for id_ in ids]


async def live_grouped_by(
    database: Database, column: InstrumentedAttribute[Any], keys: Sequence[int]
) -> list[list[Any]]:
    """Live rows whose ``column`` holds each key, ordered by id."""
    model = column.class_
    statement = (
        select(model)
        .where(column.in_(set(keys)), model.deleted_at.is_(None))
        .order_by(column, model.id)
    )
    groups: dict[int, list[Any]] = defaultdict(list)
    async with database.read_session() as session:
        for row in await session.scalars(statement):
            groups[getattr(row, column.key)].append(row)
    return [groups.get(key, []) for key in keys]


async def live_count_grouped_by(
    database: Database, column: InstrumentedAttribute[Any], keys: Sequence[int]
) -> list[int]:
    """How many live rows hold each key in ``column``."""
    model = column.class_
    statement = (
        select(column, func.count())
        .where(column.in_(set(keys)), model.deleted_at.is_(None))
        .group_by(column)
    )
    async with database.read_session() as session:
        counts: dict[int, int] = {key: count for key, count in await session.execute(statement)}
    return [counts.get(key, 0) for key in keys]
