"""``/graphql`` over HTTP and WebSocket, as the GraphQL-over-HTTP specification asks.

The view is strawberry's plain ASGI app, routed by the FastAPI app but not a
FastAPI endpoint: an endpoint solves its dependencies (request, response,
context, root value) on every request, which cost 15 % of a one-row query.

Strawberry answers everything as ``application/json`` with status 200. A
client that accepts ``application/graphql-response+json`` gets that media
type, and then a request error (unparsable, invalid, bad variables: no
``data`` entry) is a 400, so that proxies and clients can tell it apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from functools import lru_cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import orjson
from cross_web import HTTPException
from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.streaming import HTTPStreamTransport
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

from zoo.auth.sessions import Session, bearer_token, presented_token
from zoo.auth.users import Auth
from zoo.config import Settings
from zoo.graphql.context import Context
from zoo.graphql.error_codes import SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE
from zoo.graphql.fastpath.upstream import StreamChoosingView
from zoo.graphql.limits.refusals import OVER_LIMIT_CODES, TARPIT_SECONDS, RefusalsPerAddress
from zoo.graphql.limits.response_size import RESPONSE_TOO_LARGE
from zoo.graphql.transport import graphiql
from zoo.graphql.transport.etags import cacheable, etag_of, matches, not_modified
from zoo.graphql.transport.media_types import (
    GRAPHQL_RESPONSE,
    JSON,
    negotiate,
    prefers_single_result,
)
from zoo.graphql.transport.persisted_queries import PersistedQueries, PersistedQueryRefused
from zoo.graphql.transport.sse import LineFeedSSE
from zoo.graphql.transport.trusted_documents import (
    OWN_TEXT,
    TrustedDocuments,
    carry_document_id,
)
from zoo.graphql.transport.websocket import (
    TRY_AGAIN_LATER,
    LegacyWSHandler,
    SocketsPerAddress,
    TextWebSocketAdapter,
    TransportWSHandler,
)
from zoo.observability import metrics
from zoo.observability.operations import Observed, operation_of, outcome_of
from zoo.server.client_address import client_address
from zoo.server.middleware import PAYLOAD_TOO_LARGE, error_body
from zoo.storage.database import is_unavailable

if TYPE_CHECKING:
    from zoo.graphql.schema import ZooSchema

logger = logging.getLogger("zoo.graphql")

RETRY_AFTER_SECONDS = "5"

KEEP_ALIVE_SECONDS = 15
"""How often an idle WebSocket is pinged at the GraphQL protocol level."""

SUBSCRIPTION_PROTOCOLS = (
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    GRAPHQL_SSE_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
"""Every standard way to subscribe: WebSocket (both subprotocols), Server-Sent Events
(graphql-sse, distinct connections) and Apollo's multipart HTTP subscriptions."""
"""When a client should try again after the database was unavailable."""
ALLOWED_METHODS = "GET, POST"
VARY = "Accept, Authorization, Cookie"
ACCEPT_VALUES_REMEMBERED = 64
"""Distinct ``Accept`` headers whose streaming transport is remembered (clients send few)."""
SUBSCRIBE_HOW = (
    "A subscription streams its events: ask with Accept: text/event-stream (GraphQL over "
    'SSE), Accept: multipart/mixed;subscriptionSpec="1.0" (Apollo\'s HTTP subscriptions), '
    "or over a WebSocket (graphql-transport-ws or graphql-ws)"
)
REFUSAL_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: PAYLOAD_TOO_LARGE,
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
}
"""Codes for what strawberry refuses before any GraphQL runs (it answers in plain text)."""


def refusal(status: int, message: str, retry_after: float = 5, code: str | None = None) -> Response:
    headers = {"Allow": ALLOWED_METHODS} if status == 405 else None
    if status == 429:
        headers = {"Retry-After": str(math.ceil(retry_after))}
    code = code or REFUSAL_CODES.get(status) or HTTPStatus(status).name
    return Response(error_body(message, code), status, headers, media_type=JSON)


TOO_MANY_SOCKETS = 4429
"""The close code graphql-transport-ws uses for "too many": clients show its reason."""


