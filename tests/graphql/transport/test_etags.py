"""ETag and 304 on the answers a shared cache may keep, and on no other (exact headers)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support import factories
from tests.support.accounts import Account, login
from tests.support.databases import dispose
from tests.support.servers import running
from zoo.app import create_app
from zoo.config import Settings

QUERY = {"query": "{ animals(first: 2) { edges { node { name } } } }"}
ACCEPT = {"Accept": "application/json"}


@pytest.fixture
async def cached(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    app = create_app(settings.model_copy(update={"graphql_cache_seconds": 30}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cache") as client:
        yield client, app
    await dispose(app)


async def test_an_unchanged_answer_is_304_with_no_body(
    cached: tuple[httpx.AsyncClient, object],
) -> None:
    client, app = cached
    await factories.animal(app.state.services, name="Ada")  # type: ignore[attr-defined]
    first = await client.get("/graphql", params=QUERY, headers=ACCEPT)
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag), etag
    again = await client.get("/graphql", params=QUERY, headers={**ACCEPT, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "public, max-age=30"
    assert "content-type" not in again.headers
    # A weak form and a list naming it match too (If-None-Match compares weakly).
    listed = {"If-None-Match": f'"other", W/{etag}'}
    assert (
        await client.get("/graphql", params=QUERY, headers={**ACCEPT, **listed})
    ).status_code == 304

    await factories.animal(app.state.services, name="Bea")  # type: ignore[attr-defined]
    changed = await client.get("/graphql", params=QUERY, headers={**ACCEPT, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert "Bea" in changed.text


async def test_no_etag_where_nothing_may_be_kept(
    cached: tuple[httpx.AsyncClient, object], user: Account
) -> None:
    client, _app = cached
    token = await login(client, user.email)
    bearer = {**ACCEPT, "Authorization": f"Bearer {token}"}
    answers = [
        await client.get("/graphql", params=QUERY, headers=bearer),  # a login's own
        await client.post("/graphql", json=QUERY, headers=ACCEPT),  # not a GET
        await client.get("/graphql", params={"query": "{ nothing }"}, headers=ACCEPT),
        await client.get(
            "/graphql", params={"query": "{ animals(first: -1) { totalCount } }"}, headers=ACCEPT
        ),
    ]
    for answer in answers:
        assert "etag" not in answer.headers, answer.request
        assert not answer.headers.get("cache-control", "").startswith("public")
    # A condition on an answer that may not be kept changes nothing.
    conditional = await client.get(
        "/graphql", params=QUERY, headers={**bearer, "If-None-Match": "*"}
    )
    assert conditional.status_code == 200
    assert conditional.json()["data"]["animals"] == {"edges": []}


async def test_garbage_conditions_are_answered_in_full(
    cached: tuple[httpx.AsyncClient, object],
) -> None:
    client, _app = cached
    for condition in ("", ",,,", "W/", '"' * 5000, "not-quoted", "\x7f"):
        answer = await client.get(
            "/graphql", params=QUERY, headers={**ACCEPT, "If-None-Match": condition}
        )
        assert answer.status_code == 200, condition
        assert answer.json() == {"data": {"animals": {"edges": []}}}


async def test_a_stream_has_no_etag(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"graphql_cache_seconds": 30}))
    subscribe = {"query": "subscription { animalEvents { kind } }"}
    async with running(app) as base, httpx.AsyncClient(base_url=base) as client:
        for accept in ("text/event-stream", 'multipart/mixed;subscriptionSpec="1.0"'):
            headers = {"Accept": accept, "If-None-Match": "*"}
            async with client.stream("GET", "/graphql", params=subscribe, headers=headers) as r:
                assert r.status_code == 200, accept
                assert "etag" not in r.headers, accept
    await dispose(app)
