"""Every route the cookie can authenticate refuses it from another origin; no auth response
may be cached."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.accounts import PASSWORD, Account, cookie_login, login
from tests.support.databases import dispose
from tests.support.servers import running
from zoo.app import create_app
from zoo.config import Settings

EVIL = {"Origin": "https://evil.example"}


def cookie_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every state-changing REST route (from the app's own OpenAPI
    description): all of them accept the cookie."""
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith(("/auth/", "/users/"))
        for method in operations
        if method.upper() in {"POST", "PUT", "PATCH", "DELETE"}
    ]


async def test_every_cookie_route_refuses_another_origin(
    app: Any, client: httpx.AsyncClient, user: Account
) -> None:
    routes = cookie_routes(app)
    # The list comes from the app: a new route is covered without editing this test.
    assert ("POST", "/auth/jwt/logout") in routes
    assert ("PATCH", "/users/me") in routes
    assert len(routes) >= 8
    await cookie_login(client, user.email)
    for method, path in routes:
        response = await client.request(
            method, path.replace("{id}", user.id), json={}, headers=EVIL
        )
        assert response.status_code == 403, (method, path, response.text)
        assert response.json() == {"code": "CROSS_ORIGIN_REQUEST", "detail": "CROSS_ORIGIN_REQUEST"}
    # Nothing was done: the session is still there.
    assert (await client.get("/users/me")).status_code == 200


@pytest.mark.parametrize(
    ("fetch_site", "status"),
    [("same-origin", 204), ("cross-site", 403), ("same-site", 403), (None, 403)],
)
async def test_a_hidden_origin_counts_as_ours_only_when_the_browser_says_same_origin(
    client: httpx.AsyncClient, user: Account, fetch_site: str | None, status: int
) -> None:
    """``Origin: null`` (a page under no-referrer, a sandboxed frame): a cookie login
    passes only with the browser's ``Sec-Fetch-Site: same-origin``."""
    headers = {"Origin": "null"}
    if fetch_site is not None:
        headers["Sec-Fetch-Site"] = fetch_site
    form = {"username": user.email, "password": user.password}
    response = await client.post("/auth/cookie/login", data=form, headers=headers)
    assert response.status_code == status, response.text
    assert ("zoo-auth" in response.cookies) == (status == 204)


async def test_jwt_logout_with_the_cookie_from_another_origin_keeps_the_session(
    client: httpx.AsyncClient, user: Account
) -> None:
    await cookie_login(client, user.email)
    refused = await client.post("/auth/jwt/logout", headers=EVIL)
    assert refused.status_code == 403
    assert (await client.get("/users/me")).status_code == 200


async def test_a_bearer_token_from_another_origin_still_works(
    client: httpx.AsyncClient, user: Account
) -> None:
    """Browsers never send a bearer token on their own: no forgery to fear."""
    headers = {**EVIL, "Authorization": f"Bearer {user.token}"}
    assert (await client.get("/users/me", headers=headers)).status_code == 200
    assert (await client.post("/auth/jwt/logout", headers=headers)).status_code == 204


async def test_auth_responses_are_never_cached(client: httpx.AsyncClient, user: Account) -> None:
    login = await client.post(
        "/auth/jwt/login", data={"username": user.email, "password": PASSWORD}
    )
    wrong = await client.post(
        "/auth/jwt/login", data={"username": user.email, "password": "not it at all"}
    )
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {user.token}"})
    register = await client.post("/auth/register", json={"email": user.email, "password": "x"})
    cookie = await client.post(
        "/auth/cookie/login", data={"username": user.email, "password": PASSWORD}
    )
    for response in (login, wrong, me, register, cookie):
        assert response.headers["cache-control"] == "no-store", response.request.url
    assert (await client.get("/health")).headers.get("cache-control") != "no-store"


