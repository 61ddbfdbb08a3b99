"""What a field declares about itself for the layers that plan and bound a query.

A domain's types state facts (this list is sized by that column, this resolver
reads those attributes, this relation can be read without waiting); the cost
limit, the column selection and the fast path read them. Declared here, so that
a domain depends on these names and not on the layers that use them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from zoo.core.batch_queries import Wanted
from zoo.core.group_sizes import Column

SIZED_BY = "zoo.sized_by"


def sized_by(column: Column) -> Mapping[str, Column]:
    """Field metadata: this list holds the live rows of one group of ``column``."""
    return {SIZED_BY: column}


REQUIRES = "zoo.requires"


def requires(*attributes: str) -> Mapping[str, tuple[str, ...]]:
    """Field metadata: the attributes of its parent that a resolver field reads."""
    return {REQUIRES: attributes}


AT_ONCE = "zoo.at_once"

AtOnce = Callable[[Any, Any], Any]
"""A relation's value from its parent and the context, if ready at once; else FALLBACK."""


def at_once(accessor: AtOnce) -> Mapping[str, AtOnce]:
    """Field metadata: how the fast path reads this relation without awaiting it."""
    return {AT_ONCE: accessor}


PRELOAD = "zoo.preload"
JOIN = "zoo.join"

Preload = Callable[[Any, Sequence[Any], Wanted], Awaitable[object]]
"""Loads one relation for all of a page's nodes, reading ``Wanted`` from each related row."""


def preloaded_by(preload: Preload) -> Mapping[str, Preload]:
    """Field metadata: how to load this relation for a whole page of parents at once."""
    return {PRELOAD: preload}


def joined(relation: str) -> Mapping[str, str]:
    """Field metadata: read this to-one relation (the relationship ``relation`` of the
    node's model) with the page of its parents."""
    return {JOIN: relation}
