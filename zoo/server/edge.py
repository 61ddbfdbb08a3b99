"""The ASGI edge: the middleware every request passes, and the ``/graphql`` shortcut.

``ZooApp`` hands an HTTP request for ``/graphql`` straight to the edge middleware
every route has (``Edge``), around the view, skipping FastAPI's router and
middleware stack, which the view does not use (ADR 0001); the rest of the app,
WebSockets included, goes the usual way.

What Starlette's layers did for the view is done here: a database that cannot
be reached (raised while resolving the caller's token, before GraphQL runs)
gets the app's coded 503, and any other error a coded 500 with the request id.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from zoo.config import Settings
from zoo.graphql.error_codes import internal_error_response
from zoo.observability.metrics import HttpMetrics
from zoo.observability.request_ids import request_id
from zoo.observability.tracing import traced_requests
from zoo.server.middleware import (
    BodySizeLimit,
    BodyTimeout,
    Refused,
    RequestId,
    ResponseHeaders,
    StartTracking,
)

logger = logging.getLogger("zoo")

GRAPHQL_PATH = "/graphql"

NO_STORE_PREFIXES = ("/auth/", "/users/")

Handler = Callable[[Request, Exception], Awaitable[Response]]


class Edge:
    """The middleware every request passes, outermost first: its id, the answers to
    browsers on other origins (when some are listed), its span (when tracing), its
    count, the time and size its body may take, and the headers every response carries."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        router: Router,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        app = ResponseHeaders(
            app, hsts=settings.secure_cookies, no_store_prefixes=NO_STORE_PREFIXES
        )
        app = BodySizeLimit(app, max_bytes=settings.max_body_bytes)
        app = BodyTimeout(app, seconds=settings.body_timeout_seconds)
        app = HttpMetrics(app, router=router)
        if tracer_provider is not None:
            app = traced_requests(app, tracer_provider)
        if settings.cors_origin_list:
            app = cross_origin(app, settings.cors_origin_list)
        self.app = RequestId(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def cross_origin(app: ASGIApp, origins: list[str]) -> ASGIApp:
    """Pages on ``origins`` may call every route from a browser, with a bearer token
    only: credentials stay off, so a browser sends no cookie across origins (nor runs a
    request that asks to), and the cookie's defences against cross-site requests (see
    ``auth.users.cookie_is_csrf_safe``) still hold."""
    return CORSMiddleware(
        app,
        allow_origins=origins,
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=["*"],
        allow_credentials=False,
        expose_headers=["X-Request-Id", "Retry-After"],
        max_age=600,
    )


class Faults:
    """An error that escapes the view, answered as Starlette's layers would have: by the
    app's handler for its type, else a coded 500; then logged, never re-raised into
    the server (whose own 500 would be plain text)."""

    def __init__(self, app: ASGIApp, handlers: dict[type[Exception], Handler]) -> None:
        self.app = app
        self.handlers = handlers

    def handler_for(self, error: Exception) -> Handler | None:
        for kind in type(error).__mro__:
            handler = self.handlers.get(kind)
            if handler is not None:
                return handler
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracking = StartTracking(send)
        try:
            await self.app(scope, receive, tracking)
        except Refused:
            raise  # the edge middleware's own refusal, raised from its receive: it answers
        except Exception as error:
            if tracking.started:
                raise
            handler = self.handler_for(error)
            if handler is not None:
                response = await handler(Request(scope, receive), error)
            else:
                logger.error("unhandled error (request %s)", request_id.get(), exc_info=error)
                response = internal_error_response()
            await response(scope, receive, send)


def route_path(scope: Scope) -> str:
    """The path the app routes by: without the prefix it is served under (``root_path``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class ZooApp(FastAPI):
    """FastAPI, with HTTP requests for ``/graphql`` taken by ``graphql_http`` first."""

    graphql_http: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.graphql_http is not None
            and scope["type"] == "http"
            and route_path(scope) == GRAPHQL_PATH
        ):
            scope["app"] = self
            await self.graphql_http(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
