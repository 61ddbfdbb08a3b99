"""Compressed answers: zstd, br or gzip, as ``Accept-Encoding`` asks (starlette-compress).

Answers from ``ZOO_COMPRESS_MIN_BYTES`` up are compressed; smaller ones, and what a
client does not ask for, go as they are (garbage in ``Accept-Encoding`` counts as
asking for nothing). Streams are never compressed: an SSE or multipart subscription
must reach its client event by event, and a compressor holds bytes back until it has
enough (``text/event-stream`` and ``multipart/mixed``, Apollo's subscription
transport, are taken off the library's list). Every answer that could have been compressed says
``Vary: Accept-Encoding``.

A compressed answer is another representation of the same content: its ``ETag``
becomes weak (``W/"..."``), as nginx does, so that a revalidation with either form
still matches (``If-None-Match`` compares weakly).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_compress import CompressMiddleware, add_compress_type, remove_compress_type

from zoo.graphql.transport.media_types import GRAPHQL_RESPONSE

add_compress_type(GRAPHQL_RESPONSE)
for stream in ("text/event-stream", "multipart/mixed"):
    remove_compress_type(stream)


class WeakETagsWhenEncoded:
    """Marks the ``ETag`` of an encoded answer weak (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def weakened(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                etag = headers.get("etag")
                if etag and headers.get("content-encoding") and not etag.startswith("W/"):
                    headers["ETag"] = "W/" + etag
            await send(message)

        await self.app(scope, receive, weakened)


def compressed(app: ASGIApp, minimum_size: int) -> ASGIApp:
    return WeakETagsWhenEncoded(CompressMiddleware(app, minimum_size=minimum_size))
