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
app's startup wraps them: ``on_stop_signal`` runs first, then uvicorn's own.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

logger = logging.getLogger("zoo")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def on_stop_signal(drain: Callable[[], Any]) -> Iterator[None]:
    """While inside, a stop signal calls ``drain`` on this loop, then the signal's
    previous handler (uvicorn's). Outside the main thread (a test's server), nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def handle(signum: int, frame: FrameType | None) -> None:
        logger.info("stopping: ending subscriptions, finishing requests in flight")
        loop.call_soon_threadsafe(drain)
        handler = previous[signal.Signals(signum)]
        if callable(handler):
            handler(signum, frame)

    for sig in STOP_SIGNALS:
        signal.signal(sig, handle)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
