"""A static estimate of what a query will cost, refused before anything runs.

Each field costs 1. A field with a ``first`` argument multiplies the cost of
its selection by that number, given inline or through a variable (its default
included); a connection's ``edges`` then count once, their size being
``first``. A list without ``first`` that declares ``sized_by`` (a relation such
as ``exhibit.animals``) multiplies by the largest such list in the data now;
any other list (introspection's) by a fixed estimate. Each fragment is costed
once and counts where it is spread. The estimate is cheap: one walk of the
document, no data beyond the cached group sizes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)
from opentelemetry import trace
from strawberry.extensions import SchemaExtension

from zoo.core.group_sizes import Column
from zoo.core.keyset import MAX_PAGE_SIZE
from zoo.core.where import MAX_DEPTH as MAX_WHERE_DEPTH
from zoo.graphql.fastpath.selection import strawberry_field
from zoo.graphql.fastpath.upstream import core_schema
from zoo.graphql.field_metadata import SIZED_BY
from zoo.graphql.limits.document_shape import SATURATED
from zoo.observability import metrics

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
WHERE = "where"
CONNECTION_EDGES = "edges"


def node_name(name: str) -> NameNode:
    return NameNode(value=name)


def sized_column(definition: GraphQLField) -> Column | None:
    field = strawberry_field(definition)
    return None if field is None else field.metadata.get(SIZED_BY)


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
        group_sizes: Mapping[Column, int] | None = None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.list_size = list_size
        self.group_sizes = group_sizes or {}
        self.sized: set[Column] = set()
        """The data's list sizes the estimate used (or would have, had it had them)."""
        self.defaults: dict[str, ValueNode] = {}
        self._fragment_costs: dict[str, int] = {}
        self._active: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> int:
        self.defaults = {
            d.variable.name.value: d.default_value
            for d in operation.variable_definitions or ()
            if d.default_value is not None
        }
        self._fragment_costs.clear()
        root = self.schema.get_root_type(operation.operation)
        return 0 if root is None else self.selection(root, operation.selection_set)

    def selection(self, parent: GraphQLNamedType, selection_set: SelectionSetNode) -> int:
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(parent, node)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection(inner or parent, node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                total += self.fragment(parent, node.name.value)
        return min(total, SATURATED)

    def fragment(self, parent: GraphQLNamedType, name: str) -> int:
        """A fragment's cost, worked out at its first spread and reused at the others."""
        known = self._fragment_costs.get(name)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or name in self._active:
            return 0
        self._active.add(name)
        condition = self.schema.get_type(fragment.type_condition.name.value)
        cost = self.selection(condition or parent, fragment.selection_set)
        self._active.discard(name)
        self._fragment_costs[name] = cost
        return cost

    def field(self, parent: GraphQLNamedType, node: FieldNode) -> int:
        definition: GraphQLField | None = (
            parent.fields.get(node.name.value)
            if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType))
            else None
        )
        if definition is None or node.selection_set is None:
            return 1
        child, is_list = _unwrap(definition.type)
        inner = self.selection(child, node.selection_set) + self.where(node, definition)
        return min(1 + self.multiplier(node, definition, is_list) * inner, SATURATED)

    def where(self, node: FieldNode, definition: GraphQLField) -> int:
        """What a ``where`` argument reads for each row it is tested on: a relation filter
        reads the related rows (to-many: the largest such list in the data; to-one: one)
        and what their own filters read; conditions on columns read nothing more."""
        argument = definition.args.get(WHERE)
        given = next((a.value for a in node.arguments or () if a.name.value == WHERE), None)
        if argument is None or given is None:
            return 0
        value = value_from_ast_untyped(given, dict(self.variables))
        input_type = get_named_type(argument.type)
        return self._where_reads(input_type, value, 0) if isinstance(value, dict) else 0

    def _where_reads(self, input_type: Any, value: Any, depth: int) -> int:
        if not isinstance(value, dict) or not isinstance(input_type, GraphQLInputObjectType):
            return 0
        if depth > MAX_WHERE_DEPTH:  # refused when the field runs; here, the most it reads
            return SATURATED
        target = self.schema.get_type(input_type.name.removesuffix("Where"))
        total = 0
        for name, item in value.items():
            field = input_type.fields.get(name)
            if field is None:
                continue
            field_type = get_named_type(field.type)
            items = item if isinstance(item, list) else [item]
            if not isinstance(field_type, GraphQLInputObjectType):
                continue
            if field_type.name.endswith("Where"):
                # and/or/not (the same type: no rows of their own) or a to-one relation.
                reads = 0 if field_type is input_type else 1
                total += sum(reads + self._where_reads(field_type, i, depth + 1) for i in items)
                continue
            related = target.fields.get(name) if isinstance(target, GraphQLObjectType) else None
            if related is None:
                continue
            rows = self.multiplier(FieldNode(name=node_name(name)), related, True)
            for side in ("some", "none"):
                side_type = field_type.fields.get(side)
                if side_type is not None and isinstance(item, dict) and side in item:
                    nested = self._where_reads(
                        get_named_type(side_type.type), item[side], depth + 1
                    )
                    total += rows * (1 + nested)
        return min(total, SATURATED)

    def multiplier(self, node: FieldNode, definition: GraphQLField, is_list: bool) -> int:
        if "first" in definition.args:
            # A `first` out of range is refused when the field runs, with the contract's
            # BAD_USER_INPUT; here it counts as the largest page it could be.
            return min(max(self._first(node, definition), 1), MAX_PAGE_SIZE)
        if not is_list or node.name.value == CONNECTION_EDGES:
            return 1
        column = sized_column(definition)
        if column is not None:
            self.sized.add(column)
            if column in self.group_sizes:
                return max(self.group_sizes[column], 1)
        return self.list_size

    def _first(self, node: FieldNode, definition: GraphQLField) -> int:
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value: ValueNode | None = argument.value
            if isinstance(value, VariableNode):
                name = value.name.value
                if name in self.variables:
                    given = self.variables[name]
                    if isinstance(given, int) and not isinstance(given, bool):
                        return given
                    if given is not None:
                        return MAX_PAGE_SIZE
                    break
                value = self.defaults.get(name)
                if value is None:
                    break
            if isinstance(value, IntValueNode):
                return int(value.value)
            if value is not None and value.kind != "null_value":
                return MAX_PAGE_SIZE
            break
        default = definition.args["first"].default_value
        return default if isinstance(default, int) else self.list_size


