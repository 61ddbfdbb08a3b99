"""Every REST error in one shape, ``{"code", "detail"}``, with a machine-readable code:
fastapi-users' own where it has one, the status's otherwise (429s had none)."""

from __future__ import annotations

import re

import httpx

from tests.support.accounts import Account
from tests.support.databases import dispose
from zoo.app import create_app
from zoo.config import Settings

CODE = re.compile(r"[A-Z][A-Z0-9_]+")


async def test_each_kind_of_rest_error_has_a_code(client: httpx.AsyncClient, user: Account) -> None:
    cases = [
        (
            await client.post("/auth/jwt/login", data={"username": user.email, "password": "nope"}),
            400,
            "LOGIN_BAD_CREDENTIALS",
        ),
        (
            await client.post(
                "/auth/register", json={"email": "short@example.com", "password": "x"}
            ),
            400,
            "REGISTER_INVALID_PASSWORD",
        ),
        (await client.get("/users/me"), 401, "UNAUTHENTICATED"),
        (await client.get("/no/such/route"), 404, "NOT_FOUND"),
        (await client.put("/users/me", json={}), 405, "METHOD_NOT_ALLOWED"),
        (await client.post("/auth/jwt/login", data={}), 422, "BAD_USER_INPUT"),
    ]
    for response, status, code in cases:
        body = response.json()
        assert (response.status_code, body["code"]) == (status, code), (response.request.url, body)
        assert set(body) == {"code", "detail"}
        assert CODE.fullmatch(body["code"])
    registered = cases[1][0].json()
    assert registered["detail"]["code"] == "REGISTER_INVALID_PASSWORD"  # as fastapi-users says
    assert cases[4][0].headers["allow"]


async def test_too_many_logins_is_too_many_requests_with_retry_after(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"login_attempts_per_minute": 1}))
    try:
        transport = httpx.ASGITransport(app=app, client=("10.9.9.9", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://zoo") as client:
            form = {"username": "nobody@example.com", "password": "wrong"}
            statuses = [(await client.post("/auth/jwt/login", data=form)) for _ in range(5)]
    finally:
        await dispose(app)
    refused = statuses[-1]
    assert refused.status_code == 429
    assert refused.json()["code"] == "TOO_MANY_REQUESTS"
    assert int(refused.headers["retry-after"]) > 0


async def test_a_405_allows_every_method_the_path_is_served_with(
    client: httpx.AsyncClient, user: Account
) -> None:
    bearer = {"Authorization": f"Bearer {user.token}"}
    me = await client.options("/users/me", headers=bearer)
    assert (me.status_code, me.json()["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert me.headers["allow"] == "GET, HEAD, PATCH"
    one = await client.put("/users/00000000-0000-0000-0000-000000000000", headers=bearer)
    assert one.status_code == 405
    assert one.headers["allow"] == "DELETE, GET, HEAD, PATCH"
