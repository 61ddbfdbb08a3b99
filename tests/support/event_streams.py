"""One subscription over any of the transports clients use: a WebSocket
(graphql-transport-ws), SSE, or multipart (Apollo's) — as a stream of GraphQL results."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.subscriptions import SSE, sse_events

TRANSPORTS = ("ws", "sse", "multipart")
MULTIPART = {"Accept": 'multipart/mixed;subscriptionSpec="1.0", application/json'}


async def multipart_parts(chunks: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """The JSON body of each part of a ``multipart/mixed; boundary=graphql`` stream."""
    buffer = ""
    async for chunk in chunks:
        buffer += chunk
        while True:
            start = buffer.find("\r\n\r\n")
            if start < 0:
                break
            end = buffer.find("\r\n--graphql", start)
            if end < 0:
                break
            body = buffer[start + 4 : end]
            buffer = buffer[end + len("\r\n--graphql") :]
            if body.strip():
                yield json.loads(body)


@asynccontextmanager
async def results(
    base: str,
    transport: str,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
    """The subscription's results (``{"data": ..., "errors": ...}``) until it completes."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"query": query, "variables": variables or {}}
    if transport == "ws":
        url = base.replace("http://", "ws://") + "/graphql"
        # Unbounded: with the default, messages left unread stop the client reading, and
        # it would not see the server's close frame for its close timeout (10 s).
        async with connect(url, subprotocols=["graphql-transport-ws"], max_queue=None) as ws:
            payload = {"Authorization": headers["Authorization"]} if token else {}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert ack["type"] == "connection_ack", ack
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": body}))

            async def messages() -> AsyncIterator[dict[str, Any]]:
                while True:
                    message = json.loads(await ws.recv())
                    if message["type"] == "next":
                        yield message["payload"]
                    elif message["type"] == "error":
                        yield {"data": None, "errors": message["payload"]}
                        return
                    elif message["type"] == "complete":
                        return

            yield messages()
            # Unsubscribe as graphql-ws clients do, then close.
            with contextlib.suppress(ConnectionClosed):
                await ws.send(json.dumps({"id": "1", "type": "complete"}))
        return
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        accept = SSE if transport == "sse" else MULTIPART
        async with http.stream(
            "POST", "/graphql", json=body, headers={**accept, **headers}
        ) as stream:
            assert stream.status_code == 200, stream.status_code

            async def sse() -> AsyncIterator[dict[str, Any]]:
                async for event, data in sse_events(stream.aiter_lines()):
                    if event == "next":
                        yield json.loads(data)
                    elif event == "complete":
                        return

            async def parts() -> AsyncIterator[dict[str, Any]]:
                async for part in multipart_parts(stream.aiter_text()):
                    if part == {}:
                        continue  # a heartbeat
                    if part.get("payload") is not None:
                        yield part["payload"]
                    elif "errors" in part:
                        yield {"data": None, "errors": part["errors"]}
                        return

            yield sse() if transport == "sse" else parts()
