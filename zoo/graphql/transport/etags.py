"""Strong ETags for the answers shared caches may keep, and ``304 Not Modified``.

Only an anonymous GET answer without errors, while ``ZOO_GRAPHQL_CACHE_SECONDS`` lets
caches keep it (``Cache-Control: public``), carries one: the tag is a digest of the
exact bytes, so a client or CDN that revalidates with ``If-None-Match`` is told
"unchanged" without the body. An answer to a login, one with errors, and a stream
never have one (there is nothing a cache may reuse).
"""

from __future__ import annotations

import hashlib

from starlette.responses import Response

MAX_CONDITION_LENGTH = 2048
"""An ``If-None-Match`` longer than this is ignored (answered in full)."""


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(condition: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 says for
    this header; anything malformed matches nothing)."""
    if not condition or len(condition) > MAX_CONDITION_LENGTH:
        return False
    if condition.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in condition.split(","))


def cacheable(response: Response) -> bool:
    return response.headers.get("cache-control", "").startswith("public")


def not_modified(response: Response, etag: str) -> Response:
    """The 304 for ``response``: no body, the headers a cache refreshes its copy with."""
    kept = {
        name: value
        for name, value in response.headers.items()
        if name in {"cache-control", "vary", "x-request-id"}
    }
    return Response(status_code=304, headers={**kept, "ETag": etag})
