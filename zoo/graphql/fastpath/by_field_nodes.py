"""Work done once per field of a query document, kept for every request that sends it.

The document cache hands out the same parsed nodes for the same query text, so
what depends only on a field's nodes (the executor's list plans, a page's
reads) can be worked out once and found again by the nodes' identities. The
nodes are kept alive beside the value, so that their ids are not reused by
another document's nodes while the entry is kept; past ``limit`` entries, all
are forgotten (front ends send few distinct documents).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class ByFieldNodes(Generic[V]):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.entries: dict[tuple[Hashable, ...], tuple[Sequence[Any], V]] = {}

    def get(
        self, nodes: Sequence[Any], extra: tuple[Hashable, ...], work_out: Callable[[], V]
    ) -> V:
        """The value for these field nodes (and ``extra``), worked out on first use."""
        key = (*extra, *map(id, nodes))
        entry = self.entries.get(key)
        if entry is None:
            if len(self.entries) >= self.limit:
                self.entries.clear()
            entry = self.entries[key] = (list(nodes), work_out())
        return entry[1]
