"""Prometheus metrics, served at ``GET /metrics`` in the text exposition format.

What an operator needs to see what the server does: requests by route and
status, GraphQL operations by type, name and outcome with their latency,
refusals by code, SQL statements and pooled connections in use, events and
subscriptions, logins. Label values are bounded: routes are the app's route
templates, and operation names past the first ``MAX_OPERATION_NAMES`` distinct
ones (and unnamed operations) fold into one value, so that no client can grow
the label set without end.

With ``zoo serve --workers N`` every worker writes its figures to
``PROMETHEUS_MULTIPROC_DIR`` (which ``zoo serve`` sets), and a scrape adds up
all workers, whichever one answers it.

Off by default in production (``ZOO_METRICS``): the figures tell an outsider
the operation names front ends use and how busy the server is.
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zoo.observability import logs
from zoo.observability.route_templates import RouteTemplate, route_templates, template_of
from zoo.server import middleware

MAX_OPERATION_NAMES = 200
OTHER = "(other)"
UNNAMED = "(unnamed)"
INVALID = "(invalid)"
"""An ``operationName`` that is not a GraphQL name."""

HTTP_REQUESTS = Counter(
    "zoo_http_requests", "HTTP requests answered, by route and status", ["route", "status"]
)
OPERATIONS = Counter(
    "zoo_graphql_operations",
    "GraphQL operations over HTTP, by type, name and outcome (ok or the first error's code)",
    ["type", "name", "outcome"],
)
OPERATION_SECONDS = Histogram(
    "zoo_graphql_operation_seconds", "Time to answer a GraphQL operation over HTTP", ["type"]
)
OPERATION_COST = Histogram(
    "zoo_graphql_operation_cost",
    "Estimated cost of each GraphQL operation (the figure ZOO_MAX_COST limits)",
    buckets=(10, 100, 1_000, 5_000, 10_000, 25_000, 50_000, 100_000, 150_000, 500_000),
)
REFUSALS = Counter("zoo_refusals", "Requests refused by a limit, by code", ["code"])
STATEMENTS = Counter("zoo_db_statements", "SQL statements sent to the database")
CONNECTIONS_IN_USE = Gauge(
    "zoo_db_connections_in_use", "Pooled connections checked out", multiprocess_mode="livesum"
)
CONNECTIONS_OPEN = Gauge(
    "zoo_db_connections_open", "Database connections open", multiprocess_mode="livesum"
)
EVENTS_PUBLISHED = Counter("zoo_events_published", "Changes announced to subscribers")
EVENTS_DELIVERED = Counter("zoo_events_delivered", "Events queued for a subscriber")
SUBSCRIBERS_CUT_OFF = Counter(
    "zoo_subscribers_cut_off", "Subscribers ended for falling behind (their queue was full)"
)
EVENT_STREAM_GAPS = Counter(
    "zoo_event_stream_gaps",
    "Times changes may have gone by unseen (an event listener lost and back): subscriptions ended",
)
EVENT_LISTENERS_RECONNECTING = Gauge(
    "zoo_event_listeners_reconnecting",
    "PostgreSQL event listeners not listening (starting, or being replaced): their "
    "instance hears of no change meanwhile",
    multiprocess_mode="livesum",
)
EVENT_QUEUE_USAGE = Gauge(
    "zoo_event_queue_usage",
    "Share of PostgreSQL's notification queue in use (full: every write fails at commit)",
    multiprocess_mode="max",
)
SUBSCRIPTIONS_OPEN = Gauge(
    "zoo_subscriptions_open",
    "Subscriptions open, by transport (graphql-transport-ws, graphql-ws, sse, multipart)",
    ["transport"],
    multiprocess_mode="livesum",
)
STATEMENT_SECONDS = Histogram(
    "zoo_db_statement_seconds",
    "Time from sending a SQL statement to its result",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
POOL_SIZE = Gauge(
    "zoo_db_pool_size", "Connections the pool keeps open at most", multiprocess_mode="livesum"
)
WRITE_TURN_WAITS = Counter(
    "zoo_db_write_waits",
    "SQLite: writes that waited for another write's turn (one writer at a time)",
)
WRITE_TURN_WAIT_SECONDS = Counter(
    "zoo_db_write_wait_seconds", "SQLite: time writes spent waiting for their turn"
)
LOGINS = Counter("zoo_logins", "Login attempts, by outcome", ["outcome"])
MAILS_PENDING = Gauge(
    "zoo_mails_pending",
    "Mails in the outbox not yet sent nor given up on, as the sender last counted them",
    multiprocess_mode="max",
)
MAILS_SENT = Counter("zoo_mails_sent", "Mails handed to the mail server (or written to files)")
MAILS_DEFERRED = Counter(
    "zoo_mails_deferred",
    "Attempts to send a mail that will be tried again (server down, or a 4xx refusal)",
)
MAILS_FAILED = Counter(
    "zoo_mails_failed", "Mails given up on: the mail server refused them for good (5xx)"
)

_names: set[str] = set()


def operation_label(name: str) -> str:
    """The operation's name, or one shared value once enough distinct names were seen."""
    if name in _names or name in (UNNAMED, INVALID):
        return name
    if len(_names) >= MAX_OPERATION_NAMES:
        return OTHER
    _names.add(name)
    return name


