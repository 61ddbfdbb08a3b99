"""Every operation's figures, whatever carried it: counted by type, name and outcome,
timed, and logged when slow.

Queries and mutations over plain HTTP are observed by the view
(``execute_single``); whatever a stream carries (every operation on a
WebSocket, a subscription over SSE or multipart, a query whose client asked
for a stream) by the schema's ``stream``: every operation shows in the metrics
and the slow-operation log, whatever carried it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import aclosing
from types import TracebackType
from typing import TypeVar

from graphql import GraphQLError

from zoo.observability import logs, metrics

logger = logging.getLogger("zoo.graphql")

_NAME = r"[_A-Za-z][_0-9A-Za-z]*"
_IGNORED = r"(?:[\s,]|#[^\n]*+)*+"
_FIRST_OPERATION = re.compile(
    rf"{_IGNORED}(query|mutation|subscription)(?![_0-9A-Za-z]){_IGNORED}({_NAME})?"
)
"""The first operation's type and name, if it has one. Possessive (``*+``): a comment runs
to its line's end, and what is skipped is never given back. Without them, a line of ``#``
could be split into comments in 2^n ways, and every way was tried: 35 bytes held the event
loop for half an hour."""

UNKNOWN_OUTCOME = "INTERNAL_SERVER_ERROR"
"""The outcome of an operation that ended by an exception, before any result."""

R = TypeVar("R")


def operation_of(query: object, operation_name: object) -> tuple[str, str]:
    """The operation's type and name, for the logs and metrics, without parsing: the
    name asked for, else the document's first operation's (all a one-operation document
    needs), else ``(unnamed)``; a type it does not find is ``query``. A name asked for
    that is not a GraphQL name names no operation, and is ``(invalid)`` here: the text
    a client sends there reaches no log line or metric label (a line break in it
    forged a line of the text log)."""
    query = query if isinstance(query, str) else ""
    if isinstance(operation_name, str) and operation_name:
        if not re.fullmatch(_NAME, operation_name):
            return "query", metrics.INVALID
        found = re.search(
            rf"\b(query|mutation|subscription)\s+{re.escape(operation_name)}\b", query
        )
        return (found.group(1) if found else "query"), operation_name[:100]
    first = _FIRST_OPERATION.match(query)
    if first is None:
        return "query", metrics.UNNAMED
    return first.group(1), (first.group(2) or metrics.UNNAMED)[:100]


def outcome_of(errors: Iterable[GraphQLError] | None) -> str:
    """``ok``, or the first error's code."""
    for error in errors or ():
        return str((error.extensions or {}).get("code", UNKNOWN_OUTCOME))
    return "ok"


class Observed:
    """One operation from its start to its outcome.

    A subscription is counted, but neither timed nor logged as slow: it lasts as
    long as its client wants.
    """

    def __init__(self, kind: str, name: str, slow_ms: float) -> None:
        self.kind = kind
        self.name = name
        self.slow_ms = slow_ms
        self.outcome = UNKNOWN_OUTCOME
        self.statements = [0]
        self.started = 0.0

    def __enter__(self) -> Observed:
        logs.operation_name.set(self.name)
        logs.statements.set(self.statements)
        self.started = time.perf_counter()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if self.kind == "subscription":
            metrics.observe_operation(self.kind, self.name, self.outcome, None)
            return
        seconds = time.perf_counter() - self.started
        metrics.observe_operation(self.kind, self.name, self.outcome, seconds)
        elapsed_ms = seconds * 1000
        if elapsed_ms > self.slow_ms:
            logger.warning(
                "slow operation %s: %.0f ms, %d SQL statements",
                self.name,
                elapsed_ms,
                self.statements[0],
                extra={"duration_ms": round(elapsed_ms, 1), "statements": self.statements[0]},
            )


async def observed_stream(
    results: AsyncGenerator[R, None], kind: str, name: str, slow_ms: float
) -> AsyncIterator[R]:
    """``results`` as they come, observed as one operation: its outcome is the first
    error's code among them (``ok`` if none); one that a client ends is ``ok``."""
    with Observed(kind, name, slow_ms) as observed:
        observed.outcome = "ok"
        async with aclosing(results):
            try:
                async for result in results:
                    errors = getattr(result, "errors", None)
                    if errors and observed.outcome == "ok":
                        observed.outcome = outcome_of(errors)
                    yield result
            except Exception:
                if observed.outcome == "ok":
                    observed.outcome = UNKNOWN_OUTCOME
                raise
