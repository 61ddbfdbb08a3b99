"""Python's ``gql`` client, as a Python front end uses it, against a real server.

Queries and mutations go over HTTP (gql's httpx transport, with a real
token); subscriptions over WebSocket on both subprotocols. Both fail if the
server sends a binary frame (``TransportProtocolError: Binary data received``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from bench.http import serve
from tests.support.subscriptions import server_env, token_for

EVENTS = gql("subscription { animalEvents { kind animal { id name species } } }")
CREATE = gql("mutation($n: String!) { createAnimal(input: {name: $n}) { id } }")
UPDATE = gql('mutation($id: Int!) { updateAnimal(id: $id, input: {species: "owl"}) { id } }')
DELETE = gql("mutation($id: Int!) { deleteAnimal(id: $id) { id } }")

pytestmark = pytest.mark.interop


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    with serve("zoo.main:app", server_env(database_url)) as port:
        yield f"127.0.0.1:{port}"


async def mutations(server: str, token: str) -> None:
    transport = HTTPXAsyncTransport(
        url=f"http://{server}/graphql", headers={"Authorization": f"Bearer {token}"}
    )
    async with Client(transport=transport) as session:
        created = await session.execute(GraphQLRequest(CREATE, variable_values={"n": "Gql"}))
        id_ = created["createAnimal"]["id"]
        await session.execute(GraphQLRequest(UPDATE, variable_values={"id": id_}))
        await session.execute(GraphQLRequest(DELETE, variable_values={"id": id_}))


@pytest.mark.parametrize(
    "subprotocol",
    [WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL, WebsocketsTransport.APOLLO_SUBPROTOCOL],
)
async def test_gql_subscribes_over_websocket(
    server: str, database_url: str, subprotocol: str
) -> None:
    token = await token_for(database_url, server)
    transport = WebsocketsTransport(
        url=f"ws://{server}/graphql",
        subprotocols=[subprotocol],
        init_payload={"Authorization": f"Bearer {token}"},
    )
    async with Client(transport=transport) as session:
        events: list[dict[str, Any]] = []

        async def collect() -> None:
            async for result in session.subscribe(EVENTS):
                events.append(result["animalEvents"])
                if len(events) == 3:
                    return

        listening = asyncio.create_task(collect())
        await asyncio.sleep(0.5)  # the subscription is registered
        await mutations(server, token)
        await asyncio.wait_for(listening, 10)
    assert transport.subprotocol == subprotocol
    assert [event["kind"] for event in events] == ["CREATED", "UPDATED", "DELETED"]
    assert events[1]["animal"]["species"] == "owl"
    assert events[0]["animal"]["name"] == "Gql"


async def test_gql_queries_over_http_and_websocket(server: str) -> None:
    query = gql("{ animals(first: 1) { totalCount } }")
    async with Client(transport=HTTPXAsyncTransport(url=f"http://{server}/graphql")) as http:
        assert await http.execute(query) == {"animals": {"totalCount": 0}}
    transport = WebsocketsTransport(
        url=f"ws://{server}/graphql", subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL]
    )
    async with Client(transport=transport) as socket:
        assert await socket.execute(query) == {"animals": {"totalCount": 0}}


RESUMING = gql(
    "subscription($after: String) { animalEvents(after: $after) { kind cursor animal { name } } }"
)


async def test_gql_resumes_a_subscription_from_its_last_cursor(
    server: str, database_url: str
) -> None:
    """A client that dropped subscribes again with the last cursor it handled: it gets
    what it missed, then live events, as gql hands them to the application."""
    token = await token_for(database_url, server)
    transport = WebsocketsTransport(
        url=f"ws://{server}/graphql", subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL]
    )
    async with Client(transport=transport) as session:
        first: dict[str, Any] = {}

        async def one() -> None:
            async for result in session.subscribe(RESUMING):
                first.update(result["animalEvents"])
                return

        listening = asyncio.create_task(one())
        await asyncio.sleep(0.5)
        await mutations(server, token)  # created, updated, deleted
        await asyncio.wait_for(listening, 10)
    assert first["kind"] == "CREATED"

    transport = WebsocketsTransport(
        url=f"ws://{server}/graphql", subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL]
    )
    async with Client(transport=transport) as session:
        resumed: list[dict[str, Any]] = []

        async def rest() -> None:
            request = GraphQLRequest(RESUMING, variable_values={"after": first["cursor"]})
            async for result in session.subscribe(request):
                resumed.append(result["animalEvents"])
                if len(resumed) == 2:
                    await mutations(server, token)  # live ones follow the replay
                if len(resumed) == 5:
                    return

        await asyncio.wait_for(rest(), 10)
    assert [event["kind"] for event in resumed] == [
        "UPDATED",
        "DELETED",
        "CREATED",
        "UPDATED",
        "DELETED",
    ]
    cursors = [first["cursor"], *(event["cursor"] for event in resumed)]
    assert len(set(cursors)) == 6
