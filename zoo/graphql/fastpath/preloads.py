"""Relations of a page's nodes, loaded before the page is returned.

Each node's relation field (``exhibit.animals``, ``animal.exhibit``) would
otherwise be awaited per node: a coroutine, a future and an asyncio task for
every item of the page, only to land in the same one statement per relation.
Loaded ahead, for the whole page at once, the values are there when the nodes
are completed, so the page completes without awaiting anything.

A to-many relation field opts in with ``metadata=preloaded_by(...)``: one
statement per relation, with the columns the query reads from its rows. A
to-one relation opts in with ``metadata=joined(...)``: its rows are read by
the page's own statement (``zoo.core.joins``), each carried by its parent's
record, where the field reads it. Only what the query selects under ``edges { node { ... } }``
is loaded ahead (``graphql.page_reads`` works that out). What this does not
foresee (a directive on the way, a deeper level) is still loaded by the field
itself, as before: loading ahead changes when a statement runs, never what
the result is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from zoo.core.batch_queries import Wanted
from zoo.core.records import joined_attribute
from zoo.graphql.context import deferred
from zoo.graphql.fastpath.executor import FALLBACK

if TYPE_CHECKING:
    from zoo.graphql.context import Info, Loaders

PRELOAD = "zoo.preload"
JOIN = "zoo.join"

Preload = Callable[["Loaders", Sequence[Any], Wanted], Awaitable[object]]
"""Loads one relation for all of a page's nodes, reading ``Wanted`` from each related row."""


def preloaded_by(preload: Preload) -> Mapping[str, Preload]:
    """Field metadata: how to load this relation for a whole page of parents at once."""
    return {PRELOAD: preload}


def joined(relation: str) -> Mapping[str, str]:
    """Field metadata: read this to-one relation (the relationship ``relation`` of the
    node's model) with the page of its parents."""
    return {JOIN: relation}


NOT_JOINED: Any = object()
"""What a row that was not read with a page (or came from elsewhere) carries instead."""

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


async def preload_nodes(
    loaders: Loaders, nodes: Sequence[Any], plan: Sequence[tuple[Preload, Wanted]]
) -> None:
    """Load ahead the to-many relations selected on a connection's nodes
    (``graphql.page_reads`` tells which, from the query)."""
    if not nodes or not plan:
        return
    # A load that fails here is left for the field to meet (a loader keeps its failed
    # key; a list is loaded again): the error then lands on that field, as it would
    # have without loading ahead, instead of failing the whole page.
    await asyncio.gather(
        *(preload(loaders, nodes, wanted) for preload, wanted in plan), return_exceptions=True
    )
