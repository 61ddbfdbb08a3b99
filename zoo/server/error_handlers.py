"""Errors raised outside GraphQL execution, answered with a code instead of a traceback."""

from __future__ import annotations

import json
import logging

import asyncpg
from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError

from zoo.graphql.error_codes import (
    INTERNAL_MESSAGE,
    SERVICE_UNAVAILABLE,
    UNAVAILABLE_MESSAGE,
    internal_error_response,
)
from zoo.observability.request_ids import request_id
from zoo.server.edge import GRAPHQL_PATH, Handler, route_path
from zoo.server.rest_errors import CODES_BY_STATUS, rest_error
from zoo.storage.database import UNAVAILABLE_ERRORS, is_unavailable

logger = logging.getLogger("zoo")

# asyncpg raises its own errors, unwrapped by SQLAlchemy, when a new connection
# is dropped while it is being opened.
ASYNCPG_ERRORS = (asyncpg.InterfaceError, asyncpg.InternalClientError, asyncpg.PostgresError)


async def invalid_request(request: Request, exc: Exception) -> Response:
    """FastAPI's 422, with the input it echoes escaped to ASCII: a JSON body may hold half
    of a surrogate pair (``"\\ud800"``), which FastAPI's own handler cannot encode."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    body = json.dumps(
        {"code": CODES_BY_STATUS[422], "detail": jsonable_encoder(errors)},
        ensure_ascii=True,
        separators=(",", ":"),
    )
    return Response(body, status_code=422, media_type="application/json")


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """Outside GraphQL execution (auth routes, resolving the user): 503 when the
    database could not be reached (a dropped connection included), else a coded 500."""
    rest = route_path(request.scope) != GRAPHQL_PATH
    if not is_unavailable(exc):
        logger.error("database error (request %s)", request_id.get(), exc_info=exc)
        if rest:
            return rest_error(500, INTERNAL_MESSAGE, requestId=request_id.get())
        return internal_error_response()
    logger.warning("database unavailable: %s", exc)
    retry = {"Retry-After": "5"}
    if rest:
        return rest_error(503, UNAVAILABLE_MESSAGE, retry)
    error = {"message": UNAVAILABLE_MESSAGE, "extensions": {"code": SERVICE_UNAVAILABLE}}
    return JSONResponse({"errors": [error]}, status_code=503, headers=retry)


def database_error_handlers() -> dict[type[Exception], Handler]:
    """One handler for every way a database error reaches a route or the view."""
    kinds = (*UNAVAILABLE_ERRORS, DBAPIError, *ASYNCPG_ERRORS)
    return dict.fromkeys(kinds, database_unavailable)
