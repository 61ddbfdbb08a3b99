"""How ``zoo serve`` runs uvicorn: its HTTP protocol, with bounds on request headers and on
a client that stops reading.

uvicorn times out idle keep-alive connections but not a client that sends
its headers a byte at a time: such a connection never reaches the app, so no
middleware can cut it. The protocol here gives every request, from its
first byte (or the connection's opening), ``ZOO_HEADER_TIMEOUT_SECONDS`` to
finish its headers, then closes the connection.

Nor does uvicorn bound their size: the parser gathers a request line or a
header value by concatenation, piece by piece, so one client streaming a
150 MB header held every other request for the whole header deadline (and
the memory it grew). Past ``ZOO_MAX_HEADER_BYTES`` the request is answered
431 and its connection closed.

Nor does it give up on a client that stops reading a response: the response
waited in memory for as long as the client kept the connection open (20 such
clients held 130 MB for good, and shutdown waited on them). A connection whose
client takes nothing of a response for ``ZOO_SEND_TIMEOUT_SECONDS`` is dropped,
which frees what was left to send.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache

from zoo.config import Settings
from zoo.graphql.fastpath.upstream import UvicornHttpProtocol, response_in_progress, status_line
from zoo.server import middleware

logger = logging.getLogger("zoo.serving")

HEADERS_TOO_LARGE = "REQUEST_HEADER_FIELDS_TOO_LARGE"


@cache
def _settings() -> Settings:
    """Read once per process: uvicorn's workers start from the same environment."""
    return Settings()


class BoundedProtocol(UvicornHttpProtocol):
    _header_deadline: asyncio.TimerHandle | None = None
    _header_bytes = 0
    _tail = b""
    """The last bytes counted, to find a blank line split between two reads."""
    _send_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        # Armed means a request's headers are still arriving: they are counted before the
        # parser sees them, up to the blank line that ends them (a body after it is not
        # theirs). Counted after parsing, a header block that arrived whole had already
        # been taken, however large. A read holding the end of one request and the start
        # of the next does not count for the next: at most one read too many.
        if self._header_deadline is not None:
            window = self._tail + data
            end = window.find(b"\r\n\r\n")
            self._header_bytes += len(data) if end < 0 else end + 4 - len(self._tail)
            self._tail = window[-3:]
            if self._header_bytes > _settings().max_header_bytes:
                self._headers_too_large()
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_deadline is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._reading_again()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._header_bytes = 0
        self._tail = b""
        self._header_deadline = self.loop.call_later(
            _settings().header_timeout_seconds, self._headers_too_slow
        )

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def _headers_too_large(self) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        middleware.note_refusal(HEADERS_TOO_LARGE)
        logger.info("closed a connection whose request headers passed the size limit")
        if not response_in_progress(self):
            # Nothing else is being answered on this connection: say why before closing.
            message = f"Request headers are larger than {_settings().max_header_bytes} bytes"
            self.transport.write(
                b"".join(
                    [
                        status_line(431),
                        b"content-type: text/plain; charset=utf-8\r\n",
                        b"content-length: %d\r\n" % len(message),
                        b"connection: close\r\n\r\n",
                        message.encode(),
                    ]
                )
            )
        self.transport.close()

    def pause_writing(self) -> None:
        """The transport holds more than its high-water mark: the client reads slower than
        the response is written, or not at all."""
        super().pause_writing()
        if self._send_deadline is None:
            self._watch_reading(self.transport.get_write_buffer_size())

    def resume_writing(self) -> None:
        self._reading_again()
        super().resume_writing()

    def _watch_reading(self, unsent: int) -> None:
        self._send_deadline = self.loop.call_later(
            _settings().send_timeout_seconds, self._check_reading, unsent
        )

    def _check_reading(self, unsent_before: int) -> None:
        """A slow client that took anything since the last look gets another period (as
        nginx's ``send_timeout``); one that took nothing is dropped."""
        unsent = self.transport.get_write_buffer_size()
        if unsent < unsent_before:
            self._watch_reading(unsent)
            return
        self._send_deadline = None
        logger.info("dropped a connection whose client stopped reading its response")
        # Not close(): that waits to send what is buffered, to a client that never reads.
        self.transport.abort()

    def _reading_again(self) -> None:
        if self._send_deadline is not None:
            self._send_deadline.cancel()
            self._send_deadline = None
