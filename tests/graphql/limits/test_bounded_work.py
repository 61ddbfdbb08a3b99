"""Bounded work: no document, nested list or response can make one request stall the server.

Each test here reproduces an attack that took seconds to minutes (or a million
items) on the code before these limits, and asserts a bound that does not
depend on timing: nodes visited, items returned, a coded refusal.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from graphql import parse
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.support import factories
from tests.support.databases import dispose
from tests.support.documents import fan_out
from tests.support.servers import zoo_serve
from zoo.animals.models import Animal
from zoo.app import create_app
from zoo.config import Settings
from zoo.domains import Services
from zoo.graphql.limits.document_shape import field_pairs, measure
from zoo.graphql.limits.validation import DocumentCache
from zoo.graphql.schema import build_schema

Bounded = Callable[..., Any]


@pytest.fixture
def bounded(database_url: str) -> Bounded:
    """An app with some settings changed: its services (to build data) and an HTTP client."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
        app = create_app(Settings(**{"database_url": database_url, "env": "test", **overrides}))
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://bounded") as http:
                yield app.state.services, http
        finally:
            await dispose(app)

    return make


async def post(client: httpx.AsyncClient, query: str, **extra: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def test_measuring_a_fan_out_visits_each_fragment_once() -> None:
    for n in (10, 20, 40, 80):
        shape = measure(parse(fan_out(n)))
        # F0..Fn-1 hold two spreads each, Fn one field, the operation one spread.
        assert shape.visited == 2 * n + 2
        assert shape.fields == min(2**n, 10**15)


async def test_fan_out_documents_are_refused(bounded: Bounded) -> None:
    async with bounded() as (_, client):
        for n in (10, 20, 40, 80):
            body = await post(client, fan_out(n))
            assert codes(body) == ["QUERY_TOO_LARGE"], body
            assert "data" not in body


async def test_depth_and_aliases_count_through_fragments_without_expanding_them(
    bounded: Bounded,
) -> None:
    aliased = (
        "query { ...A } fragment A on Query { ...B ...B } "
        "fragment B on Query { x: __typename y: __typename }"
    )
    deep = "query { ...A } fragment A on Query { animal(id: 1) { exhibit { animals { id } } } }"
    async with bounded(max_aliases=3, max_depth=2) as (_, client):
        assert codes(await post(client, aliased)) == ["TOO_MANY_ALIASES"]
        assert codes(await post(client, deep)) == ["QUERY_TOO_DEEP"]
    async with bounded(max_aliases=4, max_depth=3) as (_, client):
        assert codes(await post(client, aliased)) == []
        assert codes(await post(client, deep)) == []


def repeated(copies: int, inner: int) -> str:
    """The same field many times over, its children merged: quadratic to validate."""
    children = " ".join("exhibit { id }" for _ in range(inner))
    return "{ " + " ".join(f"animal(id: 1) {{ {children} }}" for _ in range(copies)) + " }"


async def test_fields_repeated_under_one_path_are_refused_before_validation(
    bounded: Bounded,
) -> None:
    # 40 animal fields merged, and 320 exhibit fields under them: 1,600 + 102,400 + ...
    assert field_pairs(parse(repeated(40, 8))) > 100_000
    assert field_pairs(parse(repeated(3, 2))) == 9 + 36 + 36  # animal, exhibit, id
    async with bounded() as (_, client):
        body = await post(client, repeated(40, 8))
        assert codes(body) == ["QUERY_TOO_LARGE"]
        assert "pairs" in body["errors"][0]["message"]
        assert codes(await post(client, repeated(3, 2))) == []


async def test_too_many_fragments_are_refused(bounded: Bounded) -> None:
    def fragments(count: int) -> str:
        spreads = " ".join(f"...A{i}" for i in range(count))
        defined = " ".join(f"fragment A{i} on Query {{ a{i}: __typename }}" for i in range(count))
        return f"query {{ {spreads} }} {defined}"

    async with bounded(max_fragments=10, max_aliases=100) as (_, client):
        assert codes(await post(client, fragments(10))) == []
        assert codes(await post(client, fragments(11))) == ["QUERY_TOO_LARGE"]


STREAM = {"Accept": "text/event-stream"}
JSON_ONLY = {"Accept": "application/json"}

NESTED = (
    "{ exhibit(id: %d) { animals { id exhibit { animals { id exhibit { animals { id } } } } } } }"
)


async def crowded_exhibit(services: Services, animals: int) -> int:
    """An exhibit with many animals, added in one transaction (any user could add them)."""
    exhibit = await factories.exhibit(services)
    await more_animals(services, exhibit.id, animals)
    return exhibit.id


async def more_animals(services: Services, exhibit_id: int, count: int) -> None:
    async with services.database.transaction() as session:
        session.add_all(
            Animal(name=factories.unique("Animal"), exhibit_id=exhibit_id) for _ in range(count)
        )


async def test_nested_lists_are_costed_at_their_real_size(bounded: Bounded) -> None:
    async with bounded(list_sizes_max_age=0) as (services, client):
        exhibit_id = await crowded_exhibit(services, 100)
        body = await post(client, NESTED % exhibit_id)
        assert codes(body) == ["QUERY_TOO_COMPLEX"]
        inner = 1 + 100 * 1  # animals { id }
        middle = 1 + 100 * (1 + (1 + inner))  # animals { id exhibit { ... } }
        outer = 1 + 100 * (1 + (1 + middle))
        assert body["errors"][0]["extensions"]["cost"] == 1 + outer


@pytest.mark.slow
async def test_a_stale_estimate_is_caught_by_the_item_limit(bounded: Bounded) -> None:
    """The largest list was read before it grew: the estimate passes, the items do not."""
    async with bounded(list_sizes_max_age=3600, max_response_items=20_000) as (services, client):
        exhibit_id = await crowded_exhibit(services, 1)
        assert codes(await post(client, NESTED % exhibit_id)) == []  # sizes read: 1 animal
        await more_animals(services, exhibit_id, 99)
        aliased = "{ " + " ".join(f"a{i}: " + NESTED[2:-2] % exhibit_id for i in range(5)) + " }"
        for query in (NESTED % exhibit_id, aliased):
            response = await client.post("/graphql", json={"query": query})
            body = response.json()
            assert codes(body) == ["RESPONSE_TOO_LARGE"], body
            assert body["errors"][0]["extensions"]["maxItems"] == 20_000
            assert len(response.content) < 1000


async def test_growth_through_the_api_is_counted_at_once(bounded: Bounded) -> None:
    query = "{ exhibit(id: %d) { animals { id } } }"
    async with bounded(list_sizes_max_age=3600, max_cost=3) as (services, client):
        exhibit = await factories.exhibit(services)
        await factories.animal(services, exhibit_id=exhibit.id)
        # exhibit 1 + (animals 1 + 1 x id): 3.
        assert codes(await post(client, query % exhibit.id)) == []
        await factories.animal(services, exhibit_id=exhibit.id)
        body = await post(client, query % exhibit.id)
        assert codes(body) == ["QUERY_TOO_COMPLEX"]
        assert body["errors"][0]["extensions"]["cost"] == 4


async def test_growth_that_went_by_unseen_is_counted_once_the_event_stream_is_back(
    bounded: Bounded,
) -> None:
    """A lost event listener misses announced growth: the sizes are then read afresh."""
    query = "{ exhibit(id: %d) { animals { id } } }"
    async with bounded(list_sizes_max_age=3600, max_cost=3) as (services, client):
        exhibit = await factories.exhibit(services)
        await factories.animal(services, exhibit_id=exhibit.id)
        assert codes(await post(client, query % exhibit.id)) == []
        await more_animals(services, exhibit.id, 1)  # as if its announcement went by unseen
        assert codes(await post(client, query % exhibit.id)) == []
        services.events.interrupt()
        body = await post(client, query % exhibit.id)
        assert codes(body) == ["QUERY_TOO_COMPLEX"]
        assert body["errors"][0]["extensions"]["cost"] == 4


@pytest.mark.parametrize("fast_lists", [True, False], ids=["fast-lists", "stock-lists"])
async def test_the_item_limit_is_exact(bounded: Bounded, fast_lists: bool) -> None:
    """The limit holds whichever executor completes the lists (``ZOO_FAST_LISTS``)."""
    query = "{ exhibits(first: 2) { edges { node { animals { id } } } } }"
    async with bounded(max_response_items=7, fast_lists=fast_lists) as (services, client):
        for animals in (2, 3):
            exhibit_id = await crowded_exhibit(services, animals)
        # 2 edges + 2 animals + 3 animals = 7 items: at the limit.
        assert codes(await post(client, query)) == [], exhibit_id
        await more_animals(services, exhibit_id, 1)
        assert codes(await post(client, query)) == ["RESPONSE_TOO_LARGE"]


async def test_first_from_a_variable_default_is_costed(bounded: Bounded) -> None:
    query = "query($n: Int = 100) { animals(first: $n) { edges { node { id name } } } }"
    async with bounded(max_cost=400) as (_, client):
        # 1 + 100 x (edges 1 + (node 1 + 2)) = 401: the default counts, not 20.
        body = await post(client, query)
        assert body["errors"][0]["extensions"]["cost"] == 401
        assert codes(await post(client, query, variables={"n": 99})) == []
        inline = "{ animals(first: 100) { edges { node { id name } } } }"
        assert (await post(client, inline))["errors"][0]["extensions"]["cost"] == 401


async def test_the_response_size_is_capped(bounded: Bounded) -> None:
    async with bounded(max_response_bytes=2048) as (services, client):
        exhibit_id = await crowded_exhibit(services, 100)
        query = f"{{ exhibit(id: {exhibit_id}) {{ animals {{ id name }} }} }}"
        body = await post(client, query)
        assert codes(body) == ["RESPONSE_TOO_LARGE"]
        assert codes(await post(client, "{ __typename }")) == []
        # A query whose client asks for a stream is held to the same limit.
        streamed = await client.post(
            "/graphql", json={"query": query}, headers={"Accept": "text/event-stream"}
        )
        assert streamed.headers["content-type"].startswith("text/event-stream")
        event = streamed.text.split("\n\n")[0]
        assert event.startswith("event: next\ndata: ")
        assert codes(json.loads(event.removeprefix("event: next\ndata: "))) == [
            "RESPONSE_TOO_LARGE"
        ]


async def test_list_sizes_are_read_once_per_change(
    gql: Any, services: Services, count_statements: Any
) -> None:
    """Reading the largest lists costs a statement per grown relation, then none."""
    exhibit = await factories.exhibit(services)
    await factories.animal(services, exhibit_id=exhibit.id)
    query = "{ exhibits { edges { node { animals { id } staff { id } } } } }"
    await gql.data(query)
    assert len(count_statements.estimates) == 2  # animals and staff: first read of each
    count_statements.estimates.clear()
    await gql.data(query)
    assert count_statements.estimates == []
    await factories.animal(services, exhibit_id=exhibit.id)
    await gql.data(query)
    assert len(count_statements.estimates) == 1  # only the exhibit's animals, counted again
    assert "IN (" in count_statements.estimates[0]


async def test_only_valid_documents_are_cached(database_url: str) -> None:
    """Distinct refused documents must not pile up in the cache (and in every full
    garbage collection); a valid one is parsed and checked once."""
    settings = Settings(database_url=database_url, env="test")
    schema = build_schema(settings)
    app = create_app(settings, schema)
    cache = schema.documents
    assert cache is not None
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://cache"
        ) as client:
            for n in range(20, 40):
                assert codes(await post(client, fan_out(n))) == ["QUERY_TOO_LARGE"]
            assert codes(await post(client, "{ animls { id } }")) == ["GRAPHQL_VALIDATION_FAILED"]
            assert len(cache.documents) == 0
            valid = "{ animals { totalCount } }"
            assert codes(await post(client, valid)) == []
            document = cache.get(valid)
            assert document is not None
            assert codes(await post(client, valid)) == []
            assert cache.get(valid) is document
            assert list(cache.documents) == [valid]
    finally:
        await dispose(app)


