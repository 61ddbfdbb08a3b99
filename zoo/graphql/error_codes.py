"""The one place where errors become GraphQL errors with ``extensions.code``.

Domain errors keep their message and gain their code (and, for bad input, the
offending fields by their GraphQL names). Anything unexpected is logged here
with its traceback and reaches the client only as a generic
``INTERNAL_SERVER_ERROR``: no exception text, SQL or stack ever leaves.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from starlette.responses import JSONResponse
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.utils.str_converters import to_camel_case

from zoo.core.errors import DomainError, ErrorCode, InvalidInput
from zoo.observability.request_ids import request_id
from zoo.storage.database import is_unavailable

logger = logging.getLogger("zoo.graphql")

GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
BAD_REQUEST = "BAD_REQUEST"
INTERNAL_MESSAGE = "Internal server error"
UNAVAILABLE_MESSAGE = "The database is unavailable; try again shortly"

# graphql-core's token limit and strawberry's introspection rule report plain errors;
# these give them codes a client can act on (the document limits carry their own).
LIMIT_CODES = (
    ("Document contains more than", "TOO_MANY_TOKENS"),
    ("GraphQL introspection has been disabled", "INTROSPECTION_DISABLED"),
)


def _with(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


_NULL_REFUSED = re.compile(r"Field '(\w+)' of type '[^']*' cannot be explicitly set to null")


def _null_refused(message: str) -> str | None:
    """Strawberry's words for a ``null`` sent where an input field must be a value or be
    left out (``Maybe`` of a non-null type), without its advice to Python developers."""
    found = _NULL_REFUSED.search(message)
    if found is None:
        return None
    return f"{found.group(1)} cannot be null: leave it out instead"


def format_error(error: GraphQLError, *, show_details: bool = False) -> GraphQLError:
    original = error.original_error
    refused = _null_refused(str(original or error.message))
    if refused is not None:
        # A literal null is refused by validation, a variable's at execution: alike here.
        return _with(error, refused, {"code": ErrorCode.BAD_USER_INPUT.value})
    if isinstance(original, DomainError):
        extensions: dict[str, Any] = {"code": original.code.value, **original.details()}
        message = original.message
        if isinstance(original, InvalidInput) and original.fields:
            extensions["fields"] = {to_camel_case(k): v for k, v in original.fields.items()}
            for field in original.fields:
                message = message.replace(field, to_camel_case(field))
        return _with(error, message, extensions)
    if isinstance(original, InvalidOperationTypeError):
        # Legacy graphql-ws runs only subscriptions (strawberry's rule there).
        message = f"{original.operation_type.value.capitalize()} operations are not run here"
        return _with(error, message, {"code": BAD_REQUEST})
    if isinstance(original, GraphQLError) and (original.extensions or {}).get("code"):
        return _with(error, original.message, dict(original.extensions or {}))
    if original is None and (error.extensions or {}).get("code"):
        return error
    if error.path is None and (original is None or isinstance(original, GraphQLError)):
        # A request error, found before anything ran: syntax, validation or variables.
        code = next((c for text, c in LIMIT_CODES if text in error.message), None)
        if code is None and isinstance(error, GraphQLSyntaxError):
            code = GRAPHQL_PARSE_FAILED
        elif code is None and error.message.startswith("Variable '$"):
            code = ErrorCode.BAD_USER_INPUT.value
        return _with(error, error.message, {"code": code or GRAPHQL_VALIDATION_FAILED})
    if is_unavailable(original):
        logger.warning("database unavailable at %s: %s", error.path, original)
        return _with(
            error, UNAVAILABLE_MESSAGE, {"code": SERVICE_UNAVAILABLE, "requestId": request_id.get()}
        )
    logger.error(
        "unexpected error at %s (request %s)",
        error.path,
        request_id.get(),
        exc_info=(type(original), original, original.__traceback__) if original else None,
    )
    message = (
        f"{INTERNAL_MESSAGE}: {original or error.message}" if show_details else INTERNAL_MESSAGE
    )
    extensions = {"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id.get()}
    return _with(error, message, extensions)


def internal_error_response() -> JSONResponse:
    """A coded 500 for an error raised outside GraphQL execution (a REST route, resolving
    the caller): no exception text, and the request id to quote."""
    error = {
        "message": INTERNAL_MESSAGE,
        "extensions": {
            "code": ErrorCode.INTERNAL_SERVER_ERROR.value,
            "requestId": request_id.get(),
        },
    }
    return JSONResponse({"errors": [error]}, status_code=500)


def format_errors(errors: list[GraphQLError], *, show_details: bool = False) -> None:
    """Apply :func:`format_error` to a result's errors, in place.

    Strawberry hands every result's error list to ``Schema.process_errors``
    exactly once, on every path (including a parse error raised by the parser
    cache), and edits it in place itself (field suggestions): the one hook
    that sees them all.
    """
    errors[:] = [format_error(error, show_details=show_details) for error in errors]
