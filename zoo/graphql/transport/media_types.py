"""Which media type answers a GraphQL request over HTTP, read from its ``Accept`` header.

Strawberry streams a request as Server-Sent Events whenever ``text/event-stream``
appears anywhere in ``Accept``. urql asks every query with
``application/graphql-response+json, ..., text/event-stream, multipart/mixed``,
so each urql query ran on the subscription path: refused (401) where
subscriptions need a login, outside the response-size limit and the operation
metrics, and framed as an event stream the client had ranked last. Here a
request streams only when its client ranks a stream above JSON or its operation
is a subscription, which only a stream can carry (as GraphQL Yoga chooses).
"""

from __future__ import annotations

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
SINGLE_RESULT_TYPES = frozenset({GRAPHQL_RESPONSE, JSON, "application/*", "*/*"})
STREAM_TYPES = frozenset({"text/event-stream", "multipart/mixed"})


def ranked(accept: str) -> list[str]:
    """The media types ``accept`` names with a quality above 0, the client's favourite
    first (by quality, then by position)."""
    weighed = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighed.append((-quality, position, media.lower()))
    return [media for _, _, media in sorted(weighed)]


def negotiate(accept: str) -> str:
    """The media type of one result: the GraphQL one when the client ranks it above
    plain JSON, else JSON."""
    best = next((media for media in ranked(accept) if media in SINGLE_RESULT_TYPES), JSON)
    return GRAPHQL_RESPONSE if best == GRAPHQL_RESPONSE else JSON


def prefers_single_result(accept: str) -> bool:
    """Whether the client ranks a JSON media type at least as high as every stream."""
    wanted = (m for m in ranked(accept) if m in SINGLE_RESULT_TYPES or m in STREAM_TYPES)
    return next(wanted, None) in SINGLE_RESULT_TYPES
