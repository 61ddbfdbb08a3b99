"""The application factory: one database, its services, and the routes around them.

``create_app`` is the map of how the parts connect; each step is a named builder.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from opentelemetry.sdk.trace import TracerProvider
from redis.asyncio import Redis
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp
from starlette.websockets import WebSocket
from starlette_compress import CompressMiddleware
from strawberry import Schema

import zoo
from zoo.auth.account_mail import AccountMail
from zoo.auth.account_pages import add_account_pages
from zoo.auth.rate_limit import LoginGuard, windows
from zoo.auth.routes import add_auth_routes
from zoo.auth.sessions import LiveSessions, Session
from zoo.auth.users import Auth
from zoo.config import Settings
from zoo.domains import Services
from zoo.events.broker import Broker
from zoo.events.postgres import PostgresBroker
from zoo.events.retention import LogPolicy, Pruner
from zoo.graphql.context import Context
from zoo.graphql.schema import build_schema
from zoo.graphql.transport.graphiql import STATIC_PATH
from zoo.graphql.transport.graphiql_assets import STATIC
from zoo.graphql.transport.view import ZooGraphQL
from zoo.mail.delivery import Delivery, FileDelivery, SmtpDelivery
from zoo.mail.sender import Sender
from zoo.observability import logs, metrics, tracing
from zoo.server import shutdown
from zoo.server.compression import WeakETagsWhenEncoded, compressed
from zoo.server.edge import Edge, Faults, ZooApp
from zoo.server.error_handlers import database_error_handlers, invalid_request
from zoo.server.health import add_health_routes
from zoo.server.rest_errors import http_error
from zoo.server.sqlite_lock import sole_server
from zoo.storage.database import Database

Closer = Callable[[], Awaitable[None]]


def create_app(
    settings: Settings | None = None,
    schema: Schema | None = None,
    tracer_provider: TracerProvider | None = None,
) -> ZooApp:
    """``tracer_provider``: where spans go; by default, where the ``OTEL_*`` variables
    say, or nowhere (tracing off: see ``zoo.observability.tracing``)."""
    settings = settings or Settings()
    own_provider = tracer_provider is None
    provider = tracing.provider_from_environment() if own_provider else tracer_provider
    schema = schema or build_schema(settings, tracer_provider=provider)

    database = build_database(settings, provider)
    events = build_events(settings)
    sender = build_mail(settings, database)
    account_mail = AccountMail(settings, sender)
    policy = LogPolicy(settings.history_days, settings.resume_max_events)
    services = Services.build(
        database, events, settings.list_sizes_max_age, account_mail, log_policy=policy
    )
    pruner = Pruner(database, settings.history_days, settings.history_prune_seconds)
    auth = Auth(settings, database, events, account_mail)
    sessions = build_sessions(auth, events)
    redis = build_redis(settings)
    login_guard = LoginGuard(
        settings.login_attempts_per_minute, windows(redis), settings.account_mails_per_hour
    )

    async def close() -> None:
        await events.stop()
        if redis is not None:
            await redis.aclose()
        await database.dispose()
        if own_provider and provider is not None:
            provider.shutdown()

    app = ZooApp(
        title="Zoo",
        version=zoo.__version__,
        description="GraphQL at /graphql; REST routes for login and users.",
        lifespan=lifespan(settings, events, sender, pruner, close),
        docs_url="/docs" if settings.api_docs_enabled else None,
        redoc_url="/redoc" if settings.api_docs_enabled else None,
        openapi_url="/openapi.json" if settings.api_docs_enabled else None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.services = services
    app.state.auth = auth
    app.state.mail = sender
    app.state.shutdown = close

    context_getter = build_context_getter(settings, services, auth, sessions)
    graphql = mount_graphql(app, schema, settings, auth, context_getter, redis)
    add_auth_routes(app, auth, login_guard)
    add_account_pages(app)
    add_health_routes(app, database, events, settings.health_timeout_seconds)
    if settings.metrics_enabled:
        app.router.routes.append(Route("/metrics", metrics.metrics_endpoint, methods=["GET"]))

    handlers = database_error_handlers()
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    graphql_app: ASGIApp = Faults(graphql, handlers)
    if settings.compression:
        app.add_middleware(CompressMiddleware, minimum_size=settings.compress_min_bytes)
        app.add_middleware(WeakETagsWhenEncoded)  # outside: it sees the encoding chosen
        graphql_app = compressed(graphql_app, settings.compress_min_bytes)
    app.add_middleware(Edge, settings=settings, router=app.router, tracer_provider=provider)
    app.graphql_http = Edge(graphql_app, settings, app.router, provider)
    return app


def build_database(settings: Settings, provider: TracerProvider | None) -> Database:
    """The engine, watched by the metrics and, when tracing, by the tracer."""
    database = Database(settings)
    metrics.watch_database(database.engine)
    if provider is not None:
        tracing.trace_statements(database.engine, provider)
    return database


def build_events(settings: Settings) -> Broker:
    """In process, or shared by every instance through PostgreSQL (``ZOO_EVENTS``)."""
    if settings.events_through_postgres:
        return PostgresBroker(
            settings.database_url,
            settings.event_queue_size,
            settings.max_subscriptions,
            timeout=settings.db_statement_timeout,
        )
    return Broker(settings.event_queue_size, settings.max_subscriptions)


def build_mail(settings: Settings, database: Database) -> Sender:
    """The outbox's sender: through ``ZOO_SMTP_URL``, or to ``.eml`` files without one."""
    delivery: Delivery
    if settings.smtp_url is not None:
        delivery = SmtpDelivery(settings.smtp_url.get_secret_value(), settings.mail_from)
    else:
        delivery = FileDelivery(settings.mail_dir, settings.mail_from)
    return Sender(
        database,
        delivery,
        retry_max_seconds=settings.mail_retry_max_seconds,
        poll_seconds=settings.mail_poll_seconds,
    )


