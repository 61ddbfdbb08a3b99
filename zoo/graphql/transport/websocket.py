"""``/graphql`` over WebSocket: JSON text frames, and the HTTP limits on every message.

The GraphQL-over-WebSocket protocols exchange JSON *text* messages; the
standard clients (``graphql-ws`` in GraphiQL, Apollo and urql; Python's
``gql``) reject binary frames. orjson encodes to bytes, so they are decoded
here (cheap: the bytes are already UTF-8).

A socket would otherwise bypass what HTTP refuses before parsing: a message
is capped at the body size, a query at the query length, and one client
address holds a bounded number of sockets. Its login is kept current
(``auth.sessions``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator, Mapping
from contextlib import AbstractContextManager
from json import JSONDecodeError
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from zoo.graphql.error_codes import SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE
from zoo.graphql.transport.persisted_queries import PersistedQueryRefused
from zoo.graphql.transport.trusted_documents import carry_document_id
from zoo.server.middleware import PAYLOAD_TOO_LARGE
from zoo.storage.database import is_unavailable

TRY_AGAIN_LATER = 1013
"""RFC 6455's close code for a server that cannot serve now; graphql-ws clients retry it."""

MESSAGE_TOO_BIG = 1009
"""RFC 6455's close code for a message larger than the server accepts."""


class TextWebSocketAdapter(ASGIWebSocketAdapter):
    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        """Strawberry's loop, with each message's size checked before it is decoded."""
        limit: int = self.view.max_message_bytes  # type: ignore[attr-defined]
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                if len(text) > limit:
                    await self.close(MESSAGE_TOO_BIG, f"Message is longer than {limit} characters")
                    return
                try:
                    yield self.view.decode_json(text)
                except JSONDecodeError as exc:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from exc
        except KeyError as exc:
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            pass


def too_long(query: object, max_length: int) -> GraphQLError | None:
    if isinstance(query, str) and len(query) > max_length:
        return GraphQLError(
            f"Query is longer than {max_length} characters",
            extensions={"code": PAYLOAD_TOO_LARGE},
        )
    return None


