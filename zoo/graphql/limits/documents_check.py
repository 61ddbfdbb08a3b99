"""``zoo documents check``: a front end's manifest checked as the server would run it.

Each document must parse, be valid against the served schema, stay within the
document limits (depth, aliases, selections, fragments, field pairs) and, each of its
operations, within the cost budget, estimated as the server estimates it before it
knows the data (lists without ``first`` at ``ZOO_LIST_SIZE_ESTIMATE``). For use in a
front end's CI: what fails here would be refused in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    parse,
    validate,
)
from strawberry import Schema

from zoo.config import Settings
from zoo.graphql.fastpath.upstream import core_schema
from zoo.graphql.limits.cost import CostEstimator
from zoo.graphql.limits.validation import DocumentLimits


@dataclass
class Checked:
    """One document: its operations' costs (by name), or why it would be refused."""

    costs: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def check_document(schema: Schema, settings: Settings, text: str) -> Checked:
    checked = Checked()
    try:
        document = parse(text)
    except GraphQLError as exc:
        checked.problems.append(f"does not parse: {exc.message}")
        return checked
    refused = DocumentLimits.of(settings).refusal(document)
    if refused is not None:
        checked.problems.append(refused.message)
        return checked
    graphql_schema = core_schema(schema)
    checked.problems += [error.message for error in validate(graphql_schema, document)]
    if checked.problems:
        return checked
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    estimator = CostEstimator(graphql_schema, fragments, {}, settings.list_size_estimate, {})
    for operation in document.definitions:
        if isinstance(operation, OperationDefinitionNode):
            name = operation.name.value if operation.name else "(anonymous)"
            cost = estimator.operation(operation)
            checked.costs[name] = cost
            if cost > settings.max_cost:
                checked.problems.append(
                    f"{name}: cost {cost} exceeds the limit of {settings.max_cost}"
                )
    return checked
