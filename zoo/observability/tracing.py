"""OpenTelemetry traces, opt-in through the standard ``OTEL_*`` environment variables.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``)
or ``OTEL_TRACES_EXPORTER`` is set, and always off with ``OTEL_SDK_DISABLED=true``.
Off means nothing is installed: no middleware, no schema extension, no SQL event
listener, so a server without a collector pays nothing for the feature.

On, each request is a span (the ASGI instrumentation, which continues the trace of an
incoming ``traceparent``), with the request id as ``zoo.request_id``; each GraphQL
operation is a span named by its type and name, with its parse, validate and execute
steps as children; each SQL statement is a span (the SQLAlchemy instrumentation). The
exporter, sampler, batching and resource come from the SDK's own ``OTEL_*`` variables;
``OTEL_SERVICE_NAME`` defaults to ``zoo``. Spans leave through OTLP over HTTP
(protobuf), the protocol every collector accepts, or ``console`` for a look by hand.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Span, SpanKind, Tracer
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Scope
from strawberry.extensions import SchemaExtension

from zoo.observability.request_ids import request_id

TRACER_NAME = "zoo"


class TracingConfigError(ValueError):
    """The ``OTEL_*`` variables ask for something this server cannot do."""


def provider_from_environment(environ: Mapping[str, str] = os.environ) -> TracerProvider | None:
    """A tracer provider exporting where the ``OTEL_*`` variables say, or None (tracing off)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    names = [n.strip() for n in environ.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()]
    if not names:
        if not endpoint:
            return None
        names = ["otlp"]
    if names == ["none"]:
        return None
    service = environ.get("OTEL_SERVICE_NAME") or "zoo"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name, environ)))
    return provider


def _exporter(name: str, environ: Mapping[str, str]) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    if name != "otlp":
        raise TracingConfigError(
            f"OTEL_TRACES_EXPORTER={name!r}: this server exports to 'otlp' or 'console'"
        )
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    if protocol != "http/protobuf":
        raise TracingConfigError(
            f"OTLP protocol {protocol!r}: this server sends OTLP over HTTP (http/protobuf); "
            "point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's HTTP port (4318)"
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _request_id_on_span(span: Span, _scope: Scope) -> None:
    if span.is_recording():
        span.set_attribute("zoo.request_id", request_id.get())


def traced_requests(app: ASGIApp, provider: TracerProvider) -> ASGIApp:
    """A span per request, in the trace of an incoming ``traceparent``. Placed inside the
    request id middleware, so the id is known when the span starts."""
    return OpenTelemetryMiddleware(
        app,
        tracer_provider=provider,
        server_request_hook=_request_id_on_span,
        exclude_spans=["receive", "send"],
    )


def trace_statements(engine: AsyncEngine, provider: TracerProvider) -> None:
    """A span per SQL statement, as a child of whatever span is current."""
    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", tracer_provider=provider)
    usage = NoOpMeterProvider().get_meter(TRACER_NAME).create_up_down_counter("unused")
    EngineTracer(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]


class TracedOperations(SchemaExtension):
    """A span per GraphQL operation, named ``<type> <name>`` (OpenTelemetry's GraphQL
    conventions), with ``graphql.parse``, ``graphql.validate`` and ``graphql.execute``
    spans inside. Unlike strawberry's own extension, no span per resolved field: a list
    of thousands of rows would make thousands of spans and lose the fast path's gain."""

    tracer: Tracer

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        with self.tracer.start_as_current_span("GraphQL Operation", kind=SpanKind.INTERNAL) as span:
            yield
            if not span.is_recording():
                return
            # No document (it did not parse) or no such operation: no type to give.
            kind = None
            with contextlib.suppress(RuntimeError):
                kind = context.operation_type.value
            name = context.operation_name
            if kind is not None:
                span.set_attribute("graphql.operation.type", kind)
                span.update_name(f"{kind} {name}" if name else kind)
            if name:
                span.set_attribute("graphql.operation.name", name)
            if context.result is not None and context.result.errors:
                span.set_attribute("zoo.graphql.errors", len(context.result.errors))

    def on_parse(self) -> Iterator[None]:
        with self.tracer.start_as_current_span("graphql.parse"):
            yield

    def on_validate(self) -> Iterator[None]:
        with self.tracer.start_as_current_span("graphql.validate"):
            yield

    def on_execute(self) -> Iterator[None]:
        with self.tracer.start_as_current_span("graphql.execute"):
            yield


def traced_operations(provider: TracerProvider) -> type[TracedOperations]:
    """The extension class, bound to ``provider``'s tracer."""
    tracer = provider.get_tracer(TRACER_NAME)
    return type("TracedOperations", (TracedOperations,), {"tracer": tracer})
