"""How ``zoo serve`` runs uvicorn: its HTTP protocol with a deadline on request headers.

uvicorn times out idle keep-alive connections but not a client that sends
its headers a byte at a time: such a connection never reaches the app, so no
middleware can cut it. The protocol here gives every request, from its
first byte (or the connection's opening), ``ZOO_HEADER_TIMEOUT_SECONDS`` to
finish its headers, then closes the connection.
"""

from __future__ import annotations

import asyncio
from functools import cache

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from zoo.config import Settings


@cache
def header_timeout() -> float:
    """Read once per process: uvicorn's workers start from the same environment."""
    return Settings().header_timeout_seconds


class HeaderTimeoutProtocol(HttpToolsProtocol):
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._header_deadline = self.loop.call_later(header_timeout(), self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()
