"""A lean HTTP/1.1 keep-alive client and a uvicorn server in a subprocess.

The client is deliberately minimal (one socket, no parsing beyond the headers)
so that what the benchmarks time is the server, not the client library.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(app: str, env: dict[str, str], workers: int = 1) -> Iterator[int]:
    """Run ``app`` (an import string) under uvicorn as users run it; yield its port."""
    port = free_port()
    command = ["-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    with _running(command, env, port, app):
        yield port


@contextmanager
def serve_zoo(env: dict[str, str]) -> Iterator[int]:
    """Run ``zoo serve``, the command users run (its own uvicorn settings); yield its port."""
    port = free_port()
    command = ["-m", "zoo", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with _running(command, env, port, "zoo serve"):
        yield port


@contextmanager
def _running(arguments: list[str], env: dict[str, str], port: int, name: str) -> Iterator[None]:
    environment = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, *arguments], env=environment, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start") from None
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


class Client:
    """Blocking keep-alive client: one request at a time on one connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._connect()

    def _connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        try:
            self.sock.sendall(head + body)
            self.buffer += self._recv()
        except (ConnectionError, OSError):
            # Idle past the server's keep-alive timeout (while the other server was
            # measured): the server closed it; a new connection, as a browser would.
            self.sock.close()
            self._connect()
            self.sock.sendall(head + body)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        header, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = header.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = dict(line.split(b": ", 1) for line in lines[1:])
        length = int(headers.get(b"content-length", b"0"))
        while len(rest) < length:
            rest += self._recv()
        self.buffer = rest[length:]
        return status, rest[:length]

    def _recv(self) -> bytes:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        return chunk

    def graphql(self, query: str) -> bytes:
        status, body = self.request("POST", "/graphql", json.dumps({"query": query}).encode())
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
        return body

    def close(self) -> None:
        self.sock.close()


async def throughput(
    port: int,
    method: str,
    path: str,
    body: bytes,
    clients: int,
    requests: int,
    headers: dict[str, str] | None = None,
) -> float:
    """Requests per second with ``clients`` keep-alive connections sharing ``requests``."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{extra}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while remaining > 0:
                remaining -= 1
                writer.write(head)
                header = await reader.readuntil(b"\r\n\r\n")
                if not header.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(header[:100])
                length = 0
                for line in header.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return requests / (time.perf_counter() - started)
