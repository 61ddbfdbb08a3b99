"""Automatic persisted queries: Apollo's protocol, which Apollo Client, urql and most
other clients speak. A client sends a query's SHA-256 in place of the query (a short
GET a CDN can cache, a smaller POST), and the query itself only when told that the
server does not know it yet.

Strawberry has none (strawberry#1707), and a client with the persisted-queries link
failed every request here: "No GraphQL query found" was no answer it understood.
Queries are remembered up to a number of characters, least recently used first out:
per process, or, with ``ZOO_REDIS_URL``, in Redis, shared by every instance (a client
behind a load balancer registers its query once, not once per instance). A client
that finds its query forgotten (a restart, an eviction) sends it again, as the
protocol has it. While Redis cannot answer, each process remembers its own.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import OrderedDict

from cross_web import HTTPException
from redis.asyncio import Redis
from redis.exceptions import RedisError
from strawberry.http import GraphQLRequestData

logger = logging.getLogger(__name__)

VERSION = 1
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


class PersistedQueryRefused(HTTPException):
    """A refusal a client acts on by its code (and Apollo's clients, by its message)."""

    def __init__(self, status_code: int, reason: str, code: str) -> None:
        super().__init__(status_code, reason)
        self.code = code


class PersistedQueries:
    """The queries clients have registered, by digest; none kept where ``max_characters``
    is 0 (clients are told so, and send queries in full from then on)."""

    def __init__(self, max_characters: int, redis: Redis | None = None) -> None:
        self.max_characters = max_characters
        self._queries: OrderedDict[str, str] = OrderedDict()
        self._characters = 0
        self.shared = None if redis is None else SharedQueries(redis, max_characters)

    async def resolve(self, request: GraphQLRequestData) -> None:
        """Fill in the query of a request that names one by its digest, and remember a
        query sent with its digest; refuse a digest that is unknown or does not match."""
        persisted = (request.extensions or {}).get("persistedQuery")
        if persisted is None:
            return
        if self.max_characters == 0:
            raise PersistedQueryRefused(400, "PersistedQueryNotSupported", NOT_SUPPORTED)
        if not isinstance(persisted, dict) or persisted.get("version") != VERSION:
            raise PersistedQueryRefused(
                400, f"Unsupported persisted query version: use {VERSION}", "BAD_REQUEST"
            )
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise PersistedQueryRefused(
                400, "persistedQuery.sha256Hash must be 64 hexadecimal digits", "BAD_REQUEST"
            )
        digest = digest.lower()
        if request.query is None:
            query = await self._recall(digest)
            if query is None:
                raise PersistedQueryRefused(404, "PersistedQueryNotFound", NOT_FOUND)
            request.query = query
            return
        if hashlib.sha256(request.query.encode("utf-8", "surrogatepass")).hexdigest() != digest:
            raise PersistedQueryRefused(
                400, "persistedQuery.sha256Hash is not the query's SHA-256", "BAD_REQUEST"
            )
        if self.shared is not None and await self.shared.remember(digest, request.query):
            return
        self._remember(digest, request.query)

    async def _recall(self, digest: str) -> str | None:
        if self.shared is not None:
            query = await self.shared.recall(digest)
            if query is not None:
                return query
        query = self._queries.get(digest)
        if query is not None:
            self._queries.move_to_end(digest)
        return query

    def _remember(self, digest: str, query: str) -> None:
        if digest in self._queries:
            self._queries.move_to_end(digest)
            return
        if len(query) > self.max_characters:
            return
        self._queries[digest] = query
        self._characters += len(query)
        while self._characters > self.max_characters:
            _, forgotten = self._queries.popitem(last=False)
            self._characters -= len(forgotten)

    def __len__(self) -> int:
        return len(self._queries)


SHARED_PREFIX = "zoo:apq:"
REDIS_RETRY_SECONDS = 30.0

_REMEMBER = """
-- KEYS: the query's key, the index (digest by last use), the characters held.
-- ARGV: digest, query, now (ms), the most characters to hold, the key prefix.
if redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
    return 0
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local held = redis.call('INCRBY', KEYS[3], string.len(ARGV[2]))
while held > tonumber(ARGV[4]) do
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)
    if #oldest == 0 then break end
    local key = ARGV[5] .. oldest[1]
    held = redis.call('DECRBY', KEYS[3], redis.call('STRLEN', key))
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[2], oldest[1])
end
return 1
"""


class SharedQueries:
    """The queries in Redis, least recently used first out past ``max_characters`` (one
    script per registration, so that instances registering at once keep the bound).
    A failure or a hang past the client's timeout makes the caller fall back to its
    own memory for ``REDIS_RETRY_SECONDS``, logged once."""

    def __init__(self, redis: Redis, max_characters: int, prefix: str = SHARED_PREFIX) -> None:
        self.redis = redis
        self.max_characters = max_characters
        self.prefix = prefix
        self.script = redis.register_script(_REMEMBER)
        self.down_until = 0.0

    async def recall(self, digest: str) -> str | None:
        if time.monotonic() < self.down_until:
            return None
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(self.prefix + digest)
                pipe.zadd(self.prefix + "index", {digest: time.time() * 1000}, xx=True)
                found, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            self._down(exc)
            return None
        return None if found is None else found.decode("utf-8", "surrogatepass")

    async def remember(self, digest: str, query: str) -> bool:
        """Whether Redis now holds it (False: it could not answer)."""
        if time.monotonic() < self.down_until:
            return False
        keys = [self.prefix + digest, self.prefix + "index", self.prefix + "characters"]
        text = query.encode("utf-8", "surrogatepass")
        args: list[bytes | str | int] = [
            digest,
            text,
            int(time.time() * 1000),
            self.max_characters,
            self.prefix,
        ]
        try:
            await self.script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            self._down(exc)
            return False
        return True

    def _down(self, exc: BaseException) -> None:
        self.down_until = time.monotonic() + REDIS_RETRY_SECONDS
        logger.warning(
            "persisted queries: Redis unreachable, each process keeps its own for %.0f s: %s",
            REDIS_RETRY_SECONDS,
            exc,
        )
