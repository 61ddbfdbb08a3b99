"""Login and sign-up limits: slow password guessing without locking the owner out.

A login is refused (429, with ``Retry-After``) when

- its client address made ``N`` attempts in the last minute (``N`` is
  ``ZOO_LOGIN_ATTEMPTS_PER_MINUTE``), times three: one office behind one
  address holds many people;
- this address failed ``N`` times for this email in the last minute;
- the email failed ``10 N`` times in the last 15 minutes from anywhere, and
  this address has never logged in to it (in the last 30 days): a guessing
  campaign spread over many addresses is stopped, while the owner, at a
  known address, still gets in.

Only failures count against an email, so nobody can lock an account by
typing wrong passwords for it. Sign-ups, password resets and accepted
invitations are limited per address (``N`` a minute), to bound account creation
and its password hashing.

Routes that send mail (sign-up, forgot-password, request-verify-token) are
limited per address (``N`` a minute) and per e-mail address
(``ZOO_ACCOUNT_MAILS_PER_HOUR``): an address with no account counts exactly as
one with, or the 429 itself would tell which addresses have accounts. A request
refused for its client address does not count against the e-mail, so that
nobody can spend someone else's allowance from one address.

A sliding window of events per key. With ``ZOO_REDIS_URL`` the windows live
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
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from typing import Protocol

from fastapi import HTTPException, Request
from redis.asyncio import Redis
from redis.exceptions import RedisError

from zoo.auth.schemas import plain_spelling
from zoo.observability import metrics
from zoo.server.client_address import client_address

WINDOW_SECONDS = 60.0
EMAIL_WINDOW_SECONDS = 15 * 60.0
KNOWN_ADDRESS_SECONDS = 30 * 24 * 3600.0
MAIL_WINDOW_SECONDS = 3600.0
KEY_PREFIX = "zoo:login:"
REDIS_RETRY_SECONDS = 10.0

logger = logging.getLogger("zoo.auth")


class Window(Protocol):
    limit: int

    async def retry_after(self, key: str, record: bool = True) -> float:
        """0 when ``key`` is under its limit (and, with ``record``, count one more),
        else the seconds until it will be."""
        ...


class MemoryWindow:
    """A sliding window per key in this process.

    Keys whose events have all aged out are forgotten once the table doubles since
    the last sweep, so that a campaign over many keys costs memory in proportion to
    its live keys and amortized constant time per event (a sweep on every event past
    a fixed size rescanned every live key on the event loop). A lookup that records
    nothing adds no key.
    """

    def __init__(
        self,
        limit: int,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sweep_at: int = 100_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.hits: dict[str, deque[float]] = {}
        self.first_sweep = sweep_at
        self.sweep_at = sweep_at
        self.sweeps = 0

    async def retry_after(self, key: str, record: bool = True) -> float:
        now = self.clock()
        hits = self.hits.get(key)
        if hits is not None:
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return hits[0] + self.window - now
        if not record:
            return 0.0
        if hits is None:
            hits = self.hits[key] = deque()
        hits.append(now)
        if len(self.hits) > self.sweep_at:
            self._sweep(now)
        return 0.0

    def _sweep(self, now: float) -> None:
        self.sweeps += 1
        idle = [k for k, v in self.hits.items() if not v or v[-1] <= now - self.window]
        for key in idle:
            del self.hits[key]
        self.sweep_at = max(self.first_sweep, 2 * len(self.hits))


# One round trip, atomic: drop events older than the window, then refuse (with
# the wait) or, when asked to, record this one. The server's clock serves every instance alike.
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
if ARGV[4] ~= '1' then
    return 0
end
redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window_ms)
return 0
"""