async def test_a_graphql_answer_given_to_a_login_is_never_cached(
    client: httpx.AsyncClient, user: Account
) -> None:
    """``GET /graphql?query={me{email}}`` is one URL for every user: kept by a shared
    cache, one user's answer went to the next who asked. An answer given to a token or
    the cookie is the user's own (no cache may keep it); every answer varies with the
    credentials and the ``Accept`` it was asked with."""
    me = {"query": "{ me { email } }"}
    accept = {"Accept": "application/json"}
    bearer = await client.get(
        "/graphql", params=me, headers={**accept, "Authorization": f"Bearer {user.token}"}
    )
    await cookie_login(client, user.email)
    by_cookie = await client.get("/graphql", params=me, headers=accept)
    for answer in (bearer, by_cookie):
        assert answer.json() == {"data": {"me": {"email": user.email}}}
        assert answer.headers["cache-control"] == "private, no-store"
    client.cookies.clear()
    anonymous = await client.get("/graphql", params=me, headers=accept)
    assert anonymous.json() == {"data": {"me": None}}
    # Nor is an anonymous one, unless ZOO_GRAPHQL_CACHE_SECONDS says so (below).
    assert anonymous.headers["cache-control"] == "no-store"
    for answer in (bearer, by_cookie, anonymous):
        varies = {v.strip().lower() for v in answer.headers["vary"].split(",")}
        assert {"accept", "authorization", "cookie"} <= varies


async def test_an_anonymous_answer_over_get_is_kept_as_long_as_the_settings_say(
    settings: Settings, user: Account
) -> None:
    """With nothing said, a CDN or proxy keeps a GET answer as long as its own default
    says (Fastly: an hour) and serves rows that have since changed. Only an anonymous
    answer over GET without errors may be kept, for ZOO_GRAPHQL_CACHE_SECONDS."""
    kept_for = {"graphql_cache_seconds": 30, "max_response_bytes": 2048}
    app = create_app(settings.model_copy(update=kept_for))
    transport = httpx.ASGITransport(app=app)
    accept = {"Accept": "application/json"}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://cache") as client:
            token = await login(client, user.email)
            query = {"query": "{ animals(first: 1) { totalCount } }"}
            kept = await client.get("/graphql", params=query, headers=accept)
            assert "errors" not in kept.json()
            assert kept.headers["cache-control"] == "public, max-age=30"
            bearer = {**accept, "Authorization": f"Bearer {token}"}
            mine = await client.get("/graphql", params=query, headers=bearer)
            assert mine.headers["cache-control"] == "private, no-store"
            for failing in ("{ animals(first: -1) { totalCount } }", "{ nothing }", "{"):
                answer = await client.get("/graphql", params={"query": failing}, headers=accept)
                assert answer.json()["errors"], failing
                assert answer.headers["cache-control"] == "no-store", failing
            posted = await client.post("/graphql", json=query, headers=accept)
            assert "public" not in posted.headers.get("cache-control", "")
            # An answer past the size limit is an error standing in for it.
            big = {"query": "{ __schema { types { name fields { name description } } } }"}
            too_large = await client.get("/graphql", params=big, headers=accept)
            assert too_large.json()["errors"][0]["extensions"]["code"] == "RESPONSE_TOO_LARGE"
            assert too_large.headers["cache-control"] == "no-store"
    finally:
        await dispose(app)


async def test_a_stream_over_get_is_never_kept_by_a_cache(settings: Settings) -> None:
    """An event stream is never one answer to keep, whatever anonymous answers may be."""
    app = create_app(settings.model_copy(update={"graphql_cache_seconds": 30}))
    subscribe = {"query": "subscription { animalEvents { kind } }"}
    async with running(app) as base, httpx.AsyncClient(base_url=base) as client:
        for accept, expected in (
            ("text/event-stream", "no-cache, no-transform"),
            ('multipart/mixed;subscriptionSpec="1.0"', "no-store"),
        ):
            headers = {"Accept": accept}
            async with client.stream("GET", "/graphql", params=subscribe, headers=headers) as r:
                assert r.status_code == 200
                assert r.headers.get_list("cache-control") == [expected], accept
