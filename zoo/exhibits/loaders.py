"""Exhibits as the other domains' rows reach them: by id, or read with a page of rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zoo.core.batch_queries import live_by_id
from zoo.core.records import joined_attribute
from zoo.exhibits.models import Exhibit
from zoo.graphql.context import deferred
from zoo.graphql.fastpath.executor import FALLBACK
from zoo.graphql.fastpath.preloads import NOT_JOINED
from zoo.storage.database import Database

if TYPE_CHECKING:
    from zoo.graphql.context import Info


async def exhibits_by_id(database: Database, ids: Sequence[int]) -> list[Exhibit | None]:
    return await live_by_id(database, Exhibit, ids)


_JOINED_EXHIBIT = joined_attribute("exhibit")
"""Where a page record carries the exhibit read with it (None: no live one)."""


def exhibit_of(row: Any, info: Info) -> Any:
    """For ``exhibit`` fields: the exhibit read with the row's page; else loaded by id."""
    exhibit = getattr(row, _JOINED_EXHIBIT, NOT_JOINED)
    if exhibit is not NOT_JOINED:
        return exhibit
    if row.exhibit_id is None:
        return None
    return deferred(info.context.loaders.exhibit_by_id.load(row.exhibit_id))


def exhibit_at_once(row: Any, context: Any) -> Any:
    """For ``exhibit`` fields on the fast path: the exhibit read with the row's page or
    already loaded, without awaiting; FALLBACK when it is not there (the field loads it)."""
    exhibit = getattr(row, _JOINED_EXHIBIT, NOT_JOINED)
    if exhibit is not NOT_JOINED:
        return exhibit
    if row.exhibit_id is None:
        return None
    future = context.loaders.exhibit_by_id.cache_map.get(row.exhibit_id)
    if future is None:
        return FALLBACK
    value = deferred(future)
    return FALLBACK if value is future else value
