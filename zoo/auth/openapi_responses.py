"""What the REST routes document beyond fastapi-users' own: the statuses Zoo adds
(rate limits, the same-origin rule for the cookie), in the one error shape every REST
error has (``zoo.server.rest_errors``), so that the OpenAPI document lists every status
a route can answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RestError(BaseModel):
    """Every REST error's body (the OpenAPI document names it for each status)."""

    code: str = Field(description="Machine-readable: fastapi-users' own, or the status's.")
    detail: Any = Field(description="fastapi-users' detail (its code or {code, reason}).")


def documented(status: int, description: str, **headers: str) -> dict[int | str, Any]:
    """A status a route may answer, for its OpenAPI ``responses``."""
    response: dict[str, Any] = {"model": RestError, "description": description}
    if headers:
        response["headers"] = {
            name: {"description": text, "schema": {"type": "integer"}}
            for name, text in headers.items()
        }
    return {status: response}


TOO_MANY_REQUESTS = documented(
    429,
    "TOO_MANY_REQUESTS: too many attempts from this address or for this account",
    **{"Retry-After": "Seconds to wait before trying again"},
)
CROSS_ORIGIN = documented(
    403, "CROSS_ORIGIN_REQUEST: the zoo-auth cookie sent by a page of another origin"
)
