"""The fast list path returns exactly what graphql-core's stock completion returns."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.support import factories
from tests.support.accounts import Account
from tests.support.databases import dispose
from zoo.animals.models import Animal
from zoo.app import create_app
from zoo.config import Settings
from zoo.core.roles import Role
from zoo.domains import Services
from zoo.exhibits.models import Exhibit
from zoo.graphql.fastpath import executor as execution
from zoo.graphql.schema import build_schema

QUERIES = [
    """{ exhibits(first: 100) { totalCount edges { cursor node { __typename id name description
        location createdAt updatedAt deletedAt animalCount
        animals { __typename id name description species exhibitId createdAt updatedAt deletedAt }
        staff { id name jobTitle email phone notes exhibitId createdAt updatedAt deletedAt } } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }""",
    """{ animals(first: 100, orderBy: {field: SPECIES, direction: DESC}) { edges { node {
        key: id alias: name name species kind: __typename
        exhibit { id animals { key: id alias: name kind: __typename } } } } } }""",
    """{ staff(first: 100) { edges { node { id email notes
        exhibit { name staff { id name } } } } } }""",
    """query($skip: Boolean!) { exhibits { edges { node { animals {
        id name @skip(if: $skip) species @include(if: $skip)
        ... on Animal { description } } } } } }""",
    """{ exhibits { edges { node { animals { ...Bits } } } } }
       fragment Bits on Animal { id createdAt }""",
    # Connections: edges with their nodes, and relations loaded ahead, on the fast path.
    """{ animals(first: 100, orderBy: {field: NAME}) { edges { cursor node { id name species
        exhibit { __typename id name location createdAt } } }
        pageInfo { endCursor hasNextPage } } }""",
    """{ staff(first: 100) { edges { node { id name exhibit { id name } } } } }""",
    # Not loaded ahead (under a directive): the relation is awaited on the stock path.
    """query($skip: Boolean!) { animals { edges { node { id
        exhibit @include(if: $skip) { name } } } } }""",
]


@pytest.fixture
async def stock(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, schema=build_schema(settings, fast_lists=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stock") as client:
        yield client
    await dispose(app)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """The lists the fast path took up, in order: (item type, whether it completed the
    list rather than hand it back to the stock path)."""
    types: list[tuple[str, bool]] = []
    original = execution.build_list

    def spy(plan: execution.ListPlan, to_orjson: bool = False) -> execution.Builder:
        builder = original(plan, to_orjson)

        def recording(items: Any, context: Any, denied: Any) -> Any:
            completed = builder(items, context, denied)
            types.append((plan.typename, completed is not execution.FALLBACK))
            return completed

        return recording

    monkeypatch.setattr(execution, "build_list", spy)
    return types


async def make_zoo(services: Services) -> None:
    for index in range(3):
        exhibit = await factories.exhibit(
            services, description=None if index else "Big", location=f"Zone {index}"
        )
        for number in range(4):
            await factories.animal(
                services,
                exhibit_id=exhibit.id,
                species=None if number % 2 else "Felis",
                description="Ünïcode ✓" if number == 1 else None,
            )
        await factories.staff_member(services, exhibit_id=exhibit.id, email="a@example.com")
    await factories.animal(services)  # homeless


async def both(
    client: httpx.AsyncClient,
    stock: httpx.AsyncClient,
    query: str,
    variables: Any = None,
    token: str | None = None,
) -> tuple[bytes, bytes]:
    payload = {"query": query, "variables": variables or {"skip": True}}
    # The same request id on both, so that error extensions compare equal too.
    headers = {"X-Request-ID": "equivalence"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    fast = await client.post("/graphql", json=payload, headers=headers)
    slow = await stock.post("/graphql", json=payload, headers=headers)
    return fast.content, slow.content


@pytest.mark.parametrize("query", QUERIES)
async def test_fast_and_stock_paths_return_identical_bytes(
    client: httpx.AsyncClient,
    stock: httpx.AsyncClient,
    services: Services,
    settings: Settings,
    built: list[tuple[str, bool]],
    user: Account,
    query: str,
) -> None:
    """As a CURATOR, who may read the staff's contact fields."""
    await make_zoo(services)
    fast, slow = await both(client, stock, query, token=user.token)
    assert b'"errors"' not in fast
    assert fast == slow
    # Under ZOO_FAST_LISTS=false (make test-fast-lists-off) both clients take the stock path.
    assert built or not settings.fast_lists, "the fast path was not taken"


@pytest.mark.parametrize("switch", ["true", "false"])
async def test_zoo_fast_lists_switches_the_fast_path(
    database_url: str, monkeypatch: pytest.MonkeyPatch, built: list[tuple[str, bool]], switch: str
) -> None:
    """``ZOO_FAST_LISTS=false`` leaves every list to graphql-core, answers unchanged."""
    monkeypatch.setenv("ZOO_FAST_LISTS", switch)
    app = create_app(Settings(database_url=database_url, env="test"))
    try:
        await make_zoo(app.state.services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://switch") as http:
            response = await http.post("/graphql", json={"query": QUERIES[0]})
    finally:
        await dispose(app)
    assert len(response.json()["data"]["exhibits"]["edges"]) == 3
    assert bool(built) == (switch == "true")


@pytest.mark.parametrize("query", [q for q in QUERIES if "$skip" in q])
async def test_plans_follow_each_requests_variables(
    client: httpx.AsyncClient, stock: httpx.AsyncClient, services: Services, query: str
) -> None:
    """A plan made under one request's ``@skip``/``@include`` values is not another's."""
    await make_zoo(services)
    answers = []
    for skip in (True, False, True):
        fast, slow = await both(client, stock, query, {"skip": skip})
        assert fast == slow
        answers.append(fast)
    assert answers[0] != answers[1]
    assert answers[0] == answers[2]


async def test_a_document_without_variables_is_planned_once_for_every_request(
    client: httpx.AsyncClient, stock: httpx.AsyncClient, services: Services
) -> None:
    await make_zoo(services)
    query = QUERIES[5]
    first, _ = await both(client, stock, query)
    planned = dict(execution._shared_plans.entries)
    for _ in range(3):
        fast, slow = await both(client, stock, query)
        assert fast == slow == first
    assert execution._shared_plans.entries == planned


async def test_values_the_fast_path_refuses_fall_back_with_identical_errors(
    client: httpx.AsyncClient,
    stock: httpx.AsyncClient,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A null in a non-null field, or a value of the wrong type, errs exactly as stock does."""
    from zoo import domains

    exhibit = await factories.exhibit(services)
    for _ in range(3):
        await factories.animal(services, exhibit_id=exhibit.id)
    original = domains.animals_by_exhibit_id

    async def corrupt(*args: Any) -> Any:
        groups = await original(*args)
        first, second, third = groups[0]
        groups[0] = [first._replace(name=None), second._replace(id="seven"), third]
        return groups

    monkeypatch.setattr(domains, "animals_by_exhibit_id", corrupt)
    for query in (
        "{ exhibits { edges { node { animals { id name } } } } }",
        "{ exhibits { edges { node { animals { id } } } } }",
        "{ exhibits { edges { node { animals { name species } } } } }",
    ):
        fast, slow = await both(client, stock, query)
        assert b'"errors"' in fast
        assert fast == slow


@pytest.mark.parametrize("fragments", [False, True])
async def test_lists_are_encoded_early_only_for_results_going_to_orjson(
    settings: Settings, services: Services, fragments: bool
) -> None:
    """A subscription or a direct execute sees plain lists; the HTTP path may get fragments."""
    import orjson

    from zoo.graphql.context import Context

    await make_zoo(services)
    query = "{ exhibits { edges { node { animals { id name createdAt } } } } }"
    schema = build_schema(settings, fast_lists=True)
    stock = await build_schema(settings, fast_lists=False).execute(
        query, context_value=Context(services, None)
    )
    result = await schema.execute(
        query, context_value=Context(services, None, json_fragments=fragments)
    )
    assert result.errors is None
    assert result.data is not None
    animals = [edge["node"]["animals"] for edge in result.data["exhibits"]["edges"]]
    expected = list if not fragments else orjson.Fragment
    assert all(isinstance(value, expected) for value in animals)
    assert orjson.dumps(result.data) == orjson.dumps(stock.data)
    if not fragments:
        # Timestamps are left to orjson only where orjson writes the result.
        assert all(isinstance(a["createdAt"], str) for value in animals for a in value)


async def test_a_connection_page_with_a_bad_value_falls_back_with_identical_errors(
    client: httpx.AsyncClient,
    stock: httpx.AsyncClient,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await make_zoo(services)
    original = type(services.animals).list

    async def corrupt(self: Any, *args: Any) -> Any:
        page = await original(self, *args)
        page.items[1] = page.items[1]._replace(name=None)
        return page

    monkeypatch.setattr(type(services.animals), "list", corrupt)
    query = "{ animals { edges { cursor node { id name exhibit { name } } } } }"
    fast, slow = await both(client, stock, query)
    assert b'"errors"' in fast
    assert fast == slow


MOMENTS = [
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 1, 1, tzinfo=UTC),
    datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    datetime(2026, 6, 30, 12, 0, 0, 100000, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


async def test_timestamps_written_by_orjson_are_what_isoformat_writes(
    client: httpx.AsyncClient, stock: httpx.AsyncClient, services: Services
) -> None:
    """Over HTTP the fast path hands UTC datetimes to orjson: byte for byte what the
    stock path's ``isoformat()`` gives, whatever the year or the microseconds."""
    await make_zoo(services)
    async with services.database.transaction() as session:
        for model in (Animal, Exhibit):
            ids = (await session.scalars(select(model.id).order_by(model.id))).all()
            for index, id_ in enumerate(ids):
                moment = MOMENTS[index % len(MOMENTS)]
                later = MOMENTS[(index + 1) % len(MOMENTS)]
                values = {"created_at": moment, "updated_at": later}
                await session.execute(update(model).where(model.id == id_).values(**values))
    query = """{ exhibits { edges { node { createdAt animals { id createdAt updatedAt } } } }
        animals(first: 100) { edges { node { updatedAt exhibit { createdAt } } } } }"""
    fast, slow = await both(client, stock, query)
    assert b'"errors"' not in fast
    assert fast == slow
    for moment in MOMENTS:
        assert f'"{moment.isoformat()}"'.encode() in fast


GATED = "{ staff(first: 100) { edges { node { name email phone notes exhibit { name } } } } }"


@pytest.mark.parametrize("caller", ["KEEPER", "anonymous"])
async def test_gated_columns_stay_on_the_fast_path_for_who_may_read_them(
    client: httpx.AsyncClient,
    stock: httpx.AsyncClient,
    services: Services,
    settings: Settings,
    built: list[tuple[str, bool]],
    make_account: Any,
    caller: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A staff list with contact fields is built by the fast path, the role checked once
    per list: a keeper gets the values; anonymous gets nulls and a FORBIDDEN error for
    each, exactly as the stock path answers."""
    await make_zoo(services)
    token = (await make_account(role=Role.KEEPER)).token if caller == "KEEPER" else None
    roles_read: list[object] = []
    role_of = execution.role_of
    monkeypatch.setattr(execution, "role_of", lambda user: roles_read.append(user) or role_of(user))
    fast, slow = await both(client, stock, GATED, token=token)
    assert fast == slow
    # Once for the page's list of edges, not once per gated field of each node.
    assert len(roles_read) == (1 if settings.fast_lists else 0)
    body = json.loads(fast)
    nodes = [edge["node"] for edge in body["data"]["staff"]["edges"]]
    assert len(nodes) == 3
    if caller == "KEEPER":
        assert "errors" not in body
        assert {node["email"] for node in nodes} == {"a@example.com"}
        assert (("StaffMemberEdge", True) in built) == settings.fast_lists
    else:
        assert {node["email"] for node in nodes} == {None}
        assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
        assert len(body["errors"]) == 3 * 3
        # Denied to anonymous, the columns are left null by the fast path too.
        assert (("StaffMemberEdge", True) in built) == settings.fast_lists
