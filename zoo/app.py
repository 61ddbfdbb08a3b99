"""The application factory: auth routes, ``/health`` and ``/graphql`` around one database."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry.sdk.trace import TracerProvider
from redis.asyncio import Redis
from sqlalchemy.exc import DBAPIError
from starlette.routing import Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)

import zoo
from zoo import draining, logs, metrics, tracing
from zoo.auth.rate_limit import (
    LoginGuard,
    LoginRateLimit,
    MemoryWindow,
    Outage,
    RedisWindow,
    Window,
)
from zoo.auth.routes import sessions_router
from zoo.auth.schemas import UserCreate, UserRead, UserUpdate
from zoo.auth.sessions import LiveSessions, Session
from zoo.auth.users import Auth, refuse_cross_origin, refuse_cross_origin_cookie
from zoo.config import Settings
from zoo.core.events import Broker
from zoo.core.pg_events import PostgresBroker
from zoo.db import UNAVAILABLE_ERRORS, Database, is_unavailable
from zoo.front_door import Edge, Faults, Handler, ZooApp
from zoo.graphql.context import Context
from zoo.graphql.errors import (
    SERVICE_UNAVAILABLE,
    UNAVAILABLE_MESSAGE,
    internal_error_response,
)
from zoo.graphql.explorer_assets import STATIC
from zoo.graphql.graphiql import STATIC_PATH
from zoo.graphql.persisted_queries import PersistedQueries
from zoo.graphql.schema import build_schema
from zoo.graphql.view import ZooGraphQL
from zoo.http import request_id
from zoo.services import Services
from zoo.sole_server import sole_server

logger = logging.getLogger("zoo")

SUBSCRIPTION_PROTOCOLS = (
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    GRAPHQL_SSE_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
"""Every standard way to subscribe: WebSocket (both subprotocols), Server-Sent Events
(graphql-sse, distinct connections) and Apollo's multipart HTTP subscriptions."""


