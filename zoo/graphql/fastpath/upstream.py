"""Every private name of graphql-core, strawberry and uvicorn that Zoo relies on, in one place.

Zoo's speed and some of its fixes lean on upstream internals: graphql-core's list
completion, strawberry's converted schema and stream-transport choice, uvicorn's
HTTP protocol. Everything else in Zoo reaches them only through the names below,
so an upgrade has one module to read (see ``docs/upgrading.md``).

At import, :func:`check` confirms each one exists with the parameters Zoo calls it
with; if one moved, the import fails with :class:`UpstreamMoved` naming it, instead
of a wrong answer deep inside a request.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import graphql
import strawberry
import uvicorn
from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
)
from graphql import GraphQLSchema as CoreSchema
from graphql.execution.executor import CollectedErrors, Executor
from strawberry.asgi import GraphQL
from strawberry.http.streaming import HTTPStreamTransport
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import ExecutionContext
from strawberry.types.info import Info
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

__all__ = [
    "ListCompletion",
    "SchemaWithContextHook",
    "StreamChoosingView",
    "UpstreamMoved",
    "UvicornHttpProtocol",
    "accepts_any_instance",
    "core_schema",
    "is_default_resolver",
    "provided_operation_name",
    "raw_info",
    "response_in_progress",
    "status_line",
    "strawberry_field_of",
]


class UpstreamMoved(ImportError):
    """An upstream internal Zoo relies on is gone or changed its parameters."""


NOT_COMPLETED = object()
"""Returned by :meth:`ListCompletion.complete_list` to leave a list to graphql-core."""


@dataclass(frozen=True)
class Expected:
    """One internal: where it lives, and the parameter names Zoo passes or receives."""

    owner: object
    name: str
    parameters: tuple[str, ...] | None = None
    set_in_source: bool = False
    """The name is an attribute the owner (a function) sets: look for it in its source."""

    @property
    def label(self) -> str:
        owner = getattr(self.owner, "__qualname__", None) or getattr(self.owner, "__name__", "")
        module = getattr(self.owner, "__module__", None) or getattr(self.owner, "__name__", "")
        return f"{module}.{owner}.{self.name}" if owner != module else f"{module}.{self.name}"


def _field_names(cls: type) -> tuple[str, ...]:
    fields = getattr(cls, "__dataclass_fields__", {})
    return tuple(fields)


class _Fields:
    """Stands for a dataclass's fields, so that a field is checked like an attribute."""

    def __init__(self, cls: type) -> None:
        self.__name__ = cls.__name__
        self.__qualname__ = cls.__qualname__
        self.__module__ = cls.__module__
        for name in _field_names(cls):
            setattr(self, name, True)


EXPECTED = (
    # graphql-core 3.3: the executor's list completion and response (FastListExecutor).
    Expected(
        StrawberryGraphQLCoreExecutionContext,
        "complete_iterable_value",
        ("self", "item_type", "field_details_list", "info", "path", "items", "position_context"),
    ),
    Expected(StrawberryGraphQLCoreExecutionContext, "build_response", ("self", "data")),
    Expected(
        StrawberryGraphQLCoreExecutionContext,
        "collect_subfields",
        ("self", "return_type", "field_details_list"),
    ),
    Expected(
        StrawberryGraphQLCoreExecutionContext,
        "get_stream_usage",
        ("self", "field_details_list", "path"),
    ),
    Expected(StrawberryGraphQLCoreExecutionContext, "run_async_work_finished_hook", ("self",)),
    Expected(Executor.__init__, "collected_errors", set_in_source=True),
    Expected(CollectedErrors, "add", ("self", "error", "path")),
    # strawberry: the schema, info and execution context behind its public faces.
    Expected(strawberry.Schema, "_create_execution_context"),
    Expected(_Fields(Info), "_raw_info"),
    Expected(ExecutionContext.__post_init__, "_provided_operation_name", set_in_source=True),
    Expected(GraphQLCoreConverter, "DEFINITION_BACKREF"),
    Expected(GraphQL, "_stream_transport_map"),
    Expected(GraphQL, "_get_stream_transport_from_headers", ("self", "headers")),
    # uvicorn: the httptools protocol that BoundedProtocol extends.
    Expected(HttpToolsProtocol, "connection_made", ("self", "transport")),
    Expected(HttpToolsProtocol, "connection_lost", ("self", "exc")),
    Expected(HttpToolsProtocol, "data_received", ("self", "data")),
    Expected(HttpToolsProtocol, "on_message_begin", ("self",)),
    Expected(HttpToolsProtocol, "on_headers_complete", ("self",)),
    Expected(HttpToolsProtocol, "pause_writing", ("self",)),
    Expected(HttpToolsProtocol, "resume_writing", ("self",)),
    Expected(HttpToolsProtocol.__init__, "loop", set_in_source=True),
    Expected(HttpToolsProtocol.__init__, "cycle", set_in_source=True),
    Expected(HttpToolsProtocol.connection_made, "transport", set_in_source=True),
)


