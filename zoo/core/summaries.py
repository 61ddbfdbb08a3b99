"""Summaries for dashboards: a list's live rows counted whole and by group.

Each group list is one ``GROUP BY`` statement; a request that asks for the same list
twice (or the same count) gets it from one statement, through the request's loader
(:func:`load_summaries`). Groups come by count, largest first, then by key (a null
key, such as an unknown species, is a group of its own, after the others); months
come newest first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from zoo.core.where import Where, WhereKey

MAX_GROUPS = 100


class year_month(FunctionElement[str]):  # noqa: N801 (a SQL function's spelling)
    """``YYYY-MM`` of a UTC timestamp, alike on both databases."""

    type = String()
    inherit_cache = True


@compiles(year_month)
def _year_month_sqlite(element: year_month, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC timestamps as ISO text: 'YYYY-MM-DD HH:MM:SS...'.
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 7)"


@compiles(year_month, "postgresql")
def _year_month_postgresql(element: year_month, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"


@dataclass(frozen=True)
class Grouping:
    """A way to group a list's rows: the key each row falls under."""

    key: Callable[[Any], ColumnElement[Any]]
    """The key's SQL expression, given the entity's model."""
    newest_first: bool = False
    """Order by the key, descending (months), rather than by count."""


@dataclass(frozen=True)
class SummaryRequest:
    """One count or group list of one request: a loader's key. Two alike (the same
    service, grouping, where and size) are one statement."""

    service: Any
    grouping: str | None
    """None: the count of the matching rows."""
    where: WhereKey | None
    first: int = 0


def summary_request(
    service: Any, grouping: str | None, where: Where | None, first: int = 0
) -> SummaryRequest:
    return SummaryRequest(service, grouping, None if where is None else WhereKey.of(where), first)


async def load_summaries(requests: Sequence[SummaryRequest]) -> list[Any]:
    """Each distinct request's statement, run side by side."""

    async def one(request: SummaryRequest) -> Any:
        where = None if request.where is None else request.where.where
        if request.grouping is None:
            return await request.service.count(None, where)
        return await request.service.group_counts(request.grouping, where, request.first)

    return list(await asyncio.gather(*(one(request) for request in requests)))
