"""``/graphql`` over HTTP skips FastAPI's stack (``zoo.server.edge``): what that stack did
for it still holds, errors raised before GraphQL runs included."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.databases import dispose
from zoo.app import create_app
from zoo.config import Settings

QUERY = {"query": "{ __typename }"}


async def test_graphql_answers_with_every_edge_header(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=QUERY, headers={"x-request-id": "given-1"})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
    assert response.headers["x-request-id"] == "given-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    large = await client.post(
        "/graphql",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert large.status_code == 413
    assert large.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_an_unexpected_error_resolving_the_caller_is_a_coded_500(
    app: Any, client: httpx.AsyncClient
) -> None:
    async def broken(_: str) -> None:
        raise RuntimeError("a bug in the token lookup")

    app.state.auth._login_for_token = broken
    response = await client.post(
        "/graphql", json=QUERY, headers={"authorization": "Bearer some-token"}
    )
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": response.headers["x-request-id"],
    }
    assert "token lookup" not in response.text


async def test_a_database_down_while_resolving_the_caller_is_a_503() -> None:
    # Nothing listens on port 1: resolving the bearer token cannot reach the database.
    settings = Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none", env="test")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://zoo") as http:
            response = await http.post(
                "/graphql", json=QUERY, headers={"authorization": "Bearer some-token"}
            )
            anonymous = await http.post("/graphql", json=QUERY)
    finally:
        await dispose(app)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert anonymous.status_code == 200


@pytest.mark.parametrize("path", ["/graphql", "/health"])
async def test_routes_under_a_path_prefix(app: Any, path: str) -> None:
    transport = httpx.ASGITransport(app=app, root_path="/zoo")
    async with httpx.AsyncClient(transport=transport, base_url="http://zoo") as http:
        response = await http.request(
            "POST" if path == "/graphql" else "GET", "/zoo" + path, json=QUERY
        )
    assert response.status_code == 200
    assert response.headers["x-request-id"]