def build_sessions(auth: Auth, events: Broker) -> LiveSessions:
    """Logins held by sockets and streams, checked again when their user's logins change
    and after a gap in the events (a change may have been missed). The logins kept by
    the process are forgotten first, so that those checks read the database."""
    events.listeners.append(auth.logins.note)
    events.gap_listeners.append(auth.logins.clear)
    sessions = LiveSessions(auth.login_for_token)
    events.listeners.append(sessions.note)
    events.gap_listeners.append(sessions.check_all)
    return sessions


def build_redis(settings: Settings) -> Redis | None:
    """The login limits' shared store, when ``ZOO_REDIS_URL`` names one. A Redis that
    hangs must not hang logins: past a second, the in-process window stands in."""
    if not settings.redis_url:
        return None
    return Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=1)


def lifespan(
    settings: Settings, events: Broker, sender: Sender, pruner: Pruner, close: Closer
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """While the app serves: its claim on an SQLite file, the event broker, the mail
    sender, the change log's pruning, and a stop signal that lets subscriptions end
    properly before uvicorn closes their sockets."""

    @asynccontextmanager
    async def serving(_: FastAPI) -> AsyncIterator[None]:
        with sole_server(settings):
            # Everything alive now (modules, schema, app) lives as long as the process:
            # freezing it spares every later garbage collection from walking it again.
            gc.collect()
            gc.freeze()
            await events.start()
            sender.start()
            pruner.start()
            with shutdown.on_stop_signal(events.drain):
                yield
            await pruner.stop()
            await sender.stop()
            await close()
            metrics.process_ending()

    return serving


def build_context_getter(
    settings: Settings, services: Services, auth: Auth, sessions: LiveSessions
) -> Callable[[Request | WebSocket], Awaitable[Context]]:
    """Each operation's context: who is asking (bearer token or cookie), fresh loaders."""

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

    return get_context


def mount_graphql(
    app: ZooApp,
    schema: Schema,
    settings: Settings,
    auth: Auth,
    context_getter: Callable[[Request | WebSocket], Awaitable[Context]],
    redis: Redis | None = None,
) -> ZooGraphQL:
    """``/graphql`` over HTTP and WebSocket, and GraphiQL's own assets when it is on."""
    graphql = ZooGraphQL(
        schema,  # type: ignore[arg-type]
        settings,
        auth=auth,
        context_getter=context_getter,
        redis=redis,
    )
    app.router.routes += [Route("/graphql", graphql), WebSocketRoute("/graphql", graphql)]
    if settings.graphiql_enabled:
        app.mount(STATIC_PATH, StaticFiles(directory=STATIC), name="graphiql-static")
    app.state.graphql = graphql
    return graphql
