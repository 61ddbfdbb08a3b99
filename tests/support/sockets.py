"""Raw sockets, for what HTTP clients would not do (stall, stop reading)."""

from __future__ import annotations

import socket
import time

PATIENCE = 8.0
"""How long a test waits for the server to act on a 1 s deadline (a busy CI machine)."""


def read_until_closed(connection: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    started = time.monotonic()
    connection.settimeout(PATIENCE)
    received = b""
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            return received, time.monotonic() - started
        received += chunk