async def invalid_request(request: Request, exc: Exception) -> Response:
    """FastAPI's 422, with the input it echoes escaped to ASCII: a JSON body may hold half
    of a surrogate pair (``"\\ud800"``), which FastAPI's own handler could not encode
    (a 500 and a traceback instead of the 422)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    body = json.dumps(
        {"detail": jsonable_encoder(errors)}, ensure_ascii=True, separators=(",", ":")
    )
    return Response(body, status_code=422, media_type="application/json")


def create_app(
    settings: Settings | None = None,
    schema: Schema | None = None,
    tracer_provider: TracerProvider | None = None,
) -> ZooApp:
    """``tracer_provider``: where spans go; by default, where the ``OTEL_*`` variables
    say, or nowhere (tracing off: see ``zoo.tracing``)."""
    settings = settings or Settings()
    own_provider = tracer_provider is None
    provider = tracing.provider_from_environment() if own_provider else tracer_provider
    schema = schema or build_schema(settings, tracer_provider=provider)
    database = Database(settings)
    metrics.watch_database(database.engine)
    if provider is not None:
        tracing.trace_statements(database.engine, provider)
    events: Broker = (
        PostgresBroker(
            settings.database_url,
            settings.event_queue_size,
            settings.max_subscriptions,
            timeout=settings.db_statement_timeout,
        )
        if settings.events_through_postgres
        else Broker(settings.event_queue_size, settings.max_subscriptions)
    )
    services = Services.build(database, events, settings.list_sizes_max_age)
    auth = Auth(settings, database, events)
    sessions = LiveSessions(auth.login_for_token)
    events.listeners.append(sessions.note)
    events.gap_listeners.append(sessions.check_all)
    # A Redis that hangs must not hang logins: past a second, the in-process window stands in.
    redis = (
        Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=1)
        if settings.redis_url
        else None
    )
    outage = Outage()

    def window(limit: int, seconds: float) -> Window:
        if redis is None:
            return MemoryWindow(limit, seconds)
        return RedisWindow(redis, limit, seconds, outage=outage)

    login_guard = LoginGuard(settings.login_attempts_per_minute, window)

    async def shutdown() -> None:
        await events.stop()
        if redis is not None:
            await redis.aclose()
        await database.dispose()
        if own_provider and provider is not None:
            provider.shutdown()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        with sole_server(settings):
            # Everything alive now (modules, schema, app) lives as long as the process:
            # freezing it spares every later garbage collection from walking it again.
            gc.collect()
            gc.freeze()
            await events.start()
            with draining.on_stop_signal(events.drain):
                yield
            await shutdown()
            metrics.process_ending()

    app = ZooApp(
        title="Zoo",
        version=zoo.__version__,
        description="GraphQL at /graphql; REST routes for login and users.",
        lifespan=lifespan,
        docs_url="/docs" if settings.api_docs_enabled else None,
        redoc_url="/redoc" if settings.api_docs_enabled else None,
        openapi_url="/openapi.json" if settings.api_docs_enabled else None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.services = services
    app.state.auth = auth
    app.state.shutdown = shutdown

    async def get_context(connection: Request | WebSocket) -> Context:
        credential = auth.credential_for(connection)
        login = await auth.login_for_token(credential) if credential else None
        if login is not None:
            logs.user_id.set(str(login.user.id))
        return Context(
            services,
            login.user if login is not None else None,
            json_fragments=connection.scope["type"] == "http",
            max_items=settings.max_response_items,
            session=Session(credential, login) if credential and login else None,
            sessions=sessions,
            scope=connection.scope,
        )

    graphql = ZooGraphQL(
        schema,
        auth=auth,
        max_query_length=settings.max_query_length,
        persisted_queries=PersistedQueries(settings.persisted_queries_characters),
        max_response_bytes=settings.max_response_bytes,
        max_message_bytes=settings.max_body_bytes,
        max_sockets_per_address=settings.max_sockets_per_address,
        max_refusals_per_minute=settings.max_refusals_per_minute,
        stream_heartbeat_seconds=settings.stream_heartbeat_seconds,
        stream_send_timeout=settings.stream_send_timeout_seconds,
        max_subscriptions_per_connection=settings.max_subscriptions_per_socket,
        require_login=settings.subscriptions_require_login,
        cache_seconds=settings.graphql_cache_seconds,
        keep_alive=True,
        keep_alive_interval=15,
        subscription_protocols=SUBSCRIPTION_PROTOCOLS,
        context_getter=get_context,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        multipart_uploads_enabled=False,
    )
    app.router.routes += [Route("/graphql", graphql), WebSocketRoute("/graphql", graphql)]
    if settings.graphiql_enabled:
        app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="graphiql-static")
    app.state.graphql = graphql

    users = auth.users
    limited = [Depends(LoginRateLimit(login_guard))]
    same_origin_cookie = Depends(refuse_cross_origin_cookie)
    app.include_router(
        users.get_auth_router(auth.bearer),
        prefix="/auth/jwt",
        tags=["auth"],
        dependencies=[same_origin_cookie, *limited],
    )
    app.include_router(
        users.get_auth_router(auth.cookie),
        prefix="/auth/cookie",
        tags=["auth"],
        dependencies=[Depends(refuse_cross_origin), same_origin_cookie, *limited],
    )
    app.include_router(
        users.get_register_router(UserRead, UserCreate),
        prefix="/auth",
        tags=["auth"],
        dependencies=[same_origin_cookie, *limited],
    )
    app.include_router(sessions_router(auth), dependencies=[same_origin_cookie])
    app.include_router(
        users.get_users_router(UserRead, UserUpdate),
        prefix="/users",
        tags=["users"],
        dependencies=[same_origin_cookie],
    )

    if settings.metrics_enabled:
        app.router.routes.append(Route("/metrics", metrics.metrics_endpoint, methods=["GET"]))

    @app.get("/health", tags=["health"])
    async def health() -> JSONResponse:
        """200 after a database round trip; 503 with the reason when the database is
        unreachable or slower than ``ZOO_HEALTH_TIMEOUT_SECONDS``, so that a load balancer
        hears about a stalled database before its own probe times out. HEAD too: some
        load balancers and uptime monitors probe with it (it was a 405).

        ``events`` says whether this instance hears of changes as they are made; while
        its PostgreSQL listener reconnects it does not (its subscribers are told once it
        is back), but every other request is answered, so the status stays 200 and the
        body says ``degraded`` for monitors."""
        try:
            await asyncio.wait_for(database.ping(), settings.health_timeout_seconds)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            logger.warning("health check failed: %s", exc)
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"}, status_code=503
            )
        state = events.state
        status = "degraded" if state == "reconnecting" else "ok"
        return JSONResponse(
            {"status": status, "database": "ok", "events": state, "version": zoo.__version__}
        )

    app.add_api_route("/health", health, methods=["HEAD"], include_in_schema=False)

    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        """Outside GraphQL execution (auth routes, resolving the user): 503 when the
        database could not be reached (a dropped connection included), else a coded 500."""
        if not is_unavailable(exc):
            logger.error("database error (request %s)", request_id.get(), exc_info=exc)
            return internal_error_response()
        logger.warning("database unavailable: %s", exc)
        error = {"message": UNAVAILABLE_MESSAGE, "extensions": {"code": SERVICE_UNAVAILABLE}}
        return JSONResponse({"errors": [error]}, status_code=503, headers={"Retry-After": "5"})

    # asyncpg raises its own errors, unwrapped by SQLAlchemy, when a new connection
    # is dropped while it is being opened.
    asyncpg_errors = (asyncpg.InterfaceError, asyncpg.InternalClientError, asyncpg.PostgresError)
    handlers: dict[type[Exception], Handler] = dict.fromkeys(
        (*UNAVAILABLE_ERRORS, DBAPIError, *asyncpg_errors), database_unavailable
    )
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_middleware(Edge, settings=settings, router=app.router, tracer_provider=provider)
    app.graphql_http = Edge(Faults(graphql, handlers), settings, app.router, provider)
    return app
