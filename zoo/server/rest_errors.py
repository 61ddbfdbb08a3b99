"""One shape for every REST error: ``{"code": "...", "detail": ...}``.

``code`` is machine-readable on every error; ``detail`` is what fastapi-users' clients
already read (its error code as a string, or ``{code, reason}``), or a sentence. The
code is fastapi-users' own where it gives one (``LOGIN_BAD_CREDENTIALS``), else the
status's (``TOO_MANY_REQUESTS``, ``NOT_FOUND``...). Headers such as ``Retry-After``,
``Allow`` and ``WWW-Authenticate`` are kept.
"""

from __future__ import annotations

import re
from enum import Enum
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from zoo.observability.route_templates import route_templates, template_of

CODES_BY_STATUS = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "BAD_USER_INPUT",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
_CODE = re.compile(r"[A-Z][A-Z0-9_]{2,63}")


def code_of(status: int, detail: Any) -> str:
    given = detail.get("code") if isinstance(detail, dict) else detail
    if isinstance(given, Enum):  # fastapi-users' ErrorCode
        given = given.value
    if isinstance(given, str) and _CODE.fullmatch(given):
        return given
    return CODES_BY_STATUS.get(status, f"HTTP_{status}")


def rest_error(
    status: int, detail: Any, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"code": code_of(status, detail), "detail": detail, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.detail is not None else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return rest_error(exc.status_code, detail, headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method the path is served with. Starlette's ``Allow`` names those of the
    first route whose path matched, and FastAPI's included routers split one path's
    methods over several (``/users/me`` answered ``Allow: GET`` while PATCH is served)."""
    state = request.app.state
    templates = getattr(state, "route_templates", None)
    if templates is None:
        templates = state.route_templates = route_templates(request.app.router)
    found = template_of(templates, request.url.path)
    if found is None:
        return []
    methods = set(found.methods)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)
