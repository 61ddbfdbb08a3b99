"""Subscriptions over real WebSockets to real uvicorn servers, fed by mutations over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.http import serve
from tests.support.accounts import PASSWORD
from tests.support.subscriptions import mutate, next_data, server_env, subscription, token_for
from zoo.auth.service import create_user
from zoo.config import Settings
from zoo.core.roles import Role
from zoo.storage.database import Database

pytestmark = pytest.mark.slow
"""Real server processes, or long waits for deadlines."""

ANIMAL_EVENTS = (
    "subscription($e: Int) { animalEvents(exhibitId: $e) { kind animal { id name exhibitId"
    " deletedAt exhibit { name } } } }"
)


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    """A real server on a free port, over the test's migrated database; yields its base URL."""
    env = server_env(database_url)
    with serve("zoo.main:app", env) as port:
        yield f"127.0.0.1:{port}"


async def close_code_at_init(base: str, payload: dict[str, Any]) -> int:
    """Send ``connection_init`` and return the code the server closes the socket with."""
    async with connect(f"ws://{base}/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_created_updated_deleted_and_moves(server: str, database_url: str) -> None:
    token = await token_for(database_url, server)
    make = "mutation($n: String!) { createExhibit(input: {name: $n}) { id } }"
    north = (await mutate(server, token, make, {"n": "North"}))["data"]["createExhibit"]["id"]
    south = (await mutate(server, token, make, {"n": "South"}))["data"]["createExhibit"]["id"]
    async with (
        subscription(server, ANIMAL_EVENTS) as everything,
        subscription(server, ANIMAL_EVENTS, {"e": north}) as only_north,
        subscription(server, ANIMAL_EVENTS, {"e": south}) as only_south,
    ):
        created = await mutate(
            server,
            token,
            'mutation($e: Int) { createAnimal(input: {name: "Rex", exhibitId: $e}) { id } }',
            {"e": north},
        )
        animal = created["data"]["createAnimal"]["id"]
        event = (await next_data(everything))["animalEvents"]
        assert event == {
            "kind": "CREATED",
            "animal": {
                "id": animal,
                "name": "Rex",
                "exhibitId": north,
                "deletedAt": None,
                "exhibit": {"name": "North"},
            },
        }
        assert (await next_data(only_north))["animalEvents"]["kind"] == "CREATED"

        await mutate(
            server,
            token,
            "mutation($id: Int!, $e: Int) { updateAnimal(id: $id, input: {exhibitId: $e}) { id } }",
            {"id": animal, "e": south},
        )
        moved = (await next_data(everything))["animalEvents"]
        assert moved["kind"] == "UPDATED"
        assert moved["animal"]["exhibit"] == {"name": "South"}
        # A move counts for the exhibit left and the exhibit entered.
        assert (await next_data(only_north))["animalEvents"]["kind"] == "UPDATED"
        assert (await next_data(only_south))["animalEvents"]["kind"] == "UPDATED"

        await mutate(
            server, token, "mutation($id: Int!) { deleteAnimal(id: $id) { id } }", {"id": animal}
        )
        deleted = (await next_data(everything))["animalEvents"]
        assert deleted["kind"] == "DELETED"
        assert deleted["animal"]["deletedAt"] is not None
        assert (await next_data(only_south))["animalEvents"]["kind"] == "DELETED"
        # North saw nothing more: the deletion happened in the south.
        with pytest.raises(TimeoutError):
            await next_data(only_north, timeout=0.5)


async def test_refused_mutation_publishes_nothing(server: str, database_url: str) -> None:
    token = await token_for(database_url, server)
    async with subscription(server, ANIMAL_EVENTS) as ws:
        refused = await mutate(
            server,
            token,
            'mutation { createAnimal(input: {name: "", exhibitId: 4242}) { id } }',
            {},
        )
        assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        with pytest.raises(TimeoutError):
            await next_data(ws, timeout=0.7)


async def test_bad_token_is_refused_at_connection_init(server: str, database_url: str) -> None:
    assert await close_code_at_init(server, {"Authorization": "Bearer not-a-token"}) == 4403
    # A good token, and no token at all, are both welcome.
    token = await token_for(database_url, server)
    async with subscription(server, ANIMAL_EVENTS, params={"Authorization": f"Bearer {token}"}):
        pass
    async with subscription(server, ANIMAL_EVENTS):
        pass


@pytest.fixture
def roomy_server(database_url: str) -> Iterator[str]:
    """A server that lets one address (the test's) open a hundred sockets."""
    with serve("zoo.main:app", server_env(database_url, ZOO_MAX_SOCKETS_PER_ADDRESS="100")) as port:
        yield f"127.0.0.1:{port}"


async def test_hundred_subscribers_get_every_event_in_order(
    roomy_server: str, database_url: str
) -> None:
    """100 sockets, one subscription each; a burst of 200 creates and 200 renames."""
    server = roomy_server
    token = await token_for(database_url, server)
    query = "subscription { exhibitEvents { kind exhibit { id name } } }"
    url = f"ws://{server}/graphql"
    sockets: list[ClientConnection] = []
    try:
        for _ in range(100):
            ws = await connect(url, subprotocols=["graphql-transport-ws"], ping_interval=None)
            sockets.append(ws)
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            await asyncio.wait_for(ws.recv(), 5)
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        await asyncio.sleep(1)
        create = "mutation($n: String!) { createExhibit(input: {name: $n}) { id } }"
        rename = (
            "mutation($id: Int!, $n: String) { updateExhibit(id: $id, input: {name: $n}) { id } }"
        )
        expected: list[tuple[str, int, str]] = []
        async with httpx.AsyncClient(base_url=f"http://{server}") as http:
            headers = {"Authorization": f"Bearer {token}"}
            for number in range(100):
                name = f"Burst {number}"
                made = await http.post(
                    "/graphql", headers=headers, json={"query": create, "variables": {"n": name}}
                )
                id_ = made.json()["data"]["createExhibit"]["id"]
                await http.post(
                    "/graphql",
                    headers=headers,
                    json={"query": rename, "variables": {"id": id_, "n": name + "!"}},
                )
                expected += [("CREATED", id_, name + "!"), ("UPDATED", id_, name + "!")]

        async def collect(ws: ClientConnection) -> list[tuple[str, int, str]]:
            got: list[tuple[str, int, str]] = []
            while len(got) < len(expected):
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if message["type"] == "next":
                    event = message["payload"]["data"]["exhibitEvents"]
                    got.append((event["kind"], event["exhibit"]["id"], event["exhibit"]["name"]))
            return got

        received = await asyncio.gather(*(collect(ws) for ws in sockets))
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets))
    # Every subscriber got every event, in commit order; rows are loaded as they are now.
    kinds_and_ids = [(kind, id_) for kind, id_, _ in expected]
    for got in received:
        assert [(kind, id_) for kind, id_, _ in got] == kinds_and_ids


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_events_cross_server_instances(database_url: str) -> None:
    env = server_env(database_url)
    with serve("zoo.main:app", env) as first, serve("zoo.main:app", env) as second:
        a, b = f"127.0.0.1:{first}", f"127.0.0.1:{second}"
        token = await token_for(database_url, a)
        async with subscription(
            b, "subscription { exhibitEvents { kind exhibit { name } } }"
        ) as ws:
            loop = asyncio.get_running_loop()
            started = loop.time()
            await mutate(a, token, 'mutation { createExhibit(input: {name: "Far"}) { id } }', {})
            event = (await next_data(ws, timeout=1))["exhibitEvents"]
            assert event == {"kind": "CREATED", "exhibit": {"name": "Far"}}
            assert loop.time() - started < 1


