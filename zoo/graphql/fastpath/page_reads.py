"""What a query reads from a connection's page, worked out once per document.

A page's statement selects only the columns its nodes' selections read, the
relations selected on its nodes are loaded ahead (``graphql.preload``), and
its cursors are encoded only when an edge's ``cursor`` is selected. All three
depend on the document alone, not on its variables: a selection under
``@include`` or ``@skip`` counts as read for columns and cursors (reading
more is harmless), and is left to its field for loading ahead. So they are
worked out once per connection field of a document and shared by every
request that sends it, as the executor's list plans are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLObjectType, get_named_type
from strawberry.types.field import StrawberryField
from strawberry.types.nodes import SelectedField

from zoo.core.batch_queries import Wanted
from zoo.core.entity_service import Relations
from zoo.graphql.context import Info
from zoo.graphql.fastpath.by_field_nodes import ByFieldNodes
from zoo.graphql.fastpath.selection import attributes_of, strawberry_field
from zoo.graphql.fastpath.upstream import raw_info
from zoo.graphql.field_metadata import JOIN, PRELOAD, Preload

SHARED = 1024
"""Connection fields whose reads are kept: front ends send few distinct documents."""


@dataclass(frozen=True, slots=True)
class PageReads:
    columns: Wanted
    """What the query reads from each node (None: every column)."""
    preloads: tuple[tuple[Preload, Wanted], ...]
    """The to-many relations to load ahead, each with the columns read from its rows."""
    joins: Relations
    """The to-one relations to read with the page, each with what is read from its rows
    (as ``EntityService.list`` takes them)."""
    cursors: bool
    """Some edge's ``cursor`` is selected."""


_EVERYTHING = PageReads(None, (), (), True)
"""For a connection whose node type cannot be told: read all, load nothing ahead."""

_shared: ByFieldNodes[PageReads] = ByFieldNodes(SHARED)


def page_reads(info: Info) -> PageReads:
    """What the query reads from the page of the connection field being resolved."""
    raw = raw_info(info)
    return _shared.get(raw.field_nodes, (id(raw.return_type),), lambda: _work_out(info))


def _work_out(info: Info) -> PageReads:
    connection_type = get_named_type(raw_info(info).return_type)
    edge_type = _child_type(connection_type, "edges")
    node_type = _child_type(edge_type, "node")
    if node_type is None:
        return _EVERYTHING
    connections = info.selected_fields
    edges = [edge for field in connections for edge in _every(field.selections, "edges")]
    nodes = [node for edge in edges for node in _every(edge.selections, "node")]
    return PageReads(
        columns=attributes_of(node_type, [s for node in nodes for s in node.selections]),
        preloads=tuple(preloads(node_type, connections)),
        joins=tuple(joins(node_type, connections, nodes)),
        cursors=any(True for edge in edges for _ in _every(edge.selections, "cursor")),
    )


def preloads(
    node_type: GraphQLObjectType, connections: Iterable[Any]
) -> list[tuple[Preload, Wanted]]:
    """What to load ahead for the selections of these connection fields: each to-many
    relation that opts in, once for each response key it is selected under (each will
    take its own), with the columns read there."""
    plan = []
    for _, definition, wanted_sets in _relations(node_type, connections):
        preload = definition.metadata.get(PRELOAD)
        if preload is not None:
            plan += [(preload, each) for each in wanted_sets]
    return plan


def joins(
    node_type: GraphQLObjectType, connections: Iterable[Any], nodes: Iterable[SelectedField]
) -> list[tuple[str, Wanted]]:
    """The to-one relations that opt in to be read with the page, each once, sorted (the
    service keeps a statement per set), with what every selection of its field on
    ``nodes`` reads, under a directive too: the row read with the page is what each of
    them gets."""
    fields = {
        definition.metadata[JOIN]: name
        for name, definition, _ in _relations(node_type, connections)
        if JOIN in definition.metadata
    }
    return [
        (relation, _read_from(node_type, fields[relation], nodes)) for relation in sorted(fields)
    ]


def _read_from(node_type: GraphQLObjectType, name: str, nodes: Iterable[SelectedField]) -> Wanted:
    selections = [s for node in nodes for f in _every(node.selections, name) for s in f.selections]
    return attributes_of(get_named_type(node_type.fields[name].type), selections)


def _relations(
    node_type: GraphQLObjectType, connections: Iterable[Any]
) -> Iterable[tuple[str, StrawberryField, list[Wanted]]]:
    """The fields selected on the nodes (not under a directive, which may skip them),
    each by name, with what is read from it under each response key."""
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
    for name, wanted_sets in wanted.items():
        definition = strawberry_field(node_type.fields[name])
        if definition is not None:
            yield name, definition, wanted_sets


def _child_type(parent: Any, name: str) -> GraphQLObjectType | None:
    if not isinstance(parent, GraphQLObjectType) or name not in parent.fields:
        return None
    child = get_named_type(parent.fields[name].type)
    return child if isinstance(child, GraphQLObjectType) else None


def _every(selections: Iterable[Any], name: str) -> Iterable[SelectedField]:
    """The fields named ``name``, through fragments, whatever their directives."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            if selection.name == name:
                yield selection
        else:
            yield from _every(selection.selections, name)


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
