"""Request headers are bounded in size: past ``ZOO_MAX_HEADER_BYTES`` a request gets 431 and
its connection is closed, so one client streaming an endless header cannot hold the
server (the parser gathers it by concatenation: 150 MB held every request for seconds).

Run against ``zoo serve``, whose HTTP protocol holds the limit, with a header deadline
long enough that it never decides a test.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from bench.http import serve_zoo
from tests.support.sockets import read_until_closed
from tests.support.subscriptions import server_env

pytestmark = pytest.mark.slow
"""Real server processes, or long waits for deadlines."""

LIMIT = 8192


@pytest.fixture
def port(database_url: str) -> Iterator[int]:
    env = server_env(database_url, ZOO_MAX_HEADER_BYTES=str(LIMIT), ZOO_HEADER_TIMEOUT_SECONDS="60")
    with serve_zoo(env) as port:
        yield port


def request(header_value: bytes) -> bytes:
    return b"GET /health HTTP/1.1\r\nHost: zoo\r\nX-Filler: " + header_value + b"\r\n"


def test_headers_over_the_limit_get_431_and_a_closed_connection(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        # Not finished: the server answers on the size alone, before the blank line.
        connection.sendall(request(b"a" * (LIMIT + 100)))
        received, _ = read_until_closed(connection)
    assert received.startswith(b"HTTP/1.1 431"), received
    assert b"larger than 8192 bytes" in received


def test_a_url_over_the_limit_gets_431(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"GET /health?" + b"q" * (LIMIT + 100))
        received, _ = read_until_closed(connection)
    assert received.startswith(b"HTTP/1.1 431"), received


def test_an_endless_header_is_cut_off_early(port: int) -> None:
    """Without the limit the server read all of it (then answered 200)."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: zoo\r\nX-Filler: ")
        sent = stream_until_refused(connection, b"a" * 65536, 200 * 1024 * 1024)
    # What the kernel buffers on both sides, far below the 200 MB offered.
    assert sent is not None, "the server read a 200 MB header"
    assert sent < 50 * 1024 * 1024


def stream_until_refused(connection: socket.socket, chunk: bytes, most: int) -> int | None:
    """Bytes sent before the server closed the connection; None if it took all ``most``."""
    sent = 0
    try:
        while sent < most:
            connection.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        return sent
    return None


def test_requests_under_the_limit_each_start_a_new_count(port: int) -> None:
    """Keep-alive: each request's headers are measured alone, not the connection's sum."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        for _ in range(4):
            connection.sendall(request(b"b" * (LIMIT // 2)) + b"\r\n")
            response = read_response(connection)
            assert response.startswith(b"HTTP/1.1 200"), response


def read_response(connection: socket.socket) -> bytes:
    """One response of a keep-alive connection: its head, then its Content-Length of body."""
    connection.settimeout(10)
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, body = received.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += connection.recv(65536)
    return received


@pytest.mark.parametrize("size", [LIMIT + 100, 100_000])
def test_a_complete_header_block_over_the_limit_gets_431(port: int, size: int) -> None:
    """Sent whole, blank line and all, in one write: the parser had taken such a block
    before it was counted, and it was answered 200 however large."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(request(b"a" * size) + b"\r\n")
        received, _ = read_until_closed(connection)
    assert received.startswith(b"HTTP/1.1 431"), received[:200]


def test_a_large_body_sent_with_its_headers_is_not_counted_as_headers(port: int) -> None:
    body = b'{"query": "{ __typename }", "variables": {"pad": "' + b"x" * 50_000 + b'"}}'
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: zoo\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(head + body)
        received, _ = read_until_closed(connection)
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    assert b'"__typename":"Query"' in received


def test_a_blank_line_split_between_two_writes_ends_the_headers(port: int) -> None:
    body = b'{"query": "{ __typename }", "variables": {"pad": "' + b"x" * 50_000 + b'"}}'
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: zoo\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r" % len(body)
    )
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(head)
        time.sleep(0.2)  # two reads on the server's side
        connection.sendall(b"\n" + body)
        received, _ = read_until_closed(connection)
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
