"""A bound on the list items one operation completes, whichever executor completes them.

Every list completed counts its items against the context's ``max_items``
(``ZOO_MAX_RESPONSE_ITEMS``). Past it, every later list completes empty and the
operation ends with one ``RESPONSE_TOO_LARGE`` error and no data: a guard on the
work actually done, which holds when the static cost estimate was wrong (a list
grew since its size was read), with the fast list path on or off.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphql import ExecutionResult, GraphQLError, GraphQLOutputType

from zoo.graphql.fastpath.upstream import NOT_COMPLETED, ListCompletion

RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"


class ItemLimitedExecutor(ListCompletion):
    """graphql-core's executor, counting list items against the context's ``max_items``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._max_items: int | None = getattr(self.context_value, "max_items", None)
        self._items = 0

    @property
    def over_item_limit(self) -> bool:
        return self._max_items is not None and self._items > self._max_items

    def complete_list(
        self, item_type: GraphQLOutputType, details: Any, path: Any, items: Iterable[Any]
    ) -> Any:
        if self._max_items is not None and isinstance(items, (list, tuple)):
            self._items += len(items)
            if self._items > self._max_items:
                # The data is dropped (``final_result``): stop completing lists,
                # without an error on each that a raise would cost.
                return []
        return NOT_COMPLETED

    def final_result(self, data: dict[str, Any] | None) -> ExecutionResult | None:
        """Past the item limit, one error and no data: the partial data would be
        arbitrary, and the same error repeated on every list cut short."""
        if not self.over_item_limit:
            return None
        error = GraphQLError(
            f"The response would hold more than {self._max_items} list items; "
            "ask for less (pages with `first`, fewer nested lists)",
            extensions={"code": RESPONSE_TOO_LARGE, "maxItems": self._max_items},
        )
        return ExecutionResult(None, [error])