def coded(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def names_document(payload: Mapping[str, Any]) -> bool:
    extensions = payload.get("extensions")
    return "documentId" in payload or (
        isinstance(extensions, dict) and isinstance(extensions.get("persistedQuery"), dict)
    )


def unavailable() -> GraphQLError:
    return GraphQLError(UNAVAILABLE_MESSAGE, extensions={"code": SERVICE_UNAVAILABLE})


def _payload(message: Mapping[str, Any]) -> Mapping[str, Any]:
    payload = message.get("payload")
    return payload if isinstance(payload, Mapping) else {}


SESSION_ENDED = 4403
"""graphql-transport-ws's "Forbidden": the login this socket runs under has ended."""


class SocketRules:
    """What both subprotocols' handlers add to strawberry's: a malformed message closes
    the socket (4400, with the reason); the socket's login holds only while it is valid
    (checked again before each operation; a revocation announced anywhere closes the
    socket, 4403); an over-long query is refused as HTTP refuses it (413's code)."""

    websocket: Any
    context: Any
    view: Any
    connection_acknowledged: bool
    _watch: AbstractContextManager[None] | None = None

    async def handle_message(self, message: Any) -> None:
        reason = malformed(message)
        if reason is not None:
            await self.websocket.close(PROTOCOL_ERROR, reason)
            return
        await super().handle_message(message)  # type: ignore[misc]

    async def handle_connection_init(self, message: Any) -> None:
        """A login that cannot be checked while the database is out closes the socket with
        1013 (try again later), which clients retry; raised, it dropped the socket without
        a close frame."""
        try:
            await super().handle_connection_init(message)  # type: ignore[misc]
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            await self.websocket.close(TRY_AGAIN_LATER, UNAVAILABLE_MESSAGE)
            return
        if self.connection_acknowledged:
            self.watch_login()

    async def admit(self, message: Any) -> bool:
        """Whether to start this operation; if not, the socket is closed or the refusal sent.

        Before the socket is acknowledged, strawberry refuses it (4401) as it should.
        A login that cannot be checked again while the database is out refuses the
        operation (``SERVICE_UNAVAILABLE``) and keeps the socket and its other operations.
        """
        if not self.connection_acknowledged:
            return True
        try:
            holds = await self.login_holds()
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            await self.send_refusal(message["id"], unavailable())
            return False
        if not holds:
            return False
        refused = too_long(_payload(message).get("query"), self.view.max_query_length)
        if refused is None:
            refused = self.trusted_only(message)
        if refused is None:
            return True
        await self.send_refusal(message["id"], refused)
        return False

    def trusted_only(self, message: Any) -> GraphQLError | None:
        """The document an operation names, put in its payload; or why it is refused: with
        trusted documents, text of its own (but an ADMIN's, where allowed), and without
        them, a payload that names a document instead of sending a query."""
        payload = message["payload"]
        carry_document_id(payload)
        trusted = self.view.trusted
        try:
            if trusted is None:
                if not isinstance(payload.get("query"), str):
                    return coded("This server keeps no documents: send the query", "BAD_REQUEST")
                return None
            document = trusted.resolve(payload.get("query"), payload.get("extensions"))
            if document is not None:
                payload["query"] = document
            else:
                trusted.admit_text(self.context.user)
        except PersistedQueryRefused as exc:
            return coded(exc.reason, exc.code)
        return None

    async def send_refusal(self, id_: str, error: GraphQLError) -> None:
        raise NotImplementedError

    async def handle(self) -> None:
        try:
            await super().handle()  # type: ignore[misc]
        finally:
            if self._watch is not None:
                self._watch.__exit__(None, None, None)

    def watch_login(self) -> None:
        """Once the socket is acknowledged: close it when its login ends."""
        session, sessions = self.context.session, self.context.sessions
        if session is not None and sessions is not None and self._watch is None:
            self._watch = sessions.watched(session, self._login_ended)
            self._watch.__enter__()

    def _login_ended(self) -> None:
        task = asyncio.ensure_future(self._close_for_login())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _close_for_login(self) -> None:
        await self.websocket.close(SESSION_ENDED, "Your session has ended; log in again")

    async def login_holds(self) -> bool:
        session, sessions = self.context.session, self.context.sessions
        if session is None or sessions is None:
            return True
        if await sessions.check(session):
            return True  # the context's user is the session's, as just checked
        await self._close_for_login()
        return False


PROTOCOL_ERROR = 4400
"""graphql-transport-ws's close code for a message the protocol does not allow."""

_ID_MESSAGES = {"subscribe", "complete", "start", "stop"}
_OPERATION_MESSAGES = {"subscribe", "start"}


def malformed(message: object) -> str | None:
    """Why a WebSocket message does not fit the protocols' shapes, or None when it does.

    Strawberry reads a message's fields as if it had the right shape, so a malformed
    one is refused here, with a close frame, before strawberry reads it.
    """
    if not isinstance(message, dict):
        return "A message must be a JSON object"
    kind = message.get("type")
    if not isinstance(kind, str):
        return "A message needs a string type"
    if kind in _ID_MESSAGES and not isinstance(message.get("id"), str):
        return f"A {kind} message needs a string id"
    payload = message.get("payload")
    if kind in _OPERATION_MESSAGES:
        if not isinstance(payload, dict) or not (
            isinstance(payload.get("query"), str) or names_document(payload)
        ):
            return f"A {kind} message needs a payload with a query string (or a documentId)"
        for key, kinds in (("variables", dict), ("operationName", str), ("extensions", dict)):
            if payload.get(key) is not None and not isinstance(payload[key], kinds):
                return f"The payload's {key} has the wrong type"
    elif payload is not None and not isinstance(payload, dict):
        return f"A {kind} message's payload must be an object"
    return None


class TransportWSHandler(SocketRules, BaseGraphQLTransportWSHandler[Any, Any]):
    """``graphql-transport-ws``."""

    async def handle_subscribe(self, message: Any) -> None:
        if await self.admit(message):
            await super().handle_subscribe(message)

    async def send_refusal(self, id_: str, error: GraphQLError) -> None:
        await self.send_message({"id": id_, "type": "error", "payload": [error.formatted]})


class LegacyWSHandler(SocketRules, BaseGraphQLWSHandler[Any, Any]):
    """Legacy ``graphql-ws``."""

    async def handle_start(self, message: Any) -> None:
        if await self.admit(message):
            await super().handle_start(message)

    async def send_refusal(self, id_: str, error: GraphQLError) -> None:
        await self.send_message({"type": "error", "id": id_, "payload": error.formatted})


class SocketsPerAddress:
    """Open sockets per client address, refused past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()

    def acquire(self, address: str) -> bool:
        if self.open[address] >= self.limit:
            return False
        self.open[address] += 1
        return True

    def release(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]
