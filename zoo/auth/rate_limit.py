"""Login attempts are limited per client address and per email, to slow password guessing.

A sliding window in process memory: each server process counts its own
attempts (several workers each allow the limit), which bounds guessing without
a shared store.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable

from fastapi import HTTPException, Request

WINDOW_SECONDS = 60.0


class SlidingWindow:
    def __init__(
        self,
        limit: int,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.hits: dict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, key: str) -> float:
        """Record an attempt for ``key``; 0 when allowed, else seconds until one would be."""
        now = self.clock()
        hits = self.hits[key]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return hits[0] + self.window - now
        hits.append(now)
        if len(self.hits) > 100_000:  # forget idle keys rather than grow without bound
            for idle in [k for k, v in self.hits.items() if not v or v[-1] <= now - self.window]:
                del self.hits[idle]
        return 0.0


class LoginRateLimit:
    """A FastAPI dependency for the login routes: 429 with ``Retry-After`` over the limit."""

    def __init__(self, attempts_per_minute: int) -> None:
        self.window = SlidingWindow(attempts_per_minute)

    async def __call__(self, request: Request) -> None:
        if request.method != "POST" or not request.url.path.endswith("/login"):
            return
        client = request.client.host if request.client else "unknown"
        form = await request.form()
        email = str(form.get("username", "")).strip().lower()
        waits = [self.window.retry_after(f"address:{client}")]
        if email:
            waits.append(self.window.retry_after(f"email:{email}"))
        wait = max(waits)
        if wait > 0:
            raise HTTPException(
                status_code=429,
                detail="Too many login attempts; try again later",
                headers={"Retry-After": str(math.ceil(wait))},
            )