async def refuse_socket(
    scope: Scope, receive: Receive, send: Send, reason: str, code: int = TOO_MANY_SOCKETS
) -> None:
    """Accept the handshake, then close at once with a code and a reason a client can show.

    A refusal at the handshake (403, or a 429 through ASGI's HTTP-response
    extension) reaches clients as a bare failed upgrade, and uvicorn logs the
    latter as an error each time.
    """
    await receive()  # websocket.connect
    offered = scope.get("subprotocols") or []
    await send({"type": "websocket.accept", "subprotocol": offered[0] if offered else None})
    await send({"type": "websocket.close", "code": code, "reason": reason})


class _WithContentType:
    """A request adapter whose content type is given (normalised), the rest its own."""

    def __init__(self, request: Any, content_type: str) -> None:
        self._request = request
        self.content_type = content_type

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


class CountedStream(StreamingResponse):
    """A streaming response that says when it is over, and gives up on a client that
    stops reading: a send still blocked after ``send_timeout`` seconds ends it (and with it
    the subscription), instead of holding the connection for as long as the client likes."""

    def __init__(
        self, *args: Any, on_done: Callable[[], None], send_timeout: float, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.on_done = on_done
        self.send_timeout = send_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def timed_send(message: Message) -> None:
            try:
                await asyncio.wait_for(send(message), self.send_timeout)
            except TimeoutError:
                raise SubscriberStalled from None

        try:
            await super().__call__(scope, receive, timed_send)
        except SubscriberStalled:
            logger.info("ended a subscription stream whose client stopped reading")
        finally:
            # Cut short, the stream would wait for the garbage collector to end its
            # subscription: end it now.
            close = getattr(self.body_iterator, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
            self.on_done()


class SubscriberStalled(Exception):
    pass


def never_kept(response: Response) -> None:
    """An answer with errors is kept by no cache, even where its kind of answer may be
    (an anonymous one over GET, ``ZOO_GRAPHQL_CACHE_SECONDS``)."""
    if response.headers.get("cache-control", "").startswith("public"):
        response.headers["Cache-Control"] = "no-store"


class ZooGraphQL(StreamChoosingView):
    schema: ZooSchema
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler
    websocket_adapter_class = TextWebSocketAdapter
    stream_transport_classes_by_protocol = {
        **GraphQL.stream_transport_classes_by_protocol,
        GRAPHQL_SSE_PROTOCOL: LineFeedSSE,
    }

    def __init__(
        self,
        schema: ZooSchema,
        settings: Settings,
        *,
        auth: Auth,
        context_getter: Callable[[Request | WebSocket], Awaitable[Context]],
        redis: Redis | None = None,
    ) -> None:
        """Every limit and option comes from ``settings``, read once here; ``redis``:
        where persisted queries are shared by every instance (``ZOO_REDIS_URL``)."""
        super().__init__(
            schema,
            keep_alive=True,
            keep_alive_interval=KEEP_ALIVE_SECONDS,
            subscription_protocols=SUBSCRIPTION_PROTOCOLS,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            multipart_uploads_enabled=False,
            max_subscriptions_per_connection=settings.max_subscriptions_per_socket,
        )
        cache_seconds = settings.graphql_cache_seconds
        self.auth = auth
        self.anonymous_get_cache_control = (
            f"public, max-age={cache_seconds}" if cache_seconds else "no-store"
        )
        self.context_getter = context_getter
        self.conditions: WeakKeyDictionary[Response, str] = WeakKeyDictionary()
        """Each cacheable answer's ``If-None-Match``, until the answer is made."""
        self.max_query_length = settings.max_query_length
        self.persisted_queries = PersistedQueries(settings.persisted_queries_characters, redis)
        self.trusted = (
            TrustedDocuments.load(
                settings.trusted_document_paths, settings.trusted_documents_allow_admin_text
            )
            if settings.trusted_document_paths
            else None
        )
        """With ``ZOO_TRUSTED_DOCUMENTS``: the only operations run, but an ADMIN's text."""
        self.max_response_bytes = settings.max_response_bytes
        self.max_message_bytes = settings.max_body_bytes
        self.stream_send_timeout = settings.stream_send_timeout_seconds
        self.sockets = SocketsPerAddress(settings.max_sockets_per_address)
        """Open WebSockets and HTTP subscription streams, per client address."""
        self.refusals = RefusalsPerAddress(settings.max_refusals_per_minute)
        for transport in self.stream_transports():
            transport.heartbeat_interval = settings.stream_heartbeat_seconds
        self.require_login = settings.subscriptions_require_login
        choose = self.stock_stream_transport
        self._transport_for_accept = lru_cache(maxsize=ACCEPT_VALUES_REMEMBERED)(
            lambda accept: choose({"accept": accept})
        )
        self._prefers_single_result = lru_cache(maxsize=ACCEPT_VALUES_REMEMBERED)(
            prefers_single_result
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's own refusals (bad JSON, a batch, a method, a length) become
        coded GraphQL errors, so that a client handles every error one way; an address
        that keeps sending documents over the limits is turned away unread."""
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        address = client_address(scope)
        wait = await self.refusals.wait(address)
        if wait:
            metrics.REFUSALS.labels(REFUSAL_CODES[429]).inc()
            await asyncio.sleep(min(wait, TARPIT_SECONDS))
            message = "Too many documents over the limits from this address; wait and retry"
            await refusal(429, message, wait)(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        try:
            if self.graphql_ide and self.should_render_graphql_ide(
                self.request_adapter_class(request)
            ):
                # Before the context, unlike strawberry: the page needs no login, and
                # looking up a cookie would read the database on every page load and
                # answer a browser with a JSON 503 while the database is out.
                response = await self.render_graphql_ide(request)
            else:
                response = await self.run(request)
        except PersistedQueryRefused as exc:
            response = refusal(exc.status_code, exc.reason, code=exc.code)
            # Not kept by any cache: the query may be registered a moment later.
            response.headers["Cache-Control"] = "no-store"
        except HTTPException as exc:
            response = refusal(exc.status_code, exc.reason)
            if exc.status_code in {413, 415, 429}:
                metrics.REFUSALS.labels(REFUSAL_CODES[exc.status_code]).inc()
            if exc.status_code == 413:
                await self.refusals.note(address, [PAYLOAD_TOO_LARGE])
        await response(scope, receive, send)

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A socket within its address's limit; past it, closed at once (4429).

        A caller whose cookie cannot be looked up while the database is out is closed
        with 1013 (try again later), which clients retry, not answered with the app's
        HTTP 503, which a WebSocket cannot carry."""
        address = client_address(scope)
        if not self.sockets.acquire(address):
            limit = self.sockets.limit
            await refuse_socket(
                scope, receive, send, f"More than {limit} WebSockets open from this address"
            )
            return
        sent: set[str] = set()

        async def noting(message: Message) -> None:
            sent.add(message["type"])
            await send(message)

        try:
            await super().__call__(scope, receive, noting)
        except Exception as exc:
            if "websocket.close" in sent or not is_unavailable(exc):
                raise
            if "websocket.accept" not in sent:
                await refuse_socket(scope, receive, send, UNAVAILABLE_MESSAGE, TRY_AGAIN_LATER)
            else:  # strawberry accepts before it asks for the context
                close = {"code": TRY_AGAIN_LATER, "reason": UNAVAILABLE_MESSAGE}
                await send({"type": "websocket.close", **close})
        finally:
            self.sockets.release(address)

    async def execute_operation(
        self,
        request: Request,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """A subscription over SSE or multipart logs in as a WebSocket does: when
        subscriptions require a login, an anonymous one is a 401 (a query streamed
        as its client asked is not a subscription)."""
        if self.trusted is not None:
            for operation in request_data if isinstance(request_data, list) else [request_data]:
                if (operation.extensions or {}).get(OWN_TEXT):
                    self.trusted.admit_text(context.user)
        streaming = getattr(request_data, "protocol", "http") != "http"
        if (
            streaming
            and self.require_login
            and context.user is None
            and self.schema.operation_type(request_data.query, request_data.operation_name)
            is OperationType.SUBSCRIPTION
        ):
            raise HTTPException(401, "Log in to subscribe")
        return await super().execute_operation(
            request, request_adapter, request_data, context, *args, **kwargs
        )

    async def create_streaming_response(
        self,
        request: Request | WebSocket,
        stream: Callable[[], AsyncIterator[str]],
        sub_response: Response,
        headers: Mapping[str, str],
    ) -> Response:
        """An HTTP subscription stream takes a place among its address's sockets, given
        back when the response ends, however it ends (a vanished client included)."""
        address = client_address(request.scope)
        if not self.sockets.acquire(address):
            limit = self.sockets.limit
            return refusal(429, f"More than {limit} subscriptions open from this address")
        # A stream is never kept by a cache, whatever an anonymous GET answer may be:
        # SSE's own headers say no-cache (and no-transform), multipart's nothing.
        merged = {k: v for k, v in sub_response.headers.items() if k != "cache-control"}
        merged.update({k.lower(): v for k, v in headers.items()})
        merged.setdefault("cache-control", "no-store")
        return CountedStream(
            stream(),
            status_code=sub_response.status_code or 200,
            headers=merged,
            on_done=lambda: self.sockets.release(address),
            send_timeout=self.stream_send_timeout,
        )

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return await self.context_getter(request)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """A WebSocket may log in with ``{"Authorization": "Bearer ..."}`` in its connection
        parameters (or the cookie); a token that does not name a live session is refused
        (4403), and so is an anonymous socket when subscriptions require a login."""
        params = context.connection_params
        authorization = ""
        if isinstance(params, dict):
            value = params.get("Authorization", params.get("authorization", ""))
            authorization = value if isinstance(value, str) else ""
        if authorization:
            token = bearer_token(authorization)
            login = await self.auth.login_for_token(token) if token else None
            if login is None or not login.user.is_active:
                raise ConnectionRejectionError({"reason": "invalid or expired token"})
            context.user = login.user
            context.session = Session(token, login)
        elif context.user is not None and not context.user.is_active:
            raise ConnectionRejectionError({"reason": "this account is inactive"})
        if self.require_login and context.user is None:
            raise ConnectionRejectionError({"reason": "log in to subscribe"})
        return None

    def stream_transport_for(self, headers: Mapping[str, str]) -> HTTPStreamTransport | None:
        """Strawberry's choice of streaming transport, remembered per ``Accept`` value:
        it parses the header with the ``email`` package on every request, a fifteenth of
        the CPU of ``{ __typename }``. The headers are Starlette's, which compare keys
        ignoring case, as strawberry does."""
        accept = headers.get("accept", "")
        return self._transport_for_accept(accept)

    async def parse_http_body(self, request: Any) -> Any:
        """Refuse a body that is not JSON (415, where strawberry says 400) and an
        oversized query text, before the parser ever sees it. A query or mutation
        streams only if its client prefers a stream (``media_types``).

        Media types compare exactly and ignoring case, as RFC 9110 says: strawberry's
        own check is a substring test (``application/jsonx`` passed, ``APPLICATION/JSON``
        did not)."""
        if request.method == "POST":
            media_type = (request.content_type or "").split(";", 1)[0].strip().lower()
            if media_type != JSON:
                raise HTTPException(415, f"A POST body must be {JSON}")
            request = _WithContentType(request, JSON)
        data = await super().parse_http_body(request)
        for operation in data if isinstance(data, list) else [data]:
            if operation.query is not None and len(operation.query) > self.max_query_length:
                raise HTTPException(413, f"Query is longer than {self.max_query_length} characters")
            if self.trusted is None:
                await self.persisted_queries.resolve(operation)
                continue
            document = self.trusted.resolve(operation.query, operation.extensions)
            if document is not None:
                operation.query = document
            elif operation.query is not None:
                operation.extensions = {**(operation.extensions or {}), OWN_TEXT: True}
        if isinstance(data, GraphQLRequestData) and data.protocol != "http":
            accept = request.headers.get("accept", "")
            if self._prefers_single_result(accept) and (
                self.schema.operation_type(data.query, data.operation_name)
                is not OperationType.SUBSCRIPTION
            ):
                data.protocol = "http"
        return data

    async def render_graphql_ide(self, request: Request) -> Response:
        response = HTMLResponse(graphiql.page(request.scope.get("root_path", "")))
        response.headers["Content-Security-Policy"] = graphiql.CONTENT_SECURITY_POLICY
        return response

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """An answer varies with the ``Accept`` and the credentials it was asked with;
        one given to a credential is its user's own, which no cache may keep:
        ``GET /graphql?query={me{email}}`` is one URL for every user, and a shared cache
        that kept one user's answer gave it to the next who asked.

        An anonymous answer over GET says how long a shared cache may keep it
        (``ZOO_GRAPHQL_CACHE_SECONDS``; by default not at all): with nothing said, a
        CDN or proxy applies its own default (Varnish two minutes, Fastly an hour) and
        serves rows that have since changed. One with errors is never kept
        (:meth:`process_result`)."""
        response = await super().get_sub_response(request)
        response.media_type = negotiate(request.headers.get("accept", JSON))
        response.headers["Vary"] = VARY
        if presented_token(request):
            response.headers["Cache-Control"] = "private, no-store"
        elif request.scope.get("method") == "GET":
            response.headers["Cache-Control"] = self.anonymous_get_cache_control
            condition = request.headers.get("if-none-match")
            if condition is not None:
                self.conditions[response] = condition
        request.state.graphql_response = response
        return response

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """A mutation over GET is 405 Method Not Allowed, as the spec says (strawberry says
        400); a subscription without a streaming ``Accept`` is 406, naming the ways in.
        An operation slower than ``ZOO_SLOW_OPERATION_MS`` is logged, with its statements."""
        request_data = kwargs.get("request_data", args[-1] if args else None)
        kind, name = operation_of(
            getattr(request_data, "query", None), getattr(request_data, "operation_name", None)
        )
        with Observed(kind, name, self.schema.slow_operation_ms) as observed:
            try:
                result = await super().execute_single(*args, **kwargs)
                observed.outcome = outcome_of(result.errors)
                return result
            except HTTPException as exc:
                cause = exc.__cause__
                refused = exc
                if isinstance(cause, InvalidOperationTypeError) and exc.status_code == 400:
                    if cause.operation_type is OperationType.SUBSCRIPTION:
                        refused = HTTPException(406, SUBSCRIBE_HOW)
                    else:
                        refused = HTTPException(405, exc.reason)
                observed.outcome = (
                    REFUSAL_CODES.get(refused.status_code) or HTTPStatus(refused.status_code).name
                )
                if refused is exc:
                    raise
                raise refused from exc

    def parse_json(self, data: str | bytes) -> Any:
        """A GraphQL request is a JSON object (or a list, for batches); anything else is a 400."""
        parsed = super().parse_json(data)
        if not isinstance(parsed, (dict, list)):
            raise HTTPException(400, "The request body must be a JSON object")
        for item in parsed if isinstance(parsed, list) else [parsed]:
            carry_document_id(item)
        return parsed

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        parsed = super().parse_query_params(params)
        carry_document_id(parsed)
        return parsed

    def decode_json(self, data: str | bytes) -> object:
        """orjson: faster, and its error for bad UTF-8 is a JSONDecodeError (a 400), not a 500."""
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        body: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            never_kept(request.state.graphql_response)
            body["errors"] = [error.formatted for error in result.errors]
            codes = [(error.extensions or {}).get("code") for error in result.errors]
            await self.refusals.note(client_address(request.scope), codes)
            for code in set(codes) & OVER_LIMIT_CODES:
                metrics.REFUSALS.labels(code).inc()
            if SERVICE_UNAVAILABLE in codes:
                request.state.graphql_response.headers["Retry-After"] = RETRY_AFTER_SECONDS
            if result.data is None and all(error.path is None for error in result.errors):
                # A request error: nothing was executed, so there is no data entry.
                del body["data"]
                response: Response = request.state.graphql_response
                if response.media_type == GRAPHQL_RESPONSE:
                    response.status_code = 400
        if result.extensions:
            body["extensions"] = result.extensions
        return body

    def within_size(self, body: bytes) -> bytes:
        """``body``, or the error that stands for it past the response size limit."""
        if len(body) <= self.max_response_bytes:
            return body
        return error_body(
            f"The response would be larger than {self.max_response_bytes} bytes; "
            "ask for less (pages with `first`, fewer fields)",
            RESPONSE_TOO_LARGE,
        )

    def encode_json_string(self, data: object) -> str:
        """A streamed result (an event, or a query whose client asked for a stream) is
        held to the size limit of a single response."""
        return self.within_size(self.encode_json(data)).decode()

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        encoded = self.encode_json(response_data)
        body = self.within_size(encoded)
        if body is not encoded:
            never_kept(sub_response)  # an error stands for it
        response = Response(
            body,
            media_type=sub_response.media_type or JSON,
            status_code=sub_response.status_code or 200,
        )
        response.headers.raw.extend(
            (k, v) for k, v in sub_response.headers.raw if k.lower() != b"content-type"
        )
        if response.status_code == 200 and cacheable(response):
            etag = etag_of(body)
            if matches(self.conditions.get(sub_response), etag):
                return not_modified(response, etag)
            response.headers["ETag"] = etag
        return response
