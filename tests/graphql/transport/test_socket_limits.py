"""The HTTP limits hold on WebSockets too, against a real uvicorn server; frames are text."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.http import serve
from tests.support.subscriptions import server_env

pytestmark = pytest.mark.slow
"""Real server processes, or long waits for deadlines."""

SUBSCRIBE = "subscription { animalEvents { kind } }"


@pytest.fixture
def limited_server(database_url: str) -> Iterator[str]:
    env = server_env(
        database_url,
        ZOO_MAX_QUERY_LENGTH="200",
        ZOO_MAX_BODY_BYTES="2048",
        ZOO_MAX_SOCKETS_PER_ADDRESS="3",
        ZOO_MAX_SUBSCRIPTIONS="3",
        ZOO_MAX_SUBSCRIPTIONS_PER_SOCKET="2",
    )
    with serve("zoo.main:app", env) as port:
        yield f"ws://127.0.0.1:{port}/graphql"


async def acknowledged(url: str, protocol: str = "graphql-transport-ws") -> ClientConnection:
    ws = await connect(url, subprotocols=[protocol])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    ack = await asyncio.wait_for(ws.recv(), 5)
    assert isinstance(ack, str), "a binary frame: standard clients reject it"
    assert json.loads(ack)["type"] == "connection_ack"
    return ws


async def reply(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next message of ``kind`` (keep-alives skipped); every frame must be text."""
    while True:
        frame = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(frame, str), frame
        message: dict[str, Any] = json.loads(frame)
        if message["type"] == kind:
            return message
        assert message["type"] == "ka", message


async def test_every_frame_is_text_on_both_protocols(limited_server: str) -> None:
    ws = await acknowledged(limited_server)
    await ws.send(
        json.dumps({"id": "q", "type": "subscribe", "payload": {"query": "{ __typename }"}})
    )
    assert (await reply(ws, "next"))["payload"] == {"data": {"__typename": "Query"}}
    assert (await reply(ws, "complete"))["id"] == "q"
    await ws.close()
    legacy = await acknowledged(limited_server, "graphql-ws")
    await legacy.send(
        json.dumps({"id": "q", "type": "start", "payload": {"query": "{ __typename }"}})
    )
    # Legacy graphql-ws runs subscriptions only: a query is a coded error, not a 500.
    refused = await reply(legacy, "error")
    assert refused["payload"]["extensions"]["code"] == "BAD_REQUEST", refused
    await legacy.close()


async def test_a_long_query_is_refused_on_a_socket(limited_server: str) -> None:
    query = "{ __typename }" + " " * 200
    ws = await acknowledged(limited_server)
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
    error = await reply(ws, "error")
    assert error["payload"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    await ws.close()
    legacy = await acknowledged(limited_server, "graphql-ws")
    await legacy.send(json.dumps({"id": "1", "type": "start", "payload": {"query": query}}))
    error = await reply(legacy, "error")
    assert error["payload"]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    await legacy.close()


async def test_an_oversized_message_closes_the_socket(limited_server: str) -> None:
    ws = await acknowledged(limited_server)
    padding = "x" * 3000
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": padding}}))
    with pytest.raises(ConnectionClosed) as closed:
        await reply(ws, "next")
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


async def test_sockets_per_address_are_bounded(limited_server: str) -> None:
    open_ = [await acknowledged(limited_server) for _ in range(3)]
    refused = await connect(limited_server, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(refused.recv(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4429
    assert "open from this address" in closed.value.rcvd.reason
    await open_.pop().close()
    await asyncio.sleep(0.2)
    open_.append(await acknowledged(limited_server))  # a place came free
    for ws in open_:
        await ws.close()


async def test_subscriptions_per_socket_and_per_server_are_bounded(limited_server: str) -> None:
    first, second = await acknowledged(limited_server), await acknowledged(limited_server)
    for id_ in ("1", "2", "3"):
        payload = {"query": SUBSCRIBE}
        await first.send(json.dumps({"id": id_, "type": "subscribe", "payload": payload}))
    # Two per socket: the third is refused on its own, the socket stays open.
    assert (await reply(first, "error"))["id"] == "3"
    await second.send(json.dumps({"id": "a", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    await asyncio.sleep(0.3)
    # Three per server: this fourth one ends with a coded error.
    await second.send(json.dumps({"id": "b", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    refused = await reply(second, "next")
    assert refused["id"] == "b"
    assert refused["payload"]["errors"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
    await first.close()
    await second.close()


MALFORMED = [
    "[1, 2]",
    '"connection_init"',
    '{"type": 5}',
    '{"type": "subscribe", "id": ["1"], "payload": {"query": "{ __typename }"}}',
    '{"type": "subscribe", "id": "1", "payload": "{ __typename }"}',
    '{"type": "subscribe", "id": "1", "payload": {"query": "{ __typename }", "variables": []}}',
    '{"type": "ping", "payload": "hello"}',
]
LEGACY_MALFORMED = [
    "[1, 2]",
    '{"type": "start", "id": "1"}',
    '{"type": "start", "id": 1, "payload": {"query": "{ __typename }"}}',
    '{"type": "stop"}',
]


@pytest.mark.parametrize(
    ("protocol", "messages"),
    [("graphql-transport-ws", MALFORMED), ("graphql-ws", LEGACY_MALFORMED)],
)
async def test_malformed_messages_close_with_4400_and_a_reason(
    limited_server: str, protocol: str, messages: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    for message in messages:
        ws = await acknowledged(limited_server, protocol)
        await ws.send(message)
        with pytest.raises(ConnectionClosed) as closed:
            await reply(ws, "next")
        assert closed.value.rcvd is not None, message
        assert closed.value.rcvd.code == 4400, (message, closed.value.rcvd)
        assert closed.value.rcvd.reason, message
    assert "Traceback" not in capfd.readouterr().err