async def test_legacy_graphql_ws_protocol(server: str, database_url: str) -> None:
    token = await token_for(database_url, server)
    async with connect(f"ws://{server}/graphql", subprotocols=["graphql-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "start",
                    "payload": {
                        "query": "subscription { exhibitEvents { kind exhibit { name } } }"
                    },
                }
            )
        )
        await asyncio.sleep(0.3)
        await mutate(server, token, 'mutation { createExhibit(input: {name: "Old"}) { id } }', {})
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if message["type"] == "data":
                break
        assert message["payload"]["data"] == {
            "exhibitEvents": {"kind": "CREATED", "exhibit": {"name": "Old"}}
        }


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_every_worker_of_one_server_sees_every_event(database_url: str) -> None:
    """`zoo serve --workers 2`: whichever worker takes a mutation, the subscriber hears it."""
    env = server_env(database_url)
    with serve("zoo.main:app", env, workers=2) as port:
        base = f"127.0.0.1:{port}"
        await asyncio.sleep(1)  # both workers up
        token = await token_for(database_url, base)
        query = "subscription { exhibitEvents { exhibit { name } } }"
        async with subscription(base, query) as ws:
            names = [f"Worker test {i}" for i in range(12)]
            for name in names:
                # A new connection each time, so the kernel spreads them over the workers.
                await mutate(
                    base,
                    token,
                    "mutation($n: String!) { createExhibit(input: {name: $n}) { id } }",
                    {"n": name},
                )
            got = [(await next_data(ws))["exhibitEvents"]["exhibit"]["name"] for _ in names]
        assert got == names


async def test_subscriptions_can_require_a_login(database_url: str) -> None:
    env = server_env(database_url, ZOO_SUBSCRIPTIONS_REQUIRE_LOGIN="true")
    with serve("zoo.main:app", env) as port:
        base = f"127.0.0.1:{port}"
        assert await close_code_at_init(base, {}) == 4403
        token = await token_for(database_url, base)
        async with subscription(base, ANIMAL_EVENTS, params={"Authorization": f"Bearer {token}"}):
            pass

        # The cookie counts only when the page opening the socket is this server's own.
        async with httpx.AsyncClient(base_url=f"http://{base}") as http:
            email = "cookie-sub@example.com"
            database = Database(Settings(database_url=database_url))
            try:
                await create_user(database, email, PASSWORD, role=Role.CURATOR)
            finally:
                await database.dispose()
            login = await http.post(
                "/auth/cookie/login", data={"username": email, "password": PASSWORD}
            )
            cookie = f"zoo-auth={login.cookies['zoo-auth']}"
        for origin, accepted in ((f"http://{base}", True), ("http://evil.example", False)):
            async with connect(
                f"ws://{base}/graphql",
                subprotocols=["graphql-transport-ws"],
                additional_headers={"Cookie": cookie, "Origin": origin},
            ) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
                if accepted:
                    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == (
                        "connection_ack"
                    )
                else:
                    with pytest.raises(ConnectionClosed):
                        await asyncio.wait_for(ws.recv(), 5)
