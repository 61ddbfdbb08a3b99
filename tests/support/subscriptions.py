"""Subscribing as clients do: over a WebSocket, and over SSE."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.support.accounts import PASSWORD
from zoo.auth.service import create_user
from zoo.config import Settings
from zoo.core.roles import Role
from zoo.storage.database import Database


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "ZOO_DATABASE_URL": database_url,
        "ZOO_ENV": "test",
        "ZOO_LOG_LEVEL": "warning",
        **extra,
    }


async def token_for(database_url: str, base: str, superuser: bool = True) -> str:
    database = Database(Settings(database_url=database_url))
    email = f"sub-{id(base)}-{superuser}@example.com"
    try:
        await create_user(database, email, PASSWORD, superuser=superuser, role=Role.CURATOR)
    finally:
        await database.dispose()
    async with httpx.AsyncClient(base_url=f"http://{base}") as http:
        response = await http.post(
            "/auth/jwt/login", data={"username": email, "password": PASSWORD}
        )
    return str(response.json()["access_token"])


@asynccontextmanager
async def subscription(
    base: str, query: str, variables: dict[str, Any] | None = None, params: Any = None
) -> AsyncIterator[ClientConnection]:
    async with connect(f"ws://{base}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": params or {}}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert ack["type"] == "connection_ack", ack
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": query, "variables": variables or {}},
                }
            )
        )
        # Let the server register the subscriber before the test mutates.
        await asyncio.sleep(0.3)
        yield ws


async def next_data(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:  # noqa: ASYNC109
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message["type"] == "next":
            assert "errors" not in message["payload"], message
            return dict(message["payload"]["data"])
        if message["type"] in {"error", "complete"}:
            raise AssertionError(message)


async def mutate(base: str, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://{base}") as http:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body: dict[str, Any] = response.json()
    return body


async def mutate_ok(base: str, token: str, query: str, **variables: Any) -> dict[str, Any]:
    """The data of a mutation sent over HTTP to ``base`` (a URL), which must succeed."""
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


SSE = {"Accept": "text/event-stream"}


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    """(event, data) pairs; a comment comes as ("comment", text)."""
    event, data = "", ""
    async for line in lines:
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data = line.split(":", 1)[1].strip()
        elif line == "" and event:
            yield event, data
            event, data = "", ""


async def lifecycle(base: str, token: str) -> list[str]:
    """Create, rename and delete an animal; the kinds its subscribers should see."""
    made = await mutate_ok(
        base, token, "mutation($n: String!) { createAnimal(input: {name: $n}) { id } }", n="Ada"
    )
    id_ = made["createAnimal"]["id"]
    await mutate_ok(
        base,
        token,
        'mutation($id: Int!) { updateAnimal(id: $id, input: {species: "owl"}) { id } }',
        id=id_,
    )
    await mutate_ok(base, token, "mutation($id: Int!) { deleteAnimal(id: $id) { id } }", id=id_)
    return ["CREATED", "UPDATED", "DELETED"]
