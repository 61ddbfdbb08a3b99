"""Clients of the app as front ends and the suite use it: GraphQL over HTTP, counted SQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.support.databases import dispose
from zoo.app import create_app
from zoo.auth.service import create_user
from zoo.config import Settings
from zoo.core.group_sizes import PURPOSE


class GraphQL:
    """Posts operations to /graphql the way a front end does."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        expect_errors: bool = False,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if not expect_errors:
            assert "errors" not in body, body
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> Any:
        return (await self(query, variables, token))["data"]

    async def error(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        body = await self(query, variables, token, expect_errors=True)
        assert len(body.get("errors", [])) == 1, body
        error: dict[str, Any] = body["errors"][0]
        return error


class StatementCounter:
    """Statements run to answer a request; the cost estimate's reads of list sizes (made
    once per change, see ``core.group_sizes``) are kept apart, in ``estimates``."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.estimates: list[str] = []

    def __call__(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, *args: Any
    ) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() not in {
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
            "WITH",
        }:
            return
        if context is not None and context.execution_options.get(PURPOSE):
            self.estimates.append(statement)
        else:
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


class Http:
    """Drives the ASGI app from synchronous hypothesis tests, on one event loop of its own."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.app = create_app(settings)
        transport = httpx.ASGITransport(app=self.app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://fuzz")
        self.token = self.run(self._superuser_token())

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    async def _superuser_token(self) -> str:
        await create_user(
            self.app.state.database, "fuzz@example.com", "fuzz password!", superuser=True
        )
        form = {"username": "fuzz@example.com", "password": "fuzz password!"}
        response = await self.client.post("/auth/jwt/login", data=form)
        return str(response.json()["access_token"])

    def post(self, **kwargs: Any) -> httpx.Response:
        return self.run(self.client.post("/graphql", **kwargs))  # type: ignore[no-any-return]

    def close(self) -> None:
        self.run(self.client.aclose())
        self.run(dispose(self.app))
        self.loop.close()
