"""Compression as ``Accept-Encoding`` asks, asserted on the bytes sent; streams never
compressed nor held back; a compressed answer's ETag weak."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import brotli
import httpx
import pytest
import zstandard

from tests.support import factories
from tests.support.databases import dispose
from tests.support.event_streams import MULTIPART
from tests.support.servers import running
from tests.support.subscriptions import SSE, mutate_ok
from zoo.app import create_app
from zoo.config import Settings

BIG = {"query": "{ animals(first: 100) { edges { node { id name species description } } } }"}
SMALL = {"query": "{ animals(first: 1) { totalCount } }"}
DECODE = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
}


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings.model_copy(update={"graphql_cache_seconds": 30}))
    for n in range(40):
        await factories.animal(
            application.state.services, name=f"Compressible {n}", species="x" * 40
        )
    yield application
    await dispose(application)


async def raw(
    app: Any, accept_encoding: str | None, **request: Any
) -> tuple[httpx.Response, bytes]:
    """The response and its body exactly as sent (not decoded by the client)."""
    headers = {"Accept": "application/json", **request.pop("headers", {})}
    if accept_encoding is not None:
        headers["Accept-Encoding"] = accept_encoding
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://zoo") as http:
        del http.headers["accept-encoding"]  # httpx's own default asks for every encoding
        method = request.pop("method", "POST")
        async with http.stream(
            method, request.pop("path", "/graphql"), headers=headers, **request
        ) as response:
            body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


@pytest.mark.parametrize(
    ("accept_encoding", "chosen"),
    [
        ("gzip", "gzip"),
        ("br", "br"),
        ("zstd", "zstd"),
        ("gzip, br, zstd", "zstd"),
        ("gzip, br", "br"),
        ("gzip;q=1, identity;q=0.5", "gzip"),
        ("identity", None),
        ("gzip;q=0", None),
        (None, None),
        ("@@@ ;;; q=banana", None),
        ("x" * 5000, None),
    ],
)
async def test_each_encoding_is_chosen_as_asked(
    app: Any, accept_encoding: str | None, chosen: str | None
) -> None:
    plain_response, plain = await raw(app, "identity", json=BIG)
    assert plain_response.status_code == 200
    assert len(plain) > 1024
    response, body = await raw(app, accept_encoding, json=BIG)
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == chosen
    assert "Accept-Encoding" in response.headers["vary"]
    if chosen is None:
        assert body == plain
    else:
        assert DECODE[chosen](body) == plain
        assert len(body) < len(plain) / 3


async def test_small_answers_and_rest_routes(app: Any) -> None:
    response, body = await raw(app, "gzip", json=SMALL)
    assert "content-encoding" not in response.headers
    assert json.loads(body) == {"data": {"animals": {"totalCount": 40}}}
    health, _ = await raw(app, "gzip", method="GET", path="/health")
    assert health.status_code == 200
    assert "content-encoding" not in health.headers  # small


async def test_a_compressed_answer_has_a_weak_etag_that_revalidates(app: Any) -> None:
    plain_response, _ = await raw(app, "identity", method="GET", params=BIG)
    strong = plain_response.headers["etag"]
    response, _ = await raw(app, "gzip", method="GET", params=BIG)
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["etag"] == f"W/{strong}"
    for condition in (strong, f"W/{strong}"):
        again, body = await raw(
            app, "gzip", method="GET", params=BIG, headers={"If-None-Match": condition}
        )
        assert again.status_code == 304, condition
        assert body == b""


@pytest.mark.parametrize("accept", [SSE, MULTIPART], ids=["sse", "multipart"])
async def test_a_stream_is_neither_compressed_nor_held_back(
    settings: Settings, accept: dict[str, str]
) -> None:
    """Each event arrives as it commits, through the compressing app, to a client that
    accepts every encoding (a gzip stream would hold the first event back)."""
    app = create_app(settings)
    query = {"query": "subscription { animalEvents { kind animal { name } } }"}
    headers = {**accept, "Accept-Encoding": "gzip, br, zstd"}
    try:
        async with running(app) as base, httpx.AsyncClient(base_url=base, timeout=10) as http:
            token = await admin_token(app, base)
            async with http.stream("POST", "/graphql", json=query, headers=headers) as stream:
                assert "content-encoding" not in stream.headers
                chunks = stream.aiter_raw()
                for n in range(3):
                    await mutate_ok(
                        base,
                        token,
                        "mutation($n: String!) { createAnimal(input: {name: $n}) { id } }",
                        n=f"Streamed {n}",
                    )
                    seen = b""
                    while f"Streamed {n}".encode() not in seen:
                        seen += await asyncio.wait_for(anext(chunks), 5)
    finally:
        await dispose(app)


async def admin_token(app: Any, base: str) -> str:
    from tests.support.accounts import PASSWORD
    from zoo.auth.service import create_user

    await create_user(app.state.database, "streamer@example.com", PASSWORD, superuser=True)
    async with httpx.AsyncClient(base_url=base) as http:
        login = await http.post(
            "/auth/jwt/login", data={"username": "streamer@example.com", "password": PASSWORD}
        )
    return str(login.json()["access_token"])
