"""Automatic persisted queries: Apollo's protocol, which Apollo Client, urql and most
other clients speak. A client sends a query's SHA-256 in place of the query (a short
GET a CDN can cache, a smaller POST), and the query itself only when told that the
server does not know it yet.

Strawberry has none (strawberry#1707), and a client with the persisted-queries link
failed every request here: "No GraphQL query found" was no answer it understood.
Queries are remembered per process, least recently used first out, up to a number of
characters: a client that finds its query forgotten (another process, a restart, an
eviction) sends it again, as the protocol has it.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict

from cross_web import HTTPException
from strawberry.http import GraphQLRequestData

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

    def __init__(self, max_characters: int) -> None:
        self.max_characters = max_characters
        self._queries: OrderedDict[str, str] = OrderedDict()
        self._characters = 0

    def resolve(self, request: GraphQLRequestData) -> None:
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
            query = self._queries.get(digest)
            if query is None:
                raise PersistedQueryRefused(404, "PersistedQueryNotFound", NOT_FOUND)
            self._queries.move_to_end(digest)
            request.query = query
            return
        if hashlib.sha256(request.query.encode("utf-8", "surrogatepass")).hexdigest() != digest:
            raise PersistedQueryRefused(
                400, "persistedQuery.sha256Hash is not the query's SHA-256", "BAD_REQUEST"
            )
        self._remember(digest, request.query)

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
