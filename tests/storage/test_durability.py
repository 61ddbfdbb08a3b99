"""Under concurrent load nothing acknowledged is lost; a database outage is reported and healed."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from tests.support.accounts import Account
from tests.support.clients import GraphQL
from tests.support.databases import dispose
from tests.support.proxy import proxied
from zoo.app import create_app
from zoo.auth.service import create_user
from zoo.config import Settings
from zoo.core.roles import Role

pytestmark = pytest.mark.slow
"""Real server processes, or long waits for deadlines."""

CREATE = "mutation($name: String!) { createAnimal(input: {name: $name}) { id name } }"
UPDATE = (
    "mutation($id: Int!, $species: String) { updateAnimal(id: $id, input: {species: $species})"
    " { id species } }"
)


async def test_two_hundred_mixed_mutations_from_twenty_clients(
    app: object, make_account: object
) -> None:
    accounts: list[Account] = [await make_account() for _ in range(20)]  # type: ignore[operator]
    acknowledged_names: set[str] = set()
    acknowledged_species: dict[int, str] = {}
    failures: list[str] = []

    async def client_run(number: int, account: Account) -> None:
        rng = random.Random(number)
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://load") as http:
            gql = GraphQL(http)
            mine: list[int] = []
            for step in range(10):
                if mine and rng.random() < 0.4:
                    target = rng.choice(mine)
                    species = f"species {number}-{step}"
                    body = await gql(
                        UPDATE,
                        {"id": target, "species": species},
                        account.token,
                        expect_errors=True,
                    )
                    if "errors" in body:
                        failures.append(body["errors"][0]["extensions"]["code"])
                    else:
                        acknowledged_species[target] = species
                else:
                    name = f"client {number} step {step}"
                    body = await gql(CREATE, {"name": name}, account.token, expect_errors=True)
                    if "errors" in body:
                        failures.append(body["errors"][0]["extensions"]["code"])
                    else:
                        acknowledged_names.add(name)
                        mine.append(body["data"]["createAnimal"]["id"])

    await asyncio.gather(*(client_run(n, a) for n, a in enumerate(accounts)))
    assert failures == []
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://check") as http:
        rows, after = [], None
        while True:
            page = (
                await GraphQL(http).data(
                    "query($a: String) { animals(first: 100, after: $a) { edges { node { id name"
                    " species } } pageInfo { hasNextPage endCursor } } }",
                    {"a": after},
                )
            )["animals"]
            rows += [edge["node"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    names = [row["name"] for row in rows]
    assert sorted(names) == sorted(acknowledged_names)  # none lost, none duplicated
    species = {row["id"]: row["species"] for row in rows}
    for id_, value in acknowledged_species.items():
        # Each client updates only its own rows, one after another: the last one stands.
        assert species[id_] == value


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_postgres_outage_is_reported_and_healed(database_url: str) -> None:
    proxy, through_proxy = await proxied(database_url)
    app = create_app(Settings(database_url=through_proxy, env="test"))
    query = {"query": "{ animals { totalCount } }"}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://outage") as client:
            assert (await client.get("/health")).status_code == 200
            await create_user(
                app.state.database, "outage@example.com", "outage password", role=Role.CURATOR
            )
            form = {"username": "outage@example.com", "password": "outage password"}
            token = (await client.post("/auth/jwt/login", data=form)).json()["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}
            assert (await client.post("/graphql", json=query)).json() == {
                "data": {"animals": {"totalCount": 0}}
            }

            await proxy.cut()
            health = await client.get("/health")
            assert health.status_code == 503
            down = await client.post("/graphql", json=query)
            assert down.status_code == 200
            error = down.json()["errors"][0]
            assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert "Traceback" not in down.text
            # Resolving the user needs the database too: 503, not 500.
            signed_in = await client.post("/graphql", json=query, headers=bearer)
            assert signed_in.status_code == 503
            assert signed_in.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            login = await client.post("/auth/jwt/login", data=form)
            assert login.status_code == 503

            await proxy.restore()
            assert (await client.get("/health")).status_code == 200
            assert (await client.post("/graphql", json=query, headers=bearer)).json() == {
                "data": {"animals": {"totalCount": 0}}
            }
    finally:
        await proxy.cut()
        await dispose(app)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_stalled_database_is_a_fast_503_not_a_hang(database_url: str) -> None:
    """The server answers but sends nothing: every request gives up after the configured
    timeouts (1 s here) with SERVICE_UNAVAILABLE, and all is well once it answers again."""
    proxy, through_proxy = await proxied(database_url)
    timeouts = {"db_connect_timeout": 1, "db_statement_timeout": 1, "db_pool_timeout": 1}
    app = create_app(Settings(database_url=through_proxy, env="test", **timeouts))
    query = {"query": "{ animals { totalCount } }"}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://stall") as client:
            await create_user(
                app.state.database, "stall@example.com", "stall password", role=Role.CURATOR
            )
            form = {"username": "stall@example.com", "password": "stall password"}
            token = (await client.post("/auth/jwt/login", data=form)).json()["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}
            assert (await client.get("/health")).status_code == 200

            proxy.stall()
            loop = asyncio.get_running_loop()
            for request in (
                client.get("/health"),
                client.post("/graphql", json=query),
                client.post("/graphql", json=query, headers=bearer),
                client.post("/auth/jwt/login", data=form),
            ):
                started = loop.time()
                response = await asyncio.wait_for(request, 15)
                assert loop.time() - started < 10, response.request.url
                assert response.status_code in {200, 503}, response.text
                if response.request.url.path == "/graphql" and response.status_code == 200:
                    code = response.json()["errors"][0]["extensions"]["code"]
                    assert code == "SERVICE_UNAVAILABLE"
                else:
                    assert response.status_code == 503
                assert "Traceback" not in response.text

            proxy.resume()
            for _ in range(20):
                if (await client.get("/health")).status_code == 200:
                    break
                await asyncio.sleep(0.5)
            assert (await client.post("/graphql", json=query, headers=bearer)).json() == {
                "data": {"animals": {"totalCount": 0}}
            }
    finally:
        proxy.resume()
        await proxy.cut()
        await dispose(app)
