"""Addresses that keep sending documents over the limits are turned away unread for a while.

A refused document costs little (the checks are linear), but a client that
sends them as fast as the answers come back still takes the loop's time from
everyone else: parsing and measuring a refused document costs about as much
as answering a small read. Past ``ZOO_MAX_REFUSALS_PER_MINUTE`` documents
refused for their size, depth, aliases, cost or response size, an address gets
429 (``TOO_MANY_REQUESTS``, with ``Retry-After``) before its body is read,
until its oldest refusal is a minute old. That 429 comes after a pause
(``TARPIT_SECONDS``), which costs the server nothing but slows a client that
sends its next request as soon as it has an answer. A person who writes one query too
many now and then never comes near; a script that floods does.

Counted per process, on purpose: it is this process's loop that is protected.
"""

from __future__ import annotations

from collections.abc import Iterable

from zoo.auth.rate_limit import MemoryWindow
from zoo.graphql.limits.cost import QUERY_TOO_COMPLEX
from zoo.graphql.limits.response_size import RESPONSE_TOO_LARGE
from zoo.graphql.limits.validation import QUERY_TOO_DEEP, QUERY_TOO_LARGE, TOO_MANY_ALIASES

TARPIT_SECONDS = 1.0

OVER_LIMIT_CODES = frozenset(
    {
        QUERY_TOO_COMPLEX,
        QUERY_TOO_DEEP,
        QUERY_TOO_LARGE,
        TOO_MANY_ALIASES,
        RESPONSE_TOO_LARGE,
        "TOO_MANY_TOKENS",
        "PAYLOAD_TOO_LARGE",
    }
)


class RefusalsPerAddress:
    def __init__(self, per_minute: int) -> None:
        self.window = MemoryWindow(per_minute)

    async def wait(self, address: str) -> float:
        """Seconds until ``address`` may send documents again; 0 when it may now."""
        return await self.window.retry_after(address, record=False)

    async def note(self, address: str, codes: Iterable[object]) -> None:
        """Count one refusal against ``address`` if an error code says its document was
        over a limit."""
        if any(code in OVER_LIMIT_CODES for code in codes):
            await self.window.retry_after(address)