class QueryCost(SchemaExtension):
    """Refuses (``QUERY_TOO_COMPLEX``, with the cost) an operation over the budget.

    Every estimate is also a histogram sample and an attribute of the validation span;
    with ``show``, an operation that runs answers ``extensions.cost {requested, limit}``,
    so that a front end's developers see how near the limit a query is before
    production refuses it.
    """

    def __init__(self, max_cost: int, list_size: int, show: bool = False) -> None:
        self.max_cost = max_cost
        self.list_size = list_size
        self.show = show
        self.cost: int | None = None

    def get_results(self) -> dict[str, Any]:
        if not self.show or self.cost is None or self.cost > self.max_cost:
            return {}
        return {"cost": {"requested": self.cost, "limit": self.max_cost}}

    async def on_validate(self) -> AsyncIterator[None]:
        """Checked in the validation step, after validation itself.

        Strawberry runs the validation hooks of every request anyway; a hook
        around execution of its own cost about 4 % of executing a small query.
        Placed after ``CheckedDocuments``, this sees a document already found
        valid (an empty error list) or invalid (then it leaves the errors be).
        """
        context = self.execution_context
        if context.graphql_document is not None and not context.pre_execution_errors:
            services = getattr(context.context, "services", None)
            # Only a document with a list the data sizes reads the sizes: a mutation's
            # answer, or pages with `first`, read none.
            sized = self._check({}, final=services is None)
            if sized and services is not None:
                self._check(await services.group_sizes.largest(sized), final=True)
        yield

    def _check(self, group_sizes: Mapping[Column, int], final: bool) -> set[Column]:
        """Refuse the operation if its estimate is over the budget (unless not ``final``
        and it has lists the data sizes, which ``group_sizes`` lacks); return those."""
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        estimator = CostEstimator(
            core_schema(context.schema),
            fragments,
            context.variables or {},
            self.list_size,
            group_sizes,
        )
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        chosen = [
            op
            for op in operations
            if context.operation_name is None
            or (op.name is not None and op.name.value == context.operation_name)
        ]
        cost = max((estimator.operation(op) for op in chosen), default=0)
        if final or not estimator.sized:
            self.cost = cost
            metrics.OPERATION_COST.observe(cost)
            trace.get_current_span().set_attribute("zoo.graphql.cost", cost)
        if cost > self.max_cost and (final or not estimator.sized):
            message = f"Query cost {cost} exceeds the limit of {self.max_cost}"
            context.pre_execution_errors = [
                GraphQLError(
                    message,
                    extensions={"code": QUERY_TOO_COMPLEX, "cost": cost, "maxCost": self.max_cost},
                )
            ]
        return estimator.sized