def test_the_document_cache_is_bounded_by_text_length() -> None:
    cache = DocumentCache(max_chars=30)
    for query in ("{ a }", "{ bb }", "{ ccccccccccccccccccc }"):
        cache.put(query, parse("{ __typename }"))
    assert list(cache.documents) == ["{ bb }", "{ ccccccccccccccccccc }"]
    assert cache.size == 6 + 23
    cache.put("{ " + "d" * 40 + " }", parse("{ __typename }"))  # longer than the cache
    assert cache.size == 29


async def test_an_address_that_keeps_sending_documents_over_the_limits_is_turned_away(
    database_url: str,
) -> None:
    app = create_app(Settings(database_url=database_url, env="test", max_refusals_per_minute=3))

    def client_from(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 4321))
        return httpx.AsyncClient(transport=transport, base_url="http://bounded")

    try:
        async with client_from("192.0.2.7") as flooder, client_from("192.0.2.8") as neighbour:
            for query in (fan_out(20), "{ __typename }", fan_out(30), fan_out(40)):
                expected = [] if query == "{ __typename }" else ["QUERY_TOO_LARGE"]
                assert codes(await post(flooder, query)) == expected  # valid work is not counted
            refused = await flooder.post("/graphql", json={"query": "{ __typename }"})
            assert refused.status_code == 429
            assert refused.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            assert await post(neighbour, "{ __typename }") == {"data": {"__typename": "Query"}}
    finally:
        await dispose(app)


