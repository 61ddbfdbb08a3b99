"""Relations of a page's nodes, loaded before the page is returned.

Each node's relation field (``exhibit.animals``, ``animal.exhibit``) would
otherwise be awaited per node: a coroutine, a future and an asyncio task for
every item of the page, only to land in the same one statement per relation.
Loaded ahead, for the whole page at once, the values are there when the nodes
are completed, so the page completes without awaiting anything.

A relation field opts in with ``metadata=preloaded_by(...)``. Only what the
query selects under ``edges { node { ... } }`` is loaded ahead, with the
columns it reads. What this does not foresee (a directive on the way, a
deeper level) is still loaded by the field itself, as before: preloading
changes when a statement runs, never what the result is.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from graphql import GraphQLObjectType, get_named_type
from strawberry.types.nodes import SelectedField

from zoo.core.loaders import Wanted
from zoo.graphql.context import deferred
from zoo.graphql.execution import FALLBACK
from zoo.graphql.selection import attributes_of, strawberry_field

if TYPE_CHECKING:
    from zoo.graphql.context import Info, Loaders

PRELOAD = "zoo.preload"

Preload = Callable[["Loaders", Sequence[Any], Wanted], Awaitable[object]]
"""Loads one relation for all of a page's nodes, reading ``Wanted`` from each related row."""


def preloaded_by(preload: Preload) -> Mapping[str, Preload]:
    """Field metadata: how to load this relation for a whole page of parents at once."""
    return {PRELOAD: preload}


def preload_exhibits(loaders: Loaders, rows: Sequence[Any], _: Wanted) -> Awaitable[object]:
    """For ``exhibit`` fields: the exhibits that rows' ``exhibit_id`` name (cached by id)."""
    return loaders.exhibit_by_id.load_many({r.exhibit_id for r in rows} - {None})


def exhibit_at_once(row: Any, context: Any) -> Any:
    """For ``exhibit`` fields on the fast path: the exhibit ``preload_exhibits`` loaded,
    without awaiting; FALLBACK when it is not there yet (or its load failed)."""

    if row.exhibit_id is None:
        return None
    future = context.loaders.exhibit_by_id.cache_map.get(row.exhibit_id)
    if future is None:
        return FALLBACK
    value = deferred(future)
    return FALLBACK if value is future else value


async def preload_nodes(info: Info, nodes: Sequence[Any]) -> None:
    """Load ahead the relations selected on a connection's nodes."""
    connection_type = get_named_type(info._raw_info.return_type)
    node_type = _child_type(_child_type(connection_type, "edges"), "node")
    if not nodes or node_type is None:
        return
    loaders = info.context.loaders
    plan = preloads(node_type, info.selected_fields)
    # A load that fails here is left for the field to meet (a loader keeps its failed
    # key; a list is loaded again): the error then lands on that field, as it would
    # have without loading ahead, instead of failing the whole page.
    await asyncio.gather(
        *(preload(loaders, nodes, wanted) for preload, wanted in plan), return_exceptions=True
    )


def preloads(
    node_type: GraphQLObjectType, connections: Iterable[Any]
) -> list[tuple[Preload, Wanted]]:
    """What to load ahead for the selections of these connection fields: each relation
    that opts in, once for each response key it is selected under (each will take
    its own), with the columns read there."""
    # graphql-core merges fields that share a response key, at every level: so do we.
    nodes: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for connection in connections:
        for edges in _fields(connection.selections, "edges"):
            for node in _fields(edges.selections, "node"):
                nodes[(edges.alias or edges.name, node.alias or node.name)] += node.selections
    wanted: dict[str, list[Wanted]] = defaultdict(list)
    for selections in nodes.values():
        for name, merged in _by_response_key(selections):
            child = node_type.fields.get(name)
            if child is not None:
                wanted[name].append(attributes_of(get_named_type(child.type), merged))
    plan = []
    for name, wanted_sets in wanted.items():
        definition = strawberry_field(node_type.fields[name])
        preload = None if definition is None else definition.metadata.get(PRELOAD)
        if preload is not None:
            plan += [(preload, each) for each in wanted_sets]
    return plan


def _child_type(parent: Any, name: str) -> GraphQLObjectType | None:
    if not isinstance(parent, GraphQLObjectType) or name not in parent.fields:
        return None
    child = get_named_type(parent.fields[name].type)
    return child if isinstance(child, GraphQLObjectType) else None


def _plain(selections: Iterable[Any]) -> Iterable[SelectedField]:
    """The fields selected, through fragments; none under a directive (it may skip them)."""
    for selection in selections:
        if selection.directives:
            continue
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _plain(selection.selections)


def _fields(selections: Iterable[Any], name: str) -> Iterable[SelectedField]:
    return (field for field in _plain(selections) if field.name == name and not field.arguments)


def _by_response_key(selections: Iterable[Any]) -> Iterable[tuple[str, list[Any]]]:
    """Each field once per response key, with the selections merged as graphql-core merges them."""
    merged: dict[str, tuple[str, list[Any]]] = {}
    for field in _plain(selections):
        if field.arguments:
            continue
        _, into = merged.setdefault(field.alias or field.name, (field.name, []))
        into += field.selections
    return merged.values()