def check(expected: Iterable[Expected] = EXPECTED) -> None:
    """Raise :class:`UpstreamMoved` naming every internal that is missing or changed."""
    moved = []
    for item in expected:
        if item.set_in_source:
            source = inspect.getsource(item.owner)  # type: ignore[arg-type]
            if not re.search(rf"self\.{item.name}\b[^=\n]*=", source):
                moved.append(f"{item.label} is no longer set")
            continue
        found = getattr(item.owner, item.name, None)
        if found is None:
            moved.append(f"{item.label} is gone")
            continue
        if item.parameters is None:
            continue
        parameters = tuple(inspect.signature(found).parameters)
        if parameters != item.parameters:
            moved.append(f"{item.label} takes {parameters}, expected {item.parameters}")
    if moved:
        versions = (
            f"graphql-core {graphql.__version__}, strawberry-graphql "
            f"{_version('strawberry-graphql')}, uvicorn {uvicorn.__version__}"
        )
        raise UpstreamMoved(
            f"Upstream internals Zoo relies on moved ({versions}): "
            + "; ".join(moved)
            + ". See docs/upgrading.md."
        )


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


check()

_BACKREF: str = GraphQLCoreConverter.DEFINITION_BACKREF


def raw_info(info: Info[Any, Any]) -> GraphQLResolveInfo[Any]:
    """graphql-core's resolve info behind strawberry's (field nodes, return type)."""
    return info._raw_info


def core_schema(schema: strawberry.Schema) -> CoreSchema:
    """The graphql-core schema strawberry built."""
    return schema._schema


def provided_operation_name(context: ExecutionContext) -> str | None:
    """The ``operationName`` the client sent: strawberry's ``operation_name`` falls back
    to the document's first operation."""
    name: str | None = context._provided_operation_name
    return name


def strawberry_field_of(extensions: Mapping[str, Any] | None) -> Any:
    """The strawberry field a graphql-core field was made from (from its extensions)."""
    return None if extensions is None else extensions.get(_BACKREF)


def is_default_resolver(resolve: Any) -> bool:
    """Whether strawberry resolves the field with a bare attribute read."""
    return bool(getattr(resolve, "_is_default", False))


def accepts_any_instance(cls: type) -> None:
    """Drop the ``is_type_of`` check strawberry's pydantic integration adds, which
    accepts only instances of the type or its model (Zoo's resolvers return rows)."""
    cls.__strawberry_definition__.is_type_of = None  # type: ignore[attr-defined]


UvicornHttpProtocol = HttpToolsProtocol
"""uvicorn's httptools protocol, whose callbacks ``server.protocol`` extends (checked above)."""


def status_line(status: int) -> bytes:
    """uvicorn's encoded ``HTTP/1.1`` status line for ``status``, CRLF included."""
    return STATUS_LINE[status]


def response_in_progress(protocol: HttpToolsProtocol) -> bool:
    """Whether the connection is answering a request now (uvicorn's current cycle)."""
    cycle = protocol.cycle
    return cycle is not None and not cycle.response_complete


class SchemaWithContextHook(strawberry.Schema):
    """A strawberry schema that may adjust every operation's execution context where it
    is made (``prepare_context``), instead of through an extension per request."""

    def _create_execution_context(self, *args: Any, **kwargs: Any) -> ExecutionContext:
        context = super()._create_execution_context(*args, **kwargs)
        self.prepare_context(context)
        return context

    def prepare_context(self, context: ExecutionContext) -> None:
        """Adjust ``context`` (parse options, validation rules) before it is used."""


class StreamChoosingView(GraphQL[Any, None]):
    """Strawberry's ASGI view, with its choice of streaming transport made overridable
    (``stream_transport_for``) and its transports listed (``stream_transports``)."""

    def stream_transports(self) -> Iterable[HTTPStreamTransport]:
        return self._stream_transport_map.values()

    def stock_stream_transport(self, headers: Mapping[str, str]) -> HTTPStreamTransport | None:
        """Strawberry's own choice for these headers."""
        return GraphQL._get_stream_transport_from_headers(self, headers)

    def stream_transport_for(self, headers: Mapping[str, str]) -> HTTPStreamTransport | None:
        return self.stock_stream_transport(headers)

    def _get_stream_transport_from_headers(
        self, headers: Mapping[str, str]
    ) -> HTTPStreamTransport | None:
        return self.stream_transport_for(headers)


class ListCompletion(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor with two seams of Zoo's own: ``complete_list`` may complete
    a list before graphql-core does, and ``final_result`` may replace the result."""

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Any,
        items: Iterable[Any],
        position_context: Any,
    ) -> Any:
        completed = self.complete_list(item_type, field_details_list, path, items)
        if completed is not NOT_COMPLETED:
            return completed
        return super().complete_iterable_value(
            item_type, field_details_list, info, path, items, position_context
        )

    def complete_list(
        self, item_type: GraphQLOutputType, details: Any, path: Any, items: Iterable[Any]
    ) -> Any:
        """The completed list, or ``NOT_COMPLETED`` to leave it to graphql-core."""
        return NOT_COMPLETED

    def build_response(self, data: dict[str, Any] | None) -> Any:
        replaced = self.final_result(data)
        if replaced is not None:
            self.run_async_work_finished_hook()
            return replaced
        return super().build_response(data)

    def final_result(self, data: dict[str, Any] | None) -> ExecutionResult | None:
        """A result to give instead of ``data`` and its errors; None to keep them."""
        return None

    def report(self, error: GraphQLError, path: Any) -> None:
        """Add ``error`` to the result's errors, as graphql-core adds a field's error."""
        self.collected_errors.add(error, path)

    def subfields(
        self, object_type: GraphQLObjectType, details: Any, path: Any
    ) -> Mapping[str, Any] | None:
        """The fields selected on ``object_type`` by key; None where ``@stream`` or
        ``@defer`` apply (the stock path delivers those)."""
        if self.get_stream_usage(details, path) is not None:
            return None
        grouped, new_defer_usages, _ = self.collect_subfields(object_type, details)
        return None if new_defer_usages else grouped
