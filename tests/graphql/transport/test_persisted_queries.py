"""Automatic persisted queries (Apollo's protocol): a query is sent by its SHA-256, in full
only when the server does not know it yet. The clients themselves are run against a real
server in ``test_interop_js``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest
from strawberry.http import GraphQLRequestData

from tests.support.accounts import Account
from tests.support.databases import dispose
from zoo.app import create_app
from zoo.config import Settings
from zoo.graphql.transport.persisted_queries import PersistedQueries

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


def test_the_queries_remembered_are_bounded_by_their_characters() -> None:
    """The least recently used are forgotten first, so that registering queries without
    end grows nothing."""
    queries = PersistedQueries(max_characters=100)
    texts = [f"{{ animal(id: {n}) {{ name }} }}" for n in range(10)]  # 28 or 29 characters

    def register(text: str) -> None:
        queries.resolve(GraphQLRequestData(text, None, None, persisted(text)))

    def known(text: str) -> bool:
        request = GraphQLRequestData(None, None, None, persisted(text))
        try:
            queries.resolve(request)
        except Exception:
            return False
        return request.query == text

    for text in texts[:3]:
        register(text)
    assert known(texts[0])  # used: now the most recent
    register(texts[3])  # over 100 characters: the least recently used (texts[1]) goes
    assert [known(text) for text in texts[:4]] == [True, False, True, True]
    for text in texts:
        register(text)
    assert len(queries) == 3
    register("{ " + "a " * 60 + "}")  # longer than the whole store: not kept
    assert len(queries) == 3
