"""Automatic persisted queries (Apollo's protocol): a query is sent by its SHA-256, in full
only when the server does not know it yet. The clients themselves are run against a real
server in ``test_interop_js``."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from strawberry.http import GraphQLRequestData

from tests.support.accounts import Account
from tests.support.databases import dispose
from zoo.app import create_app
from zoo.config import Settings
from zoo.graphql.transport.persisted_queries import PersistedQueries, SharedQueries

QUERY = "{ exhibits(first: 1) { totalCount } }"


def persisted(query: str, version: object = 1) -> dict[str, Any]:
    digest = hashlib.sha256(query.encode()).hexdigest()
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


async def by_hash(client: httpx.AsyncClient, query: str, **headers: str) -> httpx.Response:
    extensions = json.dumps(persisted(query))
    headers = {"Accept": "application/json", **headers}
    return await client.get("/graphql", params={"extensions": extensions}, headers=headers)


def error_of(response: httpx.Response) -> tuple[str, str]:
    [error] = response.json()["errors"]
    return error["message"], error["extensions"]["code"]


async def test_a_query_is_sent_in_full_once_then_by_its_hash(client: httpx.AsyncClient) -> None:
    unknown = await by_hash(client, QUERY)
    assert unknown.status_code == 404
    assert error_of(unknown) == ("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
    assert unknown.headers["cache-control"] == "no-store"
    registered = await client.post(
        "/graphql", json={"query": QUERY, "extensions": persisted(QUERY)}
    )
    assert registered.status_code == 200, registered.text
    for known in (
        await by_hash(client, QUERY),
        await client.post("/graphql", json={"extensions": persisted(QUERY)}),
    ):
        assert known.status_code == 200, known.text
        assert known.json() == registered.json()


async def test_a_hash_that_is_not_the_querys_is_refused(client: httpx.AsyncClient) -> None:
    """Else anyone could file any query under the hash of another, and serve it to every
    client that sends that hash."""
    wrong = await client.post(
        "/graphql", json={"query": "{ __typename }", "extensions": persisted(QUERY)}
    )
    assert wrong.status_code == 400
    assert error_of(wrong)[1] == "BAD_REQUEST"
    assert (await by_hash(client, QUERY)).status_code == 404


@pytest.mark.parametrize(
    "extension",
    [
        {"version": 2, "sha256Hash": "0" * 64},
        {"version": 1, "sha256Hash": "not a digest"},
        {"version": 1},
        "a string",
    ],
)
async def test_a_malformed_persisted_query_is_a_bad_request(
    client: httpx.AsyncClient, extension: object
) -> None:
    answer = await client.post("/graphql", json={"extensions": {"persistedQuery": extension}})
    assert answer.status_code == 400, answer.text
    assert error_of(answer)[1] == "BAD_REQUEST"


async def test_a_mutation_by_hash_keeps_its_rules(client: httpx.AsyncClient, user: Account) -> None:
    """A hash stands for its query: a mutation by hash needs POST and a login, as in full."""
    mutation = 'mutation { createExhibit(input: {name: "By hash"}) { name } }'
    bearer = {"Authorization": f"Bearer {user.token}"}
    made = await client.post(
        "/graphql", json={"query": mutation, "extensions": persisted(mutation)}, headers=bearer
    )
    assert made.json() == {"data": {"createExhibit": {"name": "By hash"}}}
    assert (await by_hash(client, mutation, **bearer)).status_code == 405
    anonymous = await client.post("/graphql", json={"extensions": persisted(mutation)})
    assert error_of(anonymous)[1] == "UNAUTHENTICATED"


async def test_a_server_that_keeps_none_says_so(database_url: str) -> None:
    """Clients then send every query in full from then on."""
    app = create_app(
        Settings(database_url=database_url, env="test", persisted_queries_characters=0)
    )
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://zoo") as client:
            answer = await by_hash(client, QUERY)
            assert answer.status_code == 400
            assert error_of(answer) == (
                "PersistedQueryNotSupported",
                "PERSISTED_QUERY_NOT_SUPPORTED",
            )
            full = await client.post(
                "/graphql", json={"query": QUERY, "extensions": persisted(QUERY)}
            )
            assert error_of(full)[1] == "PERSISTED_QUERY_NOT_SUPPORTED"
    finally:
        await dispose(app)


async def test_the_queries_remembered_are_bounded_by_their_characters() -> None:
    """The least recently used are forgotten first, so that registering queries without
    end grows nothing."""
    queries = PersistedQueries(max_characters=100)
    texts = [f"{{ animal(id: {n}) {{ name }} }}" for n in range(10)]  # 28 or 29 characters

    async def register(text: str) -> None:
        await queries.resolve(GraphQLRequestData(text, None, None, persisted(text)))

    async def known(text: str) -> bool:
        request = GraphQLRequestData(None, None, None, persisted(text))
        try:
            await queries.resolve(request)
        except Exception:
            return False
        return request.query == text

    for text in texts[:3]:
        await register(text)
    assert await known(texts[0])  # used: now the most recent
    await register(texts[3])  # over 100 characters: the least recently used (texts[1]) goes
    assert [await known(text) for text in texts[:4]] == [True, False, True, True]
    for text in texts:
        await register(text)
    assert len(queries) == 3
    await register("{ " + "a " * 60 + "}")  # longer than the whole store: not kept
    assert len(queries) == 3


REDIS_URL = os.environ.get("ZOO_TEST_REDIS_URL", "").strip()


@pytest.mark.skipif(not REDIS_URL, reason="ZOO_TEST_REDIS_URL is not set")
async def test_two_workers_share_their_persisted_queries_through_redis(
    settings: Settings,
) -> None:
    """A query registered through one worker is served by hash by another: a client
    behind a load balancer sends its text once, not once per worker."""
    shared = settings.model_copy(update={"redis_url": REDIS_URL})
    first, second = create_app(shared), create_app(shared)
    query = f"{{ animals(first: 1) {{ totalCount }} }} # {uuid.uuid4().hex}"  # unseen
    try:
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://zoo")
            for app in (first, second)
        ]
        async with clients[0] as one, clients[1] as two:
            assert error_of(await by_hash(two, query))[1] == "PERSISTED_QUERY_NOT_FOUND"
            body = {"query": query, "extensions": persisted(query)}
            assert "errors" not in (await one.post("/graphql", json=body)).json()
            served = await by_hash(two, query)
            assert served.json() == {"data": {"animals": {"totalCount": 0}}}
            assert len(second.state.graphql.persisted_queries) == 0  # not its own memory
    finally:
        await dispose(first)
        await dispose(second)


async def test_persisted_queries_are_kept_in_process_while_redis_is_down(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings.model_copy(update={"redis_url": "redis://127.0.0.1:9/0"}))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://zoo") as client:
            body = {"query": QUERY, "extensions": persisted(QUERY)}
            assert "errors" not in (await client.post("/graphql", json=body)).json()
            assert (await by_hash(client, QUERY)).json() == {
                "data": {"exhibits": {"totalCount": 0}}
            }
    finally:
        await dispose(app)
    assert "Redis unreachable" in caplog.text


@pytest.mark.skipif(not REDIS_URL, reason="ZOO_TEST_REDIS_URL is not set")
async def test_the_shared_store_is_bounded_least_recently_used_first() -> None:
    redis = Redis.from_url(REDIS_URL)
    store = SharedQueries(redis, max_characters=70, prefix=f"zoo:test:{uuid.uuid4().hex}:")
    texts = [f"{{ animal(id: {n}) {{ name }} }}" for n in range(3)]  # 28 characters each
    try:
        for text in texts[:2]:
            assert await store.remember(text[:20], text)
        assert await store.recall(texts[0][:20]) == texts[0]  # used: now the most recent
        assert await store.remember(texts[2][:20], texts[2])  # over 70: texts[1] goes
        found = [await store.recall(text[:20]) for text in texts]
        assert found == [texts[0], None, texts[2]]
    finally:
        keys = await redis.keys(store.prefix + "*")
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