class Outage:
    """When Redis was last found unreachable: shared by the windows on one client, so
    that an outage is logged once and waited out by all of them."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.down_until = 0.0

    @property
    def down(self) -> bool:
        return self.clock() < self.down_until

    def begin(self, exc: BaseException) -> None:
        self.down_until = self.clock() + REDIS_RETRY_SECONDS
        logger.warning(
            "login rate limit: Redis unreachable, counting in process for %.0f s: %s",
            REDIS_RETRY_SECONDS,
            exc,
        )


class RedisWindow:
    def __init__(
        self,
        client: Redis,
        limit: int,
        window: float = WINDOW_SECONDS,
        prefix: str = KEY_PREFIX,
        clock: Callable[[], float] = time.monotonic,
        outage: Outage | None = None,
    ) -> None:
        self.client = client
        self.limit = limit
        self.window_ms = int(window * 1000)
        self.prefix = prefix
        self.script = client.register_script(_SLIDING_WINDOW)
        self.fallback = MemoryWindow(limit, window, clock)
        self.outage = outage or Outage(clock)

    @property
    def down_until(self) -> float:
        return self.outage.down_until

    @down_until.setter
    def down_until(self, value: float) -> None:
        self.outage.down_until = value

    async def retry_after(self, key: str, record: bool = True) -> float:
        if self.outage.down:
            return await self.fallback.retry_after(key, record)
        try:
            wait_ms = await self.script(
                keys=[self.prefix + key],
                args=[self.window_ms, self.limit, uuid.uuid4().hex, "1" if record else "0"],
            )
        except (RedisError, OSError) as exc:
            self.outage.begin(exc)
            return await self.fallback.retry_after(key, record)
        return max(int(wait_ms), 0) / 1000


WindowFactory = Callable[[int, float], Window]
"""Makes a window of ``limit`` events per ``seconds`` (in Redis or in process)."""


def windows(redis: Redis | None) -> WindowFactory:
    """Windows in Redis when one is set (shared by every instance), else in process.
    A Redis that fails or hangs past its one-second timeout is stood in for by the
    in-process window, so that it never holds a login up."""
    if redis is None:
        return MemoryWindow
    outage = Outage()

    def in_redis(limit: int, seconds: float) -> Window:
        return RedisWindow(redis, limit, seconds, outage=outage)

    return in_redis


def login_key(email: str) -> str:
    """The account a login names, as the limits count it: every spelling that logs in to
    one account (letter case, compatibility forms) is one key, or varying the spelling
    would buy an attacker a fresh allowance of guesses at the same password."""
    return plain_spelling(email).strip().lower()


class LoginGuard:
    """The windows behind the limits above, and what a login's outcome records in them."""

    def __init__(self, per_minute: int, window: WindowFactory, mails_per_hour: int = 5) -> None:
        self.addresses = window(3 * per_minute, WINDOW_SECONDS)
        self.pairs = window(per_minute, WINDOW_SECONDS)
        self.emails = window(10 * per_minute, EMAIL_WINDOW_SECONDS)
        self.known = window(1, KNOWN_ADDRESS_SECONDS)
        self.sign_ups = window(per_minute, WINDOW_SECONDS)
        self.mail_addresses = window(per_minute, WINDOW_SECONDS)
        self.mail_emails = window(mails_per_hour, MAIL_WINDOW_SECONDS)

    async def mail_wait(self, email: str, address: str) -> float:
        """The wait before a request from ``address`` may have a mail sent to ``email``."""
        wait = await self.mail_addresses.retry_after(f"mail:address:{address}")
        if wait > 0:
            return wait
        return await self.mail_emails.retry_after(f"mail:email:{login_key(email)}")

    async def password_wait(self, address: str) -> float:
        """The wait before a request from ``address`` may set a password (a hash)."""
        return await self.sign_ups.retry_after(f"register:address:{address}")

    async def login_wait(self, email: str, address: str) -> float:
        waits = [await self.addresses.retry_after(f"address:{address}")]
        if email:
            waits.append(await self.pairs.retry_after(f"pair:{email}:{address}", record=False))
            if not await self._known(email, address):
                waits.append(await self.emails.retry_after(f"email:{email}", record=False))
        return max(waits)

    async def record(self, email: str, address: str, succeeded: bool) -> None:
        email = login_key(email)
        if succeeded:
            await self.known.retry_after(f"known:{email}:{address}")
            return
        await self.pairs.retry_after(f"pair:{email}:{address}")
        await self.emails.retry_after(f"email:{email}")

    async def _known(self, email: str, address: str) -> bool:
        """Whether this address logged in to this email lately (its window is full)."""
        return await self.known.retry_after(f"known:{email}:{address}", record=False) > 0


_login_attempt: ContextVar[tuple[LoginGuard, str] | None] = ContextVar(
    "login_attempt", default=None
)


async def record_login(email: str, succeeded: bool) -> None:
    """Called with a login's outcome (``UserManager.authenticate``), within the request
    that :class:`LoginRateLimit` let through."""
    metrics.LOGINS.labels("succeeded" if succeeded else "failed").inc()
    attempt = _login_attempt.get()
    if attempt is not None:
        guard, address = attempt
        await guard.record(email, address, succeeded)


class LoginRateLimit:
    """A FastAPI dependency for the login and register routes: 429 with ``Retry-After``
    over the limit."""

    def __init__(self, guard: LoginGuard) -> None:
        self.guard = guard

    async def __call__(self, request: Request) -> None:
        if request.method != "POST":
            return
        client = client_address(request.scope)
        if request.url.path.endswith(("/register", "/reset-password", "/accept-invitation")):
            wait = await self.guard.password_wait(client)
            what = "sign-ups" if request.url.path.endswith("/register") else "password changes"
        elif request.url.path.endswith("/login"):
            form = await request.form()
            email = login_key(str(form.get("username", "")))
            wait = await self.guard.login_wait(email, client)
            what = "login attempts"
            _login_attempt.set((self.guard, client))
        else:
            return
        if what == "login attempts" and wait > 0:
            metrics.LOGINS.labels("rate_limited").inc()
        refuse_if_waiting(wait, what)


def refuse_if_waiting(wait: float, what: str) -> None:
    """429 with ``Retry-After`` when a limit says to wait."""
    if wait > 0:
        metrics.REFUSALS.labels("TOO_MANY_REQUESTS").inc()
        raise HTTPException(
            status_code=429,
            detail=f"Too many {what}; try again later",
            headers={"Retry-After": str(math.ceil(wait))},
        )
