"""Graceful shutdown: subscriptions end with a proper close the moment SIGTERM arrives.

uvicorn, told to stop, closes its listening sockets, closes each WebSocket with
1012 (service restart), lets requests in flight finish, bounded by
``ZOO_SHUTDOWN_TIMEOUT_SECONDS``, and only then runs the app's shutdown. An
HTTP subscription stream (SSE, multipart) never finishes by itself: it would
hold the shutdown to its bound and then be cut mid-stream, which a client
reads as a network error. So when the signal arrives, before uvicorn acts on
it, every subscription of this process is ended: each stream then completes
as its protocol says (``event: complete``, the closing multipart boundary, a
``complete`` message on a socket) and its connection is free to close.

uvicorn installs its handlers before the app starts (in every worker), so the
app's startup wraps them: ``on_stop_signal`` drains first, and hands the signal
on to uvicorn's own once the subscriptions have ended (at most
``DRAIN_SECONDS`` later). Handed on at once, uvicorn's next tick could close a
socket with 1012 before its subscription had sent ``complete``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

logger = logging.getLogger("zoo")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
DRAIN_SECONDS = 2.0
"""The longest a stop signal waits for subscriptions to end before uvicorn gets it."""


@contextmanager
def on_stop_signal(drain: Callable[[], Awaitable[Any]]) -> Iterator[None]:
    """While inside, a stop signal runs ``drain`` on this loop, then the signal's
    previous handler (uvicorn's). Outside the main thread (a test's server), nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    draining: set[asyncio.Task[None]] = set()

    async def drain_then_stop(signum: int, frame: FrameType | None) -> None:
        try:
            await asyncio.wait_for(drain(), DRAIN_SECONDS)
        except TimeoutError:
            logger.warning("stopping: some subscriptions had not ended after %s s", DRAIN_SECONDS)
        finally:
            handler = previous[signal.Signals(signum)]
            if callable(handler):
                handler(signum, frame)

    def start(signum: int, frame: FrameType | None) -> None:
        task = loop.create_task(drain_then_stop(signum, frame))
        draining.add(task)
        task.add_done_callback(draining.discard)

    def handle(signum: int, frame: FrameType | None) -> None:
        logger.info("stopping: ending subscriptions, finishing requests in flight")
        loop.call_soon_threadsafe(start, signum, frame)

    for sig in STOP_SIGNALS:
        signal.signal(sig, handle)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
