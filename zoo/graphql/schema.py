"""The root schema: each domain contributes its Query and Mutation parts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError, get_operation_ast, parse
from opentelemetry.sdk.trace import TracerProvider
from strawberry.extensions import DisableIntrospection, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES, StreamResult
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from zoo.animals.operations import AnimalMutation, AnimalQuery, AnimalSubscription
from zoo.auth.operations import UserMutation, UserQuery
from zoo.config import Settings
from zoo.exhibits.operations import ExhibitMutation, ExhibitQuery, ExhibitSubscription
from zoo.graphql.error_codes import format_errors
from zoo.graphql.fastpath.executor import FastListExecutor
from zoo.graphql.fastpath.upstream import SchemaWithContextHook
from zoo.graphql.limits.cost import QueryCost
from zoo.graphql.limits.response_size import ItemLimitedExecutor
from zoo.graphql.limits.validation import CheckedDocuments, DocumentCache, DocumentLimits
from zoo.history.operations import HistoryQuery
from zoo.observability.operations import observed_stream, operation_of
from zoo.observability.tracing import traced_operations
from zoo.staff.operations import StaffMutation, StaffQuery, StaffSubscription

DOCUMENT_CACHE_CHARS = 1_000_000
"""Total length of the valid query documents remembered, parsed and checked (front ends
send few distinct ones, of a few kilobytes each)."""


@strawberry.type
class Query(ExhibitQuery, AnimalQuery, StaffQuery, UserQuery, HistoryQuery):
    pass


@strawberry.type
class Mutation(ExhibitMutation, AnimalMutation, StaffMutation, UserMutation):
    pass


@strawberry.type
class Subscription(AnimalSubscription, ExhibitSubscription, StaffSubscription):
    pass


class ZooSchema(SchemaWithContextHook):
    show_error_details = False
    documents: DocumentCache | None = None
    max_tokens: int | None = None
    validation_rules: tuple[type[ASTValidationRule], ...] = ()
    slow_operation_ms: float = 1000.0

    def prepare_context(self, context: ExecutionContext) -> None:
        """The token limit and extra rules, set where every operation's context is made.

        Strawberry's ``MaxTokensLimiter`` and ``AddValidationRules`` set the same two
        values from an extension object built per request, whose hooks cost about
        3 % of a small query; these settings never change after start-up.
        """
        if self.max_tokens is not None:
            context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules += self.validation_rules

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """One result, so never a subscription: run as a query, its event stream became
        a null and an internal error. It is refused (``InvalidOperationTypeError``),
        and the view names the transports that stream."""
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> StreamResult:
        """What every stream carries (a WebSocket's operations, SSE and multipart) is
        observed as the view observes plain HTTP (``graphql.observed``)."""
        results = await super().stream(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            operation_extensions,
            allowed_operation_types,
        )
        kind, name = operation_of(query, operation_name)
        return observed_stream(results, kind, name, self.slow_operation_ms)  # type: ignore[return-value]

    def operation_type(self, query: str | None, operation_name: str | None) -> OperationType | None:
        """The type of the operation a request would run, before it runs; None when its
        text does not parse (under the token limit) or names no one operation."""
        if not query:
            return None
        document = self.documents.get(query) if self.documents is not None else None
        if document is None:
            try:
                document = parse(query, max_tokens=self.max_tokens)
            except GraphQLError:
                return None
        operation = get_operation_ast(document, operation_name)
        return None if operation is None else OperationType(operation.operation.value)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Give every error its code; unexpected ones are logged there, once each."""
        format_errors(errors, show_details=self.show_error_details)


def build_schema(
    settings: Settings | None = None,
    *,
    fast_lists: bool | None = None,
    tracer_provider: TracerProvider | None = None,
) -> ZooSchema:
    """The schema with the limits of ``settings``.

    ``fast_lists``: the fast list executor (``graphql.fastpath``), by default as
    ``ZOO_FAST_LISTS`` says; off, graphql-core completes every list (the item limit
    holds either way).
    With a ``tracer_provider``, each operation is a span (``zoo.observability.tracing``).
    """
    settings = settings or Settings()
    if fast_lists is None:
        fast_lists = settings.fast_lists
    # The extra rules are made once: the validation cache is keyed by the rule classes.
    rules: tuple[type[ASTValidationRule], ...] = ()
    if not settings.introspection_enabled:
        rules += tuple(DisableIntrospection().validation_rules)
    limits = DocumentLimits.of(settings)
    documents = DocumentCache(DOCUMENT_CACHE_CHARS)
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: CheckedDocuments(documents, limits),
        lambda: QueryCost(
            settings.max_cost, settings.list_size_estimate, settings.cost_in_extensions_enabled
        ),
    ]
    if tracer_provider is not None:
        # First, so that its operation span holds the other extensions' work too.
        extensions.insert(0, traced_operations(tracer_provider))
    built = ZooSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=FastListExecutor if fast_lists else ItemLimitedExecutor,
        config=StrawberryConfig(disable_field_suggestions=not settings.field_suggestions_enabled),
    )
    built.show_error_details = settings.show_error_details
    built.max_tokens = settings.max_tokens
    built.validation_rules = rules
    built.documents = documents
    built.slow_operation_ms = settings.slow_operation_ms
    return built


schema = build_schema(Settings(env="development"))
"""The schema as exported to ``schema.graphql``."""
