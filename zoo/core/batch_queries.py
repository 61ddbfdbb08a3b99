"""Batch queries behind the DataLoaders: one statement for any number of keys.

Each batch opens its own short session, because strawberry resolves sibling
fields concurrently and an ``AsyncSession`` must never be used by two
coroutines at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from functools import cache, lru_cache
from typing import Any, Generic, TypeVar

from sqlalchemy import ARRAY, ColumnElement, Select, any_, bindparam, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstrumentedAttribute

from zoo.core.entity import Entity
from zoo.core.records import narrowed, records_of
from zoo.core.where import WhereKey
from zoo.core.where import clause as where_clause
from zoo.storage.database import Database

M = TypeVar("M", bound=Entity)
K = TypeVar("K")
V = TypeVar("V")

Wanted = frozenset[str] | None
"""The attributes a caller will read from each row; None for all of them."""


_TAKEN = object()


class Handover(Generic[V]):
    """One caller's share of a batch, given up when taken.

    A DataLoader keeps every result it delivered until the request ends, so a
    response listing 20,000 rows held all of them until its last byte was
    written. A loader built with :func:`handed_over` (and ``cache=False``, so
    each load has exactly one caller) lets each list be freed as soon as the
    executor has written it.
    """

    __slots__ = ("_value",)

    def __init__(self, value: V) -> None:
        self._value: V | object = value

    def take(self) -> V:
        value, self._value = self._value, _TAKEN
        if value is _TAKEN:
            raise RuntimeError("this result was already taken")
        return value  # type: ignore[return-value]


def handed_over(
    load: Callable[[Sequence[K]], Awaitable[list[V]]],
) -> Callable[[Sequence[K]], Awaitable[list[Handover[V]]]]:
    """Wrap a batch function so that each caller takes (not shares) its result."""

    async def load_handed_over(keys: Sequence[K]) -> list[Handover[V]]:
        return [Handover(value) for value in await load(keys)]

    return load_handed_over


# The loaders' statements are built once, with the keys as one parameter: building a
# statement (and its cache key) per batch cost more than running it on SQLite (a fifth
# of a one-row GraphQL query, counted with callgrind).


def _one_of(column: Any, name: str, postgres: bool) -> ColumnElement[bool]:
    """``column`` equals one of the keys bound as ``name``. On PostgreSQL the keys are one
    array (``= ANY($1)``): one statement text for any number of keys, prepared once per
    connection, where an expanding ``IN`` is rewritten for each execution and makes a new
    text (a new prepared statement) for each number of keys. SQLite has no arrays."""
    condition: ColumnElement[bool] = (
        column == any_(bindparam(name, type_=ARRAY(column.type)))
        if postgres
        else column.in_(bindparam(name, expanding=True))
    )
    return condition


@cache
def _live_by_ids(model: type[Any], postgres: bool) -> Select[Any]:
    return (
        records_of(model)
        .select()
        .where(_one_of(model.id, "ids", postgres), model.deleted_at.is_(None))
    )


async def live_by_id(database: Database, model: type[M], ids: Sequence[int]) -> list[Any]:
    """The live row for each id (as a record), or None where it is missing or deleted."""
    make = records_of(model).make

    def read(connection: Connection) -> dict[int, Any]:
        result = connection.execute(_live_by_ids(model, database.postgres), {"ids": list(set(ids))})
        return {row.id: row for row in map(make, result.tuples().all())}

    found = await database.fetch(read)
    return [found.get(id_) for id_ in ids]


async def live_grouped_by(
    database: Database,
    column: InstrumentedAttribute[Any],
    keys: Sequence[tuple[int, Wanted]],
    where: ColumnElement[bool] | None = None,
) -> list[list[Any]]:
    """Live rows (as records) whose ``column`` holds each key's value, ordered by id
    (and, given ``where``, that match it).

    One statement serves the whole batch: it selects the columns any caller
    wants (and the grouping column), so each caller's rows carry at least what
    it reads.
    """
    model: Any = column.class_
    only = _columns_for(model, [wanted for _, wanted in keys], column.key)
    shape = records_of(model, only)
    values = list({value for value, _ in keys})
    make, position = shape.make, shape.position(column.key)

    def read(connection: Connection) -> dict[int, list[Any]]:
        groups: dict[int, list[Any]] = defaultdict(list)
        statement = _live_grouped(column, only, database.postgres)
        if where is not None:
            statement = statement.where(where)
        result = connection.execute(statement, {"values": values})
        # all(): the rows in one fetch; iterating a result fetches them one call at a time.
        for row in result.tuples().all():
            groups[row[position]].append(make(row))
        return groups

    groups = await database.fetch(read)
    return [groups.get(value, []) for value, _ in keys]


async def live_grouped_where(
    database: Database,
    column: InstrumentedAttribute[Any],
    keys: Sequence[tuple[int, Wanted, WhereKey]],
) -> list[list[Any]]:
    """As :func:`live_grouped_by`, each key with a where on the rows (a nested list's
    ``where``): one statement for each distinct where in the batch."""
    by_where: dict[WhereKey, list[tuple[int, Wanted]]] = defaultdict(list)
    for value, wanted, where in keys:
        by_where[where].append((value, wanted))
    found: dict[tuple[int, WhereKey], list[Any]] = {}
    for where, batch in by_where.items():
        groups = await live_grouped_by(database, column, batch, where_clause(where.where))
        for (value, _), rows in zip(batch, groups, strict=True):
            found[(value, where)] = rows
    return [list(found[(value, where)]) for value, _, where in keys]


@lru_cache(maxsize=256)
def _live_grouped(column: InstrumentedAttribute[Any], only: Wanted, postgres: bool) -> Select[Any]:
    model: Any = column.class_
    return (
        records_of(model, only)
        .select()
        .where(_one_of(column, "values", postgres), model.deleted_at.is_(None))
        .order_by(column, model.id)
    )


def _columns_for(model: type[Any], wanted: Sequence[Wanted], grouping: str) -> Wanted:
    """The union of what callers want, or None (every column) when any wants more."""
    names = {"id", grouping}
    for attributes in wanted:
        if attributes is None:
            return None
        names |= attributes
    return narrowed(model, names)


@cache
def _live_counts(column: InstrumentedAttribute[Any], postgres: bool) -> Select[Any]:
    model: Any = column.class_
    return (
        select(column, func.count())
        .where(_one_of(column, "values", postgres), model.deleted_at.is_(None))
        .group_by(column)
    )


async def live_count_grouped_by(
    database: Database, column: InstrumentedAttribute[Any], keys: Sequence[int]
) -> list[int]:
    """How many live rows hold each key in ``column``."""

    def read(connection: Connection) -> dict[int, int]:
        result = connection.execute(
            _live_counts(column, database.postgres), {"values": list(set(keys))}
        )
        return dict(result.tuples().all())

    counts = await database.fetch(read)
    return [counts.get(key, 0) for key in keys]