@pytest.mark.slow
def test_a_document_of_comment_characters_is_answered_at_once(database_url: str) -> None:
    """An operation's type and name are read for the logs and metrics before its document
    is parsed, from whatever text a client sent. The pattern that read them split a line
    of ``#`` into comments in 2^n ways and tried them all: 35 bytes held the event loop
    for half an hour, on every transport. A real server, so that a regression fails on
    the client's deadline (and the server is killed) instead of hanging the suite."""
    hashes = "#" * 64
    with zoo_serve(database_url, env={"ZOO_LOG_LEVEL": "warning"}) as (base, process):
        try:
            with httpx.Client(base_url=base, timeout=20) as http:
                posted = http.post("/graphql", json={"query": hashes})
                streamed = http.post("/graphql", json={"query": hashes}, headers=STREAM)
                got = http.get("/graphql", params={"query": hashes}, headers=JSON_ONLY)
            for response in (posted, streamed, got):
                assert "Syntax Error" in response.text, response.text
            url = base.replace("http", "ws") + "/graphql"
            with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
                ws.send(json.dumps({"type": "connection_init"}))
                assert json.loads(ws.recv(timeout=20))["type"] == "connection_ack"
                subscribe = {"id": "1", "type": "subscribe", "payload": {"query": hashes}}
                ws.send(json.dumps(subscribe))
                assert "Syntax Error" in ws.recv(timeout=20)
        finally:
            process.kill()


