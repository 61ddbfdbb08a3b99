"""Graceful shutdown of a real ``zoo serve``: on SIGTERM it stops accepting, lets a
request in flight finish, ends each subscription as its protocol says, and exits 0;
a request that outlasts ``ZOO_SHUTDOWN_TIMEOUT_SECONDS`` does not hold it longer."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.servers import zoo_serve

pytestmark = pytest.mark.slow
"""Real server processes, or long waits for deadlines."""

EVENTS = "subscription { animalEvents { kind animal { id } } }"
QUERY = json.dumps({"query": "{ __typename }"}).encode()


def serving(database_url: str, **settings: str) -> Any:
    """``zoo serve`` with these settings (``shutdown_timeout_seconds="1"``...)."""
    env = {f"ZOO_{k.upper()}": v for k, v in settings.items()}
    return zoo_serve(database_url, env={"ZOO_LOG_LEVEL": "warning", **env})


async def subscriptions_open(http: httpx.AsyncClient, count: int) -> None:
    for _ in range(100):
        scraped = text_string_to_metric_families((await http.get("/metrics")).text)
        gauge = next(family for family in scraped if family.name == "zoo_subscriptions_open")
        if sum(sample.value for sample in gauge.samples) == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} subscriptions did not open")


async def until_closed(ws: ClientConnection) -> tuple[list[Any], int | None]:
    """The messages a socket receives until it is closed, and the close code."""
    messages = []
    try:
        while True:
            messages.append(json.loads(await ws.recv()))
    except ConnectionClosed as closed:
        return messages, closed.rcvd.code if closed.rcvd is not None else None


def half_sent_request(base: str) -> socket.socket:
    """A POST whose headers and half its body have arrived: a request in flight."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    head = (
        "POST /graphql HTTP/1.1\r\nHost: zoo\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(QUERY)}\r\n\r\n"
    ).encode()
    sock.sendall(head + QUERY[:10])
    return sock


def read_response(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


async def test_sigterm_finishes_requests_in_flight_and_ends_subscriptions(
    database_url: str,
) -> None:
    with serving(database_url, shutdown_timeout_seconds="20") as (base, process):
        ws_url = base.replace("http", "ws") + "/graphql"
        async with (
            httpx.AsyncClient(base_url=base, timeout=20) as http,
            http.stream(
                "POST", "/graphql", json={"query": EVENTS}, headers={"accept": "text/event-stream"}
            ) as stream,
            connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws,  # type: ignore[list-item]
        ):
            assert stream.status_code == 200
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": EVENTS}})
            )
            await subscriptions_open(http, 2)
            in_flight = half_sent_request(base)

            process.send_signal(signal.SIGTERM)

            lines = [line async for line in stream.aiter_lines()]
            assert "event: complete" in lines, lines
            messages, close_code = await until_closed(ws)
            assert {"id": "1", "type": "complete"} in messages, messages
            assert close_code == 1012  # service restart: clients reconnect elsewhere

            in_flight.sendall(QUERY[10:])
            answer = read_response(in_flight)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
            body = json.loads(answer.partition(b"\r\n\r\n")[2])
            assert body["data"] == {"__typename": "Query"}
        assert process.wait(timeout=20) == 0
        async with httpx.AsyncClient(base_url=base) as after:
            with pytest.raises(httpx.ConnectError):
                await after.get("/health")


def test_a_request_past_the_shutdown_bound_does_not_hold_the_exit(database_url: str) -> None:
    with serving(database_url, shutdown_timeout_seconds="1", body_timeout_seconds="60") as (
        base,
        process,
    ):
        stuck = half_sent_request(base)
        process.send_signal(signal.SIGTERM)
        # Well inside the body's own 60 s: the shutdown bound cut it.
        assert process.wait(timeout=15) == 0
        stuck.close()
