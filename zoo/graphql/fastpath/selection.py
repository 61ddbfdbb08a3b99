"""Which attributes of a list's items a query reads, so that loaders fetch only those.

A plain field reads the attribute of its own name. A field with a resolver
reads whatever its resolver reads, which only the resolver knows: it says so
with ``metadata=requires(...)``. A field that does not say makes the list
load every column, so that forgetting costs speed, never correctness.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphql import GraphQLField, GraphQLObjectType, get_named_type
from strawberry.types.field import StrawberryField
from strawberry.types.nodes import SelectedField

from zoo.core.batch_queries import Wanted
from zoo.graphql.context import Info
from zoo.graphql.fastpath.upstream import raw_info, strawberry_field_of
from zoo.graphql.field_metadata import REQUIRES


def strawberry_field(field: GraphQLField | None) -> StrawberryField | None:
    """The strawberry field a graphql-core field was made from (its resolver, metadata)."""
    return None if field is None else strawberry_field_of(field.extensions)


def read_attributes(info: Info) -> Wanted:
    """The attributes the query reads from each item of this (list) field.

    Worked out once per field of the query in a request, not once per parent.
    """
    nodes = raw_info(info).field_nodes
    key = tuple(map(id, nodes))
    cache = info.context.read_attributes
    if key not in cache:
        item_type = get_named_type(raw_info(info).return_type)
        selections = [s for field in info.selected_fields for s in field.selections]
        cache[key] = attributes_of(item_type, selections)
    return cache[key]


def attributes_of(object_type: Any, selections: Iterable[Any]) -> Wanted:
    """What ``selections`` read from an object of ``object_type``; None for every column."""
    if not isinstance(object_type, GraphQLObjectType):
        return None
    names: set[str] = set()
    pending = list(selections)
    while pending:
        selection = pending.pop()
        if not isinstance(selection, SelectedField):
            pending += selection.selections  # a fragment spread or an inline fragment
            continue
        if selection.name == "__typename":
            continue
        definition = strawberry_field(object_type.fields.get(selection.name))
        if definition is None:
            return None
        if definition.base_resolver is None:
            # An attribute read, behind permission checks or not.
            names.add(definition.python_name)
            continue
        needed = definition.metadata.get(REQUIRES)
        if needed is None:
            return None
        names.update(needed)
    return frozenset(names)