async def test_a_relation_filter_costs_what_its_rows_read(bounded: Bounded) -> None:
    """``exhibits(where: {animals: {some: ...}})`` reads, for each exhibit, up to the
    largest exhibit's animals: the estimate counts them, and the filters within them
    (a to-one relation reads one row), for a where in a variable too."""
    query = "query($w: ExhibitWhere) { exhibits(first: 2, where: $w) { edges { node { id } } } }"
    wheres = {
        "none": None,
        "column": {"name": {"equalTo": "x"}},
        "some": {"animals": {"some": {"name": {"equalTo": "x"}}}},
        "nested": {"animals": {"none": {"exhibit": {"name": {"equalTo": "x"}}}}},
        "connectives": {"or": [{"animals": {"some": {}}}, {"not": {"staff": {"some": {}}}}]},
    }
    # A budget of 1 refuses everything, with the estimate.
    async with bounded(list_sizes_max_age=3600, max_cost=1) as (services, client):
        exhibit = await factories.exhibit(services)
        for _ in range(3):
            await factories.animal(services, exhibit_id=exhibit.id)
        await factories.staff_member(services, exhibit_id=exhibit.id)
        costs = {}
        for label, where in wheres.items():
            body = await post(client, query, variables={"w": where})
            assert codes(body) == ["QUERY_TOO_COMPLEX"], body
            costs[label] = body["errors"][0]["extensions"]["cost"]
    # 1 + first 2 x (edges 1 + node 1 + id 1 + what the where reads per exhibit)
    assert costs == {
        "none": 7,
        "column": 7,
        "some": 1 + 2 * (3 + 3),
        "nested": 1 + 2 * (3 + 3 * (1 + 1)),
        "connectives": 1 + 2 * (3 + 3 + 1),
    }
