"""Validation that costs at most linear time in the document before it gets expensive.

The size limits (depth, aliases, expanded selections, fragments, field pairs)
are checked first, from figures that walk each fragment once
(``document_shape``); graphql-core's rules, some of them quadratic, only see a
document that passed. A valid document is cached by its text, so a front
end's few distinct queries are parsed and checked once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext

from zoo.config import Settings
from zoo.graphql.error_codes import BAD_REQUEST
from zoo.graphql.fastpath.upstream import core_schema, provided_operation_name
from zoo.graphql.limits.document_shape import field_pairs, measure

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

    @classmethod
    def of(cls, settings: Settings) -> DocumentLimits:
        return cls(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_selections=settings.max_selections,
            max_fragments=settings.max_fragments,
            max_field_pairs=settings.max_field_pairs,
        )

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


class DocumentCache:
    """Valid documents by query text, least recently used first out, bounded by their
    total text length.

    Only documents found valid are kept. A cache that kept every parse (as
    strawberry's parser and validation caches do, 512 entries each) let a
    client fill it with distinct refused documents: hundreds of thousands of
    long-lived AST nodes, which every full garbage collection then walked
    (normal reads' p99 went from 34 ms to 460 ms under such a flood).
    Weighing entries by length keeps a few large documents from holding as
    much as many small ones.
    """

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self.size = 0
        self.documents: OrderedDict[str, DocumentNode] = OrderedDict()

    def get(self, query: str) -> DocumentNode | None:
        document = self.documents.get(query)
        if document is not None:
            self.documents.move_to_end(query)
        return document

    def put(self, query: str, document: DocumentNode) -> None:
        if query in self.documents or len(query) > self.max_chars:
            return
        self.documents[query] = document
        self.size += len(query)
        while self.size > self.max_chars:
            evicted, _ = self.documents.popitem(last=False)
            self.size -= len(evicted)


class CheckedDocuments(SchemaExtension):
    """Strawberry's parse and validation steps, through one :class:`DocumentCache`:
    a cached document is valid, so it skips both."""

    def __init__(self, cache: DocumentCache, limits: DocumentLimits) -> None:
        self.cache = cache
        self.limits = limits
        self.cached = False

    def on_parse(self) -> Iterator[None]:
        """A cached document is handed over; any other is left to strawberry's parse, just
        after this, whose syntax error becomes the operation's error on every path (an
        error raised from an extension would break a stream off instead)."""
        context = self.execution_context
        query = context.query
        if query is not None and context.graphql_document is None:
            document = self.cache.get(query)
            self.cached = document is not None
            if document is not None:
                context.graphql_document = document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            if self.cached:
                context.pre_execution_errors = []
            else:
                refused = self.limits.refusal(document)
                errors = (
                    [refused]
                    if refused is not None
                    else validate_document(
                        core_schema(context.schema), document, context.validation_rules
                    )
                )
                context.pre_execution_errors = errors
                if not errors and context.query is not None:
                    self.cache.put(context.query, document)
            if not context.pre_execution_errors and _unnamed_choice(context, document):
                context.pre_execution_errors = [
                    _error(
                        "Must provide operation name if query contains multiple operations.",
                        BAD_REQUEST,
                    )
                ]
        yield


def _unnamed_choice(context: ExecutionContext, document: DocumentNode) -> bool:
    """Several operations and no ``operationName``: the spec refuses the request, where
    strawberry ran the first one (its ``operation_name`` falls back to the first, so the
    name the client gave is read from the field behind it)."""
    if provided_operation_name(context) is not None:
        return False
    operations = (d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return next(operations, None) is not None and next(operations, None) is not None
