"""OpenTelemetry traces: the span tree of one request (HTTP, GraphQL operation and its
steps, SQL statements), an incoming ``traceparent`` continued; off unless ``OTEL_*``
asks; and spans reaching a real OTLP/HTTP endpoint from ``zoo serve``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.support import factories
from tests.support.databases import dispose
from tests.support.servers import zoo_serve
from zoo.app import create_app
from zoo.config import Settings
from zoo.observability.tracing import TracingConfigError, provider_from_environment

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
QUERY = "query Named { exhibits(first: 2) { edges { node { id name animals { id } } } } }"


@pytest.fixture
async def traced(settings: Settings) -> Any:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(settings, tracer_provider=provider)
    home = await factories.exhibit(app.state.services)
    await factories.animal(app.state.services, exhibit_id=home.id)
    exporter.clear()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://zoo") as http:
        yield http, exporter
    await dispose(app)


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_one_request_is_one_span_tree_in_the_callers_trace(traced: Any) -> None:
    http, exporter = traced
    response = await http.post(
        "/graphql",
        json={"query": QUERY},
        headers={
            "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01",
            "x-request-id": "traced-request-1",
        },
    )
    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    assert {format(s.context.trace_id, "032x") for s in spans} == {TRACE_ID}

    [request] = [s for s in spans if s.kind is SpanKind.SERVER]
    assert parent_of(request) == int(PARENT_ID, 16)
    assert request.attributes is not None
    assert request.attributes["zoo.request_id"] == "traced-request-1"

    [operation] = [s for s in spans if s.name == "query Named"]
    assert parent_of(operation) == request.context.span_id
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.name"] == "Named"
    assert operation.attributes["graphql.operation.type"] == "query"
    steps = {s.name: s for s in spans if parent_of(s) == operation.context.span_id}
    assert {"graphql.parse", "graphql.validate", "graphql.execute"} <= set(steps)
    # The cost estimate, as extensions.cost would give it (zoo.graphql.limits.cost).
    validate = steps["graphql.validate"].attributes
    assert validate is not None
    assert isinstance(validate["zoo.graphql.cost"], int)
    assert validate["zoo.graphql.cost"] > 2

    # The cost estimate's reads of list sizes (a fresh server knows none) inside validation;
    # the page of exhibits, then their animals, inside execution.
    statements = [s for s in spans if s.kind is SpanKind.CLIENT]
    step_of = {step.context.span_id: name for name, step in steps.items()}
    parents = [step_of.get(parent_of(s)) for s in statements]  # type: ignore[arg-type]
    assert parents.count("graphql.execute") == 2, parents
    assert set(parents) == {"graphql.validate", "graphql.execute"}, parents
    assert {s.name.split()[0] for s in statements} == {"SELECT"}


async def test_an_operation_that_does_not_parse_is_still_a_span(traced: Any) -> None:
    http, exporter = traced
    response = await http.post("/graphql", json={"query": "{ exhibits("})
    assert response.status_code == 200
    names = [s.name for s in exporter.get_finished_spans()]
    assert "GraphQL Operation" in names
    assert not [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT]


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "zoo"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, False),
    ],
)
def test_tracing_is_on_only_when_otel_variables_ask(environ: dict[str, str], on: bool) -> None:
    provider = provider_from_environment(environ)
    assert (provider is not None) is on
    if provider is not None:
        provider.shutdown()


@pytest.mark.parametrize(
    "environ",
    [
        {"OTEL_TRACES_EXPORTER": "jaeger"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
    ],
)
def test_an_exporter_this_server_lacks_is_a_clear_error(environ: dict[str, str]) -> None:
    with pytest.raises(TracingConfigError):
        provider_from_environment(environ)


@contextmanager
def collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    """A minimal OTLP/HTTP collector: it keeps every trace export it is sent."""
    received: list[ExportTraceServiceRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            if self.path == "/v1/traces":
                received.append(ExportTraceServiceRequest.FromString(body))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()


def exported(received: list[ExportTraceServiceRequest]) -> tuple[set[str], set[str]]:
    """The span names and service names in what the collector received."""
    names: set[str] = set()
    services: set[str] = set()
    for export in list(received):
        for resource_spans in export.resource_spans:
            for attribute in resource_spans.resource.attributes:
                if attribute.key == "service.name":
                    services.add(attribute.value.string_value)
            for scope_spans in resource_spans.scope_spans:
                names |= {span.name for span in scope_spans.spans}
    return names, services


@pytest.mark.slow
def test_zoo_serve_sends_spans_to_the_collector_otel_variables_name(database_url: str) -> None:
    env = {
        "ZOO_LOG_LEVEL": "warning",
        "OTEL_SERVICE_NAME": "zoo-under-test",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    with collector() as (endpoint, received):
        otlp = {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
        with zoo_serve(database_url, env=otlp) as (base, _):
            answer = httpx.post(f"{base}/graphql", json={"query": QUERY})
            assert answer.status_code == 200
            deadline = time.monotonic() + 15
            while "query Named" not in exported(received)[0] and time.monotonic() < deadline:
                time.sleep(0.1)
    names, services = exported(received)
    assert "query Named" in names, names
    assert {"graphql.parse", "graphql.validate", "graphql.execute"} <= names
    assert services == {"zoo-under-test"}