def refused(code: str) -> None:
    REFUSALS.labels(code).inc()


middleware.refusal_listeners.append(refused)


def observe_operation(kind: str, name: str, outcome: str, seconds: float | None) -> None:
    """Count an operation; time it too, unless ``seconds`` is None (a subscription)."""
    OPERATIONS.labels(kind, operation_label(name), outcome).inc()
    if seconds is not None:
        OPERATION_SECONDS.labels(kind).observe(seconds)


def _count_statement(*arguments: Any) -> None:
    """One listener per statement: the total here, and the running operation's count for
    its slow-operation log line (``zoo.observability.logs``)."""
    STATEMENTS.inc()
    count = logs.statements.get()
    if count is not None:
        count[0] += 1
    arguments[4]._zoo_started = time.perf_counter()  # the statement's execution context


def _time_statement(*arguments: Any) -> None:
    started = getattr(arguments[4], "_zoo_started", None)
    if started is not None:
        STATEMENT_SECONDS.observe(time.perf_counter() - started)


def watch_database(engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool
    size = getattr(pool, "size", None)
    if callable(size):
        POOL_SIZE.inc(size())
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)
    event.listen(engine.sync_engine, "after_cursor_execute", _time_statement)
    event.listen(pool, "checkout", lambda *_: CONNECTIONS_IN_USE.inc())
    event.listen(pool, "checkin", lambda *_: CONNECTIONS_IN_USE.dec())
    event.listen(pool, "connect", lambda *_: CONNECTIONS_OPEN.inc())
    event.listen(pool, "close", lambda *_: CONNECTIONS_OPEN.dec())
    event.listen(pool, "close_detached", lambda *_: CONNECTIONS_OPEN.dec())


def process_ending() -> None:
    """A worker's ``livesum`` gauges (connections, subscriptions open) stop counting once
    it has gone: a worker restarted by the supervisor must not leave its last values."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


async def metrics_endpoint(_: Request) -> Response:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


UNMATCHED = "(unmatched)"


class HttpMetrics:
    """Counts every HTTP response by its route template (``/graphql``, ``/users/{id}``).

    The route is matched here, once per distinct method and path (a bounded cache):
    the router's own choice is recorded on a copy of the request's scope that this
    middleware never sees.
    """

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.templates: list[RouteTemplate] | None = None
        self.app = app
        self.router = router
        self.labels: dict[tuple[str, str], str] = {}

    def route_of(self, scope: Scope) -> str:
        key = (scope.get("method", ""), scope["path"])
        label = self.labels.get(key)
        if label is None:
            label = UNMATCHED
            for route in self.router.routes:
                match, _ = route.matches(scope)
                if match is Match.FULL:
                    # FastAPI's included routers (the auth and users routes) have no
                    # path of their own: their routes' templates come from the OpenAPI
                    # document the router describes.
                    label = getattr(route, "path", None) or self.template_of(scope["path"])
                    break
            if len(self.labels) > 10_000:
                self.labels.clear()
            self.labels[key] = label
        return label

    def template_of(self, path: str) -> str:
        if self.templates is None:
            self.templates = route_templates(self.router)
        found = template_of(self.templates, path)
        return UNMATCHED if found is None else found.template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            HTTP_REQUESTS.labels(self.route_of(scope), str(status[0])).inc()
