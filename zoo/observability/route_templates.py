"""The app's REST path templates (``/users/{id}``) and their methods, from the OpenAPI
document its router describes: FastAPI's included routers (the auth and users routes)
have no path of their own to read, and match by path and method together."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.openapi.utils import get_openapi
from starlette.routing import Router

_PARAMETER = re.compile(r"\{[^}/]+\}")


@dataclass(frozen=True, slots=True)
class RouteTemplate:
    pattern: re.Pattern[str]
    template: str
    methods: frozenset[str]


def route_templates(router: Router) -> list[RouteTemplate]:
    """Static templates first, so that ``/users/me`` is not taken for ``/users/{id}``."""
    document = get_openapi(title="routes", version="0", routes=router.routes)
    paths = document.get("paths", {})
    return [
        RouteTemplate(_pattern(template), template, frozenset(m.upper() for m in paths[template]))
        for template in sorted(paths, key=lambda t: (t.count("{"), t))
    ]


def template_of(templates: list[RouteTemplate], path: str) -> RouteTemplate | None:
    return next((t for t in templates if t.pattern.fullmatch(path)), None)


def _pattern(template: str) -> re.Pattern[str]:
    """``/users/{id}`` -> ``/users/[^/]+``."""
    return re.compile("[^/]+".join(map(re.escape, _PARAMETER.split(template))))
