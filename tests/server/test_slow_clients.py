"""Slow clients are cut off: headers, bodies, idle connections and unread responses each
have a deadline.

Run against ``zoo serve`` (the command users run), since the header deadline
lives in its HTTP protocol, below the app. The deadlines are 1 s here; each
test allows several times that before it calls the connection held.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
from collections.abc import Iterator

import pytest

from bench.http import serve_zoo
from tests.support import factories
from tests.support.sockets import PATIENCE, read_until_closed
from tests.support.subscriptions import server_env
from zoo.domains import Services

pytestmark = pytest.mark.slow
"""Real server processes, or long waits for deadlines."""

DEADLINE = 1.0


@pytest.fixture
def port(database_url: str) -> Iterator[int]:
    env = server_env(
        database_url,
        ZOO_HEADER_TIMEOUT_SECONDS=str(DEADLINE),
        ZOO_BODY_TIMEOUT_SECONDS=str(DEADLINE),
        ZOO_SEND_TIMEOUT_SECONDS=str(DEADLINE),
        ZOO_KEEP_ALIVE_SECONDS="1",
        ZOO_WS_PING_SECONDS=str(DEADLINE),
    )
    with serve_zoo(env) as port:
        yield port


def test_headers_that_never_finish_are_cut_off(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: zoo\r\n")
        received, waited = read_until_closed(connection)
    assert received == b""
    assert waited < PATIENCE


def test_a_connection_that_sends_nothing_is_cut_off(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        received, waited = read_until_closed(connection)
    assert received == b""
    assert waited < PATIENCE


def test_a_body_that_never_finishes_gets_408(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: zoo\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"query"'
        )
        received, _ = read_until_closed(connection)
    assert received.startswith(b"HTTP/1.1 408"), received
    assert b'"code":"REQUEST_TIMEOUT"' in received


def test_idle_keep_alive_connections_are_closed_and_normal_requests_work(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: zoo\r\n\r\n")
        received, waited = read_until_closed(connection)
    assert received.startswith(b"HTTP/1.1 200"), received
    assert b'"status":"ok"' in received
    assert waited < PATIENCE


async def test_a_client_that_stops_reading_its_response_is_dropped(
    port: int, services: Services
) -> None:
    """Without the deadline a response waited in memory (megabytes each) for as long as
    its client kept the connection open: forever, for one that never reads."""
    exhibit = await factories.exhibit(services)
    for _ in range(100):
        await factories.animal(services, exhibit_id=exhibit.id, description="d" * 2000)
    aliases = " ".join(
        f"a{i}: animals(first: 100) {{ edges {{ node {{ description }} }} }}" for i in range(30)
    )
    body = json.dumps({"query": "{" + aliases + "}"}).encode()  # a 6 MB answer
    with socket.socket() as connection:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        connection.connect(("127.0.0.1", port))
        connection.sendall(
            b"POST /graphql HTTP/1.1\r\nHost: zoo\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        # Never read. Blank lines (which HTTP allows between requests) show when the
        # server has dropped the connection: the one after is answered with a reset.
        deadline = time.monotonic() + DEADLINE + PATIENCE
        with pytest.raises((BrokenPipeError, ConnectionResetError)):  # noqa: PT012
            while time.monotonic() < deadline:
                connection.send(b"\r\n")
                await asyncio.sleep(0.25)


def masked_text_frame(text: str) -> bytes:
    """One WebSocket text frame, masked as a client must send it."""
    data = text.encode()
    mask = os.urandom(4)
    length = (
        bytes([0x80 | len(data)]) if len(data) < 126 else b"\xfe" + struct.pack("!H", len(data))
    )
    return b"\x81" + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def test_a_websocket_client_that_stops_answering_is_closed(port: int) -> None:
    """Sends to a socket whose client stopped reading would wait on its full buffer for
    good, its subscriptions with them: a ping left unanswered closes it (1011)."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        key = base64.b64encode(os.urandom(16)).decode()
        connection.sendall(
            f"GET /graphql HTTP/1.1\r\nHost: zoo\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n".encode()
        )
        query = "subscription { animalEvents { kind } }"
        for message in (
            {"type": "connection_init"},
            {"id": "1", "type": "subscribe", "payload": {"query": query}},
        ):
            connection.sendall(masked_text_frame(json.dumps(message)))
        # Never read or answer a ping: what the server sends, then its close.
        received, waited = read_until_closed(connection)
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    sent = server_frames(rest)
    assert 0x9 in [opcode for opcode, _ in sent]  # a ping, never answered
    assert sent[-1][0] == 0x8  # then the close, with its code
    assert struct.unpack("!H", sent[-1][1][:2]) == (1011,)
    assert waited < PATIENCE


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each frame a server sent (unmasked, none over 64 KiB)."""
    frames = []
    while data:
        opcode, length, start = data[0] & 0x0F, data[1] & 0x7F, 2
        if length == 126:
            (length,), start = struct.unpack("!H", data[2:4]), 4
        frames.append((opcode, data[start : start + length]))
        data = data[start + length :]
    return frames
