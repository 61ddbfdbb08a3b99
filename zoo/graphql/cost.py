"""A static estimate of what a query will cost, refused before anything runs.

Each field costs 1. A field with a ``first`` argument multiplies the cost of
its selection by that number (a connection's ``edges`` then count once, their
size being ``first``); any other list field multiplies by an estimate of its
size. Fragments count where they are spread. The estimate is an upper bound
in the usual case and cheap: one walk of the document, no data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension

from zoo.core.pagination import MAX_PAGE_SIZE

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
CONNECTION_EDGES = "edges"


def _unwrap(type_: GraphQLOutputType) -> tuple[GraphQLNamedType, bool]:
    is_list = False
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        is_list = is_list or isinstance(type_, GraphQLList)
        type_ = type_.of_type
    return type_, is_list


class CostEstimator:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        list_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.list_size = list_size

    def operation(self, operation: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        return 0 if root is None else self.selection(root, operation.selection_set, frozenset())

    def selection(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode, seen: frozenset[str]
    ) -> int:
        return sum(
            self.field(parent, node, seen) for node in self._fields(parent, selection_set, seen)
        )

    def _fields(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode, seen: frozenset[str]
    ) -> Iterator[FieldNode]:
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                yield node
            elif isinstance(node, InlineFragmentNode):
                yield from self._fields(parent, node.selection_set, seen)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    yield from self._fields(parent, fragment.selection_set, seen | {name})

    def field(self, parent: GraphQLNamedType, node: FieldNode, seen: frozenset[str]) -> int:
        definition: GraphQLField | None = (
            parent.fields.get(node.name.value) if isinstance(parent, GraphQLObjectType) else None
        )
        if definition is None or node.selection_set is None:
            return 1
        child, is_list = _unwrap(definition.type)
        inner = self.selection(child, node.selection_set, seen)
        return 1 + self.multiplier(node, definition, is_list) * inner

    def multiplier(self, node: FieldNode, definition: GraphQLField, is_list: bool) -> int:
        if "first" in definition.args:
            # A `first` out of range is refused when the field runs, with the contract's
            # BAD_USER_INPUT; here it counts as the largest page it could be.
            return min(max(self._first(node, definition), 1), MAX_PAGE_SIZE)
        if not is_list or node.name.value == CONNECTION_EDGES:
            return 1
        return self.list_size

    def _first(self, node: FieldNode, definition: GraphQLField) -> int:
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                if isinstance(given, int) and not isinstance(given, bool):
                    return given
                break
            return 0
        default = definition.args["first"].default_value
        return default if isinstance(default, int) else self.list_size


class QueryCost(SchemaExtension):
    """Refuses (``QUERY_TOO_COMPLEX``, with the cost) an operation over the budget."""

    def __init__(self, max_cost: int, list_size: int) -> None:
        self.max_cost = max_cost
        self.list_size = list_size

    def on_validate(self) -> Iterator[None]:
        """Checked in the validation step, after the validation cache's own check.

        Strawberry runs the validation hooks of every request anyway; a hook
        around execution of its own cost about 4 % of executing a small query.
        Placed after ``ValidationCache``, this sees a document already found
        valid (an empty error list) or invalid (then it leaves the errors be).
        """
        self._check()
        yield

    def _check(self) -> None:
        context = self.execution_context
        document = context.graphql_document
        if document is None or context.pre_execution_errors:
            return
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        estimator = CostEstimator(
            context.schema._schema, fragments, context.variables or {}, self.list_size
        )
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        chosen = [
            op
            for op in operations
            if context.operation_name is None
            or (op.name is not None and op.name.value == context.operation_name)
        ]
        cost = max((estimator.operation(op) for op in chosen), default=0)
        if cost > self.max_cost:
            message = f"Query cost {cost} exceeds the limit of {self.max_cost}"
            context.pre_execution_errors = [
                GraphQLError(
                    message,
                    extensions={"code": QUERY_TOO_COMPLEX, "cost": cost, "maxCost": self.max_cost},
                )
            ]
