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
is loaded ahead (``page_reads`` works that out). What this does not
foresee (a directive on the way, a deeper level) is still loaded by the field
itself, as before: loading ahead changes when a statement runs, never what
the result is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from zoo.core.batch_queries import Wanted
from zoo.graphql.field_metadata import Preload

NOT_JOINED: Any = object()
"""What a row that was not read with a page (or came from elsewhere) carries instead."""


async def preload_nodes(
    loaders: Any, nodes: Sequence[Any], plan: Sequence[tuple[Preload, Wanted]]
) -> None:
    """Load ahead the to-many relations selected on a connection's nodes
    (``page_reads`` tells which, from the query)."""
    if not nodes or not plan:
        return
    # A load that fails here is left for the field to meet (a loader keeps its failed
    # key; a list is loaded again): the error then lands on that field, as it would
    # have without loading ahead, instead of failing the whole page.
    await asyncio.gather(
        *(preload(loaders, nodes, wanted) for preload, wanted in plan), return_exceptions=True
    )
