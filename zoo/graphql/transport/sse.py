"""Server-Sent Events framed with LF line ends, as the graphql-sse reference server and
GraphQL Yoga write them.

The SSE format allows CRLF too, which strawberry writes; but urql's parser splits
events at a blank LF line only, so a urql subscription over SSE saw no event at all.
"""

from __future__ import annotations

from strawberry.http.streaming import SSETransport


class LineFeedSSE(SSETransport):
    def encode_event(self, event: str, data: str | None = None) -> str:
        # Strawberry refuses data holding a line break, so every CRLF here is a line end.
        return super().encode_event(event, data).replace("\r\n", "\n")

    def encode_comment(self, comment: str) -> str:
        return super().encode_comment(comment).replace("\r\n", "\n")
