"""Relay-style connections over the services' keyset pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from zoo.core.batch_queries import Wanted
from zoo.core.entity_service import Relations
from zoo.core.keyset import Page
from zoo.graphql.context import Info, deferred
from zoo.graphql.fastpath.page_reads import page_reads
from zoo.graphql.fastpath.preloads import preload_nodes

Node = TypeVar("Node")


Known = bool | Callable[[], Awaitable[bool]]
"""Known from the rows read, or found out by a statement only if the query asks."""


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    next_known: strawberry.Private[Known]
    previous_known: strawberry.Private[Known]
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last edge: pass it as `after` for the next page."
    )

    @strawberry.field(description="More rows follow this page (before `before`, if given).")
    def has_next_page(self) -> bool:
        return _known(self.next_known)

    @strawberry.field(
        description="Rows precede this page (after `after`, if given). Exact both ways."
    )
    def has_previous_page(self) -> bool:
        return _known(self.previous_known)


def _known(value: Known) -> bool:
    """The value, or (graphql-core awaits what a resolver returns) the check's awaitable."""
    return value if isinstance(value, bool) else deferred(value())


@strawberry.type
class Edge(Generic[Node]):
    cursor: str = strawberry.field(description="Opaque position of this node in the list.")
    node: Node


@strawberry.type
class Connection(Generic[Node]):
    edges: list[Edge[Node]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Rows matching the filter, across all pages.")
    async def total_count(self) -> int:
        """Counted only when selected: the count is a query of its own."""
        return await self.count()

    @classmethod
    async def of_page(
        cls, info: Info, page: Page[Node], count: Callable[[], Awaitable[int]]
    ) -> Connection[Node]:
        """The page as a connection, with the relations selected on its nodes loaded
        ahead (``graphql.preload``), so that no node awaits its own.

        Each edge's cursor is encoded only when the query selects one
        (``graphql.page_reads``); otherwise nothing reads it.
        """
        reads = page_reads(info)
        items = page.items
        await preload_nodes(info.context.loaders, items, reads.preloads)
        if reads.cursors:
            edges = [Edge(cursor=page.cursor(node), node=node) for node in items]
        else:
            edges = [Edge(cursor=_UNREAD, node=node) for node in items]
        return cls(
            edges=edges,
            page_info=PageInfo(
                next_known=page.has_next_page,
                previous_known=page.has_previous_page,
                start_cursor=page.cursor(items[0]) if items else None,
                end_cursor=page.cursor(items[-1]) if items else None,
            ),
            count=count,
        )


def node_reads(info: Info) -> tuple[Wanted, Relations]:
    """What the query reads from each node of the connection being resolved: the
    columns and the relations its page reads (``EntityService.list``)."""
    reads = page_reads(info)
    return reads.columns, reads.joins


_UNREAD: Any = None
"""An edge's cursor that the query does not select. Were it read after all, the
non-null ``cursor`` field would fail loudly, never answer a wrong cursor."""
