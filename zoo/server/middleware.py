"""ASGI middleware around every request (a request id, a cap on the body size and on the
time it may take to arrive), and the shape of a refusal made before any GraphQL runs."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zoo.observability.request_ids import request_id

_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestId:
    """Takes a sane ``X-Request-ID`` from the client (a proxy's) or makes one, and echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", ())).get(b"x-request-id", b"").decode("latin-1")
        current = given if _ACCEPTABLE_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(current)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", current.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"


def error_body(message: str, code: str) -> bytes:
    """A refusal made before any GraphQL ran, shaped like every other error: with a code."""
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


class Refused(Exception):
    """A coded refusal made by middleware; raised from a wrapped ``receive``, it answers
    instead of the app (see :func:`run_refusable`)."""

    def __init__(self, status: int, message: str, code: str, *headers: tuple[bytes, bytes]):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers


refusal_listeners: list[Callable[[str], None]] = []
"""Told the code of every refusal the middleware here makes (counted by
``zoo.observability.metrics``)."""


def note_refusal(code: str) -> None:
    for listener in refusal_listeners:
        listener(code)


async def send_refusal(send: Send, refused: Refused) -> None:
    note_refusal(refused.code)
    body = error_body(refused.message, refused.code)
    await send(
        {
            "type": "http.response.start",
            "status": refused.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.get().encode()),
                *refused.headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class StartTracking:
    """``send``, noting whether the response has started: an error after that can no
    longer be answered with a response of its own."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)


async def run_refusable(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run ``app``; if ``receive`` raises :class:`Refused` before the app has started its
    response, send the refusal (after it has, there is nothing left to do but drop)."""
    tracking = StartTracking(send)
    try:
        await app(scope, receive, tracking)
    except Refused as refused:
        if tracking.started:
            raise
        await send_refusal(send, refused)


class BodySizeLimit:
    """Refuses (413) a body over ``max_bytes`` before the app reads it, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = Refused(
            413, f"Request body is larger than {self.max_bytes} bytes", PAYLOAD_TOO_LARGE
        )
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await send_refusal(send, too_large)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_large
            return message

        await run_refusable(self.app, scope, counting_receive, send)


REQUEST_TIMEOUT = "REQUEST_TIMEOUT"


class BodyTimeout:
    """Refuses (408) a request whose body has not all arrived ``seconds`` after it began.

    A client that trickles its body a byte at a time would otherwise hold a
    connection, and whatever the app set aside for it, for as long as it likes.
    Only the body is timed: waiting for a disconnect after it (a streaming
    response) is not.
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.seconds
        complete = False

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0))
            except TimeoutError:
                raise Refused(
                    408,
                    f"The request body did not arrive within {self.seconds:g} s",
                    REQUEST_TIMEOUT,
                    (b"connection", b"close"),
                ) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await run_refusable(self.app, scope, timed_receive, send)


class ResponseHeaders:
    """Headers every response carries: no MIME sniffing, no referrer leaking URLs to other
    sites, no
    framing by other sites (clickjacking), HSTS where the site is served over HTTPS; and
    ``Cache-Control: no-store`` under ``no_store_prefixes``, whose tokens, cookies and
    account data no browser or proxy cache may keep. One middleware, one wrapped ``send``
    per request, for all of them."""

    def __init__(self, app: ASGIApp, hsts: bool, no_store_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.no_store_prefixes = no_store_prefixes
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            # Not no-referrer: under it a browser sends ``Origin: null`` on a same-origin
            # form POST, which the cookie routes' origin check must refuse.
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
        ]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = scope["path"].startswith(self.no_store_prefixes)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if no_store:
                    headers = [(k, v) for k, v in headers if k != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = [*headers, *self.headers]
            await send(message)

        await self.app(scope, receive, with_headers)
