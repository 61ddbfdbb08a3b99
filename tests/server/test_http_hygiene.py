"""HTTP hygiene: exact, case-blind media types; security headers everywhere; no OpenAPI
description in production unless asked for."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.support.databases import dispose
from zoo.app import create_app
from zoo.config import Settings

PRODUCTION = {"env": "production", "secret": "s" * 40}


@pytest.fixture
def app_with(database_url: str) -> Callable[..., Any]:
    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(Settings(**{"database_url": database_url, "env": "test", **overrides}))
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://zoo") as http:
                yield http
        finally:
            await dispose(app)

    return make


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json", 200),
        ("APPLICATION/JSON", 200),
        ("Application/Json; charset=UTF-8", 200),
        ("application/jsonx", 415),
        ("application/json-patch+json", 415),
        ("text/json", 415),
    ],
)
async def test_media_types_compare_exactly_and_ignoring_case(
    client: httpx.AsyncClient, content_type: str, status: int
) -> None:
    body = json.dumps({"query": "{ __typename }"})
    response = await client.post("/graphql", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    if status == 415:
        assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    else:
        assert response.json() == {"data": {"__typename": "Query"}}


async def test_every_response_carries_the_security_headers(
    app_with: Callable[..., Any],
) -> None:
    async with app_with() as http:
        for response in (
            await http.get("/health"),
            await http.post("/graphql", json={"query": "{ __typename }"}),
            await http.post("/graphql", content=b"{", headers={"Content-Type": "application/json"}),
            await http.get("/nowhere"),
            await http.get("/graphql", headers={"Accept": "text/html"}),
        ):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "same-origin"
            assert response.headers["x-frame-options"] == "DENY"
            assert "strict-transport-security" not in response.headers
    async with app_with(**PRODUCTION) as https:
        hsts = (await https.get("/health")).headers["strict-transport-security"]
        assert hsts.startswith("max-age=")


async def test_openapi_is_off_in_production_unless_asked_for(
    app_with: Callable[..., Any],
) -> None:
    async with app_with() as development:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await development.get(path)).status_code == 200, path
    async with app_with(**PRODUCTION) as production:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await production.get(path)).status_code == 404, path
    async with app_with(**PRODUCTION, api_docs=True) as opted_in:
        assert (await opted_in.get("/openapi.json")).status_code == 200
