"""Validation that costs at most linear time in the document before it gets expensive.

The size limits (depth, aliases, expanded selections, fragments, field pairs)
are checked first, from figures that walk each fragment once
(``document_shape``); graphql-core's rules, some of them quadratic, only see a
document that passed. Both steps are cached per document, so a front end's few
distinct queries are checked once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from zoo.graphql.document_shape import field_pairs, measure

QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
QUERY_TOO_LARGE = "QUERY_TOO_LARGE"


@dataclass(frozen=True)
class DocumentLimits:
    max_depth: int
    max_aliases: int
    max_selections: int
    """Field selections and fragment spreads, each once every fragment is expanded."""
    max_fragments: int
    max_field_pairs: int
    """Pairs of fields merged under one response path, which the overlap rule compares."""

    def refusal(self, document: DocumentNode) -> GraphQLError | None:
        shape = measure(document)
        if shape.depth > self.max_depth:
            return _error(
                f"Query exceeds maximum operation depth of {self.max_depth}",
                QUERY_TOO_DEEP,
                depth=shape.depth,
                maxDepth=self.max_depth,
            )
        if shape.aliases > self.max_aliases:
            return _error(
                f"{shape.aliases} aliases found. Allowed: {self.max_aliases}",
                TOO_MANY_ALIASES,
            )
        if shape.fragments > self.max_fragments:
            return _error(
                f"Query defines {shape.fragments} fragments; the limit is {self.max_fragments}",
                QUERY_TOO_LARGE,
            )
        selections = max(shape.fields, shape.spreads)
        if selections > self.max_selections:
            return _error(
                f"Query makes {selections} selections once its fragments are expanded; "
                f"the limit is {self.max_selections}",
                QUERY_TOO_LARGE,
            )
        pairs = field_pairs(document)
        if pairs > self.max_field_pairs:
            return _error(
                f"Query selects the same fields too many times over ({pairs} pairs to "
                f"compare; the limit is {self.max_field_pairs})",
                QUERY_TOO_LARGE,
            )
        return None


def _error(message: str, code: str, **details: int) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **details})


Validate = Callable[
    [GraphQLSchema, DocumentNode, tuple[type[ASTValidationRule], ...]], list[GraphQLError]
]


def cached_validation(limits: DocumentLimits, maxsize: int) -> Validate:
    @lru_cache(maxsize=maxsize)
    def validate(
        schema: GraphQLSchema,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError]:
        refused = limits.refusal(document)
        if refused is not None:
            return [refused]
        return validate_document(schema, document, rules)

    return validate


class LimitedValidation(SchemaExtension):
    """Strawberry's validation step, through :func:`cached_validation`."""

    def __init__(self, validate: Validate) -> None:
        self.validate = validate

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.pre_execution_errors is None:
            context.pre_execution_errors = self.validate(
                context.schema._schema, context.graphql_document, context.validation_rules
            )
        yield
