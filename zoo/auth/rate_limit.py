"""Login attempts are limited per client address and per email, to slow password guessing;
sign-ups per client address, to bound account creation (and its password hashing).

A sliding window of attempts per key. With ``ZOO_REDIS_URL`` the windows live
in Redis, so every worker and every instance counts against one limit;
without it each process counts its own (several workers each allow the
limit). If Redis cannot be reached (or does not answer within a second), the
process's own window stands in and the failure is logged once; Redis is tried
again after a pause, so that an outage costs one slow login, not every one.
A login is never refused, nor let through unlimited, because the store is down.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Protocol

from fastapi import HTTPException, Request
from redis.asyncio import Redis
from redis.exceptions import RedisError

WINDOW_SECONDS = 60.0
KEY_PREFIX = "zoo:login:"
REDIS_RETRY_SECONDS = 10.0

logger = logging.getLogger("zoo.auth")


class Window(Protocol):
    limit: int

    async def retry_after(self, key: str) -> float:
        """Record an attempt for ``key``; 0 when allowed, else seconds until one would be."""
        ...


class MemoryWindow:
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

    async def retry_after(self, key: str) -> float:
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


# One round trip, atomic: drop attempts older than the window, then refuse (with
# the wait) or record this one. The server's clock serves every instance alike.
_SLIDING_WINDOW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window_ms = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window_ms)
if redis.call('ZCARD', KEYS[1]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return tonumber(oldest[2]) + window_ms - now_ms
end
redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window_ms)
return 0
"""


class RedisWindow:
    def __init__(
        self,
        client: Redis,
        limit: int,
        window: float = WINDOW_SECONDS,
        prefix: str = KEY_PREFIX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.limit = limit
        self.window_ms = int(window * 1000)
        self.prefix = prefix
        self.script = client.register_script(_SLIDING_WINDOW)
        self.fallback = MemoryWindow(limit, window, clock)
        self.clock = clock
        self.down_until = 0.0

    async def retry_after(self, key: str) -> float:
        if self.clock() < self.down_until:
            return await self.fallback.retry_after(key)
        try:
            wait_ms = await self.script(
                keys=[self.prefix + key], args=[self.window_ms, self.limit, uuid.uuid4().hex]
            )
        except (RedisError, OSError) as exc:
            self.down_until = self.clock() + REDIS_RETRY_SECONDS
            logger.warning(
                "login rate limit: Redis unreachable, counting in process for %.0f s: %s",
                REDIS_RETRY_SECONDS,
                exc,
            )
            return await self.fallback.retry_after(key)
        return max(int(wait_ms), 0) / 1000


class LoginRateLimit:
    """A FastAPI dependency for the login and register routes: 429 with ``Retry-After``
    over the limit."""

    def __init__(self, window: Window) -> None:
        self.window = window

    async def __call__(self, request: Request) -> None:
        if request.method != "POST":
            return
        client = request.client.host if request.client else "unknown"
        if request.url.path.endswith("/register"):
            wait = await self.window.retry_after(f"register:address:{client}")
            what = "sign-ups"
        elif request.url.path.endswith("/login"):
            form = await request.form()
            email = str(form.get("username", "")).strip().lower()
            waits = [await self.window.retry_after(f"address:{client}")]
            if email:
                waits.append(await self.window.retry_after(f"email:{email}"))
            wait = max(waits)
            what = "login attempts"
        else:
            return
        if wait > 0:
            raise HTTPException(
                status_code=429,
                detail=f"Too many {what}; try again later",
                headers={"Retry-After": str(math.ceil(wait))},
            )
