"""Abuse limits: each refused just over its limit and allowed at it, with a clear code."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from tests.support.accounts import PASSWORD, Account, fullwidth
from tests.support.databases import dispose
from zoo.app import create_app
from zoo.config import Settings

ClientFactory = Callable[..., Any]


REDIS_URL = os.environ.get("ZOO_TEST_REDIS_URL", "").strip()


@pytest.fixture
def limited(database_url: str) -> ClientFactory:
    """A client for an app with some settings changed."""

    @asynccontextmanager
    async def make(
        client: tuple[str, int] = ("127.0.0.1", 50000), **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(Settings(**{"database_url": database_url, "env": "test", **overrides}))
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://limits") as http:
            yield http
        await dispose(app)

    return make


async def post(client: httpx.AsyncClient, query: str, **extra: Any) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": query, **extra},
        headers={"Accept": "application/graphql-response+json"},
    )


def code(response: httpx.Response) -> str | None:
    errors = response.json().get("errors") or [{}]
    value = errors[0].get("extensions", {}).get("code")
    return str(value) if value is not None else None


def nested(depth: int) -> str:
    """A query whose deepest field sits ``depth`` levels down."""
    inner = "id"
    for level in range(depth - 1):
        inner = f"animals {{ {inner} }}" if level % 2 == 0 else f"exhibit {{ {inner} }}"
    field = "exhibit" if (depth - 1) % 2 == 1 else "animal"
    return f"{{ {field}(id: 1) {{ {inner} }} }}"


async def test_depth(limited: ClientFactory) -> None:
    # Nested lists multiply the cost estimate; lift it to look at depth alone.
    async with limited(max_cost=10**9) as client:
        at_limit = await post(client, nested(10))
        assert at_limit.status_code == 200, at_limit.text
        assert "errors" not in at_limit.json()
        over = await post(client, nested(11))
        assert over.status_code == 400
        assert code(over) == "QUERY_TOO_DEEP"


async def test_aliases(client: httpx.AsyncClient) -> None:
    def aliased(count: int) -> str:
        return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"

    assert "errors" not in (await post(client, aliased(30))).json()
    over = await post(client, aliased(31))
    assert over.status_code == 400
    assert code(over) == "TOO_MANY_ALIASES"


async def test_tokens(limited: ClientFactory) -> None:
    assert Settings().max_tokens == 2000
    async with limited(max_tokens=50) as client:
        # "{", n names and "}" make n + 2 tokens.
        at_limit = await post(client, "{ " + "__typename " * 48 + "}")
        assert "errors" not in at_limit.json(), at_limit.text
        over = await post(client, "{ " + "__typename " * 49 + "}")
        assert over.status_code == 400
        assert code(over) == "TOO_MANY_TOKENS"


async def test_query_cost(limited: ClientFactory) -> None:
    query = "query($n: Int) { animals(first: $n) { edges { node { id name } } } }"
    async with limited(max_cost=400) as client:
        # 1 + first x (edges 1 + node 1 + id + name): 397 for 99, 401 for 100.
        under = await post(client, query, variables={"n": 99})
        assert "errors" not in under.json(), under.text
        over = await post(client, query, variables={"n": 100})
        assert over.status_code == 400
        error = over.json()["errors"][0]
        assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 401, "maxCost": 400}


async def test_body_size(limited: ClientFactory) -> None:
    async with limited(max_body_bytes=2048) as client:

        def body(size: int) -> bytes:
            skeleton = json.dumps({"query": "{ __typename }", "variables": {"pad": ""}})
            return skeleton.replace('""', '"' + "x" * (size - len(skeleton)) + '"').encode()

        ok = await client.post(
            "/graphql", content=body(2048), headers={"Content-Type": "application/json"}
        )
        assert ok.status_code == 200, ok.text
        too_big = await client.post(
            "/graphql", content=body(2049), headers={"Content-Type": "application/json"}
        )
        assert too_big.status_code == 413
        assert too_big.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

        async def stream() -> AsyncIterator[bytes]:
            yield body(3000)

        streamed = await client.post(
            "/graphql", content=stream(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413


async def test_query_length_is_refused_before_parsing(limited: ClientFactory) -> None:
    async with limited(max_query_length=200) as client:
        query = "{ __typename }"
        fits = query + " " * (200 - len(query))
        assert (await post(client, fits)).status_code == 200
        refused = await post(client, fits + " ")
        assert refused.status_code == 413
        assert code(refused) == "PAYLOAD_TOO_LARGE"
        assert "longer than 200 characters" in refused.json()["errors"][0]["message"]
        garbage = await post(client, "{" * 201)
        assert garbage.status_code == 413


async def test_batches_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=[{"query": "{ __typename }"}] * 2)
    assert response.status_code == 400
    assert code(response) == "BAD_REQUEST"


async def test_suggestions_and_introspection_are_off_in_production(
    client: httpx.AsyncClient, limited: ClientFactory
) -> None:
    development = await post(client, "{ animls { totalCount } }")
    assert "Did you mean" in development.text
    assert "errors" not in (await post(client, "{ __schema { queryType { name } } }")).json()
    async with limited(env="production", secret="s" * 40) as production:
        typo = await post(production, "{ animls { totalCount } }")
        assert code(typo) == "GRAPHQL_VALIDATION_FAILED"
        assert "Did you mean" not in typo.text
        introspection = await post(production, "{ __schema { queryType { name } } }")
        assert code(introspection) == "INTROSPECTION_DISABLED"
    async with limited(env="production", secret="s" * 40, introspection=True) as opted_in:
        answer = await post(opted_in, '{ __type(name: "Animal") { name } }')
        assert answer.json() == {"data": {"__type": {"name": "Animal"}}}


@pytest.mark.slow
async def test_login_limits_throttle_guessing_not_the_owner(
    limited: ClientFactory, user: Account
) -> None:
    """N = 2 here. A pair (email, address) gets N failures a minute; an address 3N attempts;
    an email 10N failures from anywhere, after which only addresses it logged in from
    before get in."""
    wrong = {"username": user.email, "password": "wrong password"}
    right = {"username": user.email, "password": PASSWORD}

    def at(client: httpx.AsyncClient, address: str) -> httpx.AsyncClient:
        client._transport.client = (address, 1)  # type: ignore[attr-defined]
        return client

    async with limited(client=("10.0.0.1", 1), login_attempts_per_minute=2) as client:
        # The owner logs in once from home: a known address from now on.
        assert (await at(client, "10.0.0.1").post("/auth/jwt/login", data=right)).status_code == 200
        # One guesser, one address: 2 failures, then that pair is refused...
        guesser = at(client, "10.6.6.6")
        statuses = [
            (await guesser.post("/auth/jwt/login", data=wrong)).status_code for _ in range(3)
        ]
        assert statuses == [400, 400, 429]
        refused = await guesser.post("/auth/jwt/login", data=wrong)
        assert int(refused.headers["Retry-After"]) >= 1
        # ...but the same address may still try other accounts, up to 3N attempts in all.
        other = {"username": "someone@example.com", "password": "whatever"}
        assert (await guesser.post("/auth/cookie/login", data=other)).status_code == 400
        assert (await guesser.post("/auth/cookie/login", data=other)).status_code == 400
        assert (await guesser.post("/auth/jwt/login", data=other)).status_code == 429
        # A campaign over many addresses: 10N failures (2 above, 18 here) lock the email
        # for addresses it has not logged in from...
        for n in range(10, 28):
            assert (
                await at(client, f"10.1.0.{n}").post("/auth/jwt/login", data=wrong)
            ).status_code == 400
        new = await at(client, "10.2.0.1").post("/auth/jwt/login", data=right)
        assert new.status_code == 429
        # ...while the owner, at home, still gets in with the right password.
        home = await at(client, "10.0.0.1").post("/auth/jwt/login", data=right)
        assert home.status_code == 200, home.text


async def test_a_login_limit_counts_every_spelling_of_an_address_as_one(
    limited: ClientFactory, user: Account
) -> None:
    """Every spelling that logs in to one account (letter case, fullwidth letters) is one
    account to the limits: counted apart, each spelling bought a fresh allowance of
    guesses at the same password."""
    local, _, domain = user.email.partition("@")
    spellings = [user.email, user.email.upper(), f"{fullwidth(local)}@{domain}"]
    async with limited(client=("10.6.6.7", 1), login_attempts_per_minute=2) as client:
        statuses = [
            (
                await client.post(
                    "/auth/jwt/login", data={"username": spelling, "password": "wrong password"}
                )
            ).status_code
            for spelling in spellings
        ]
    assert statuses == [400, 400, 429]


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        pytest.skip("ZOO_TEST_REDIS_URL is not set")
    return REDIS_URL


def stranger() -> tuple[tuple[str, int], dict[str, str]]:
    """A client address and login form no other test (or earlier run) has used."""
    token = uuid.uuid4()
    address = f"10.{token.bytes[0]}.{token.bytes[1]}.{token.bytes[2]}"
    return (address, 1), {"username": f"{token.hex}@example.com", "password": "wrong password"}


async def test_login_limit_is_shared_by_processes_through_redis(
    limited: ClientFactory, redis_url: str
) -> None:
    """Two apps (two workers) count against one limit."""
    address, form = stranger()
    settings = {"redis_url": redis_url, "login_attempts_per_minute": 3}
    async with (
        limited(client=address, **settings) as first,
        limited(client=address, **settings) as second,
    ):
        assert (await first.post("/auth/jwt/login", data=form)).status_code == 400
        assert (await first.post("/auth/jwt/login", data=form)).status_code == 400
        assert (await second.post("/auth/jwt/login", data=form)).status_code == 400
        refused = await second.post("/auth/jwt/login", data=form)
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert (await first.post("/auth/cookie/login", data=form)).status_code == 429


async def test_login_limit_holds_in_process_when_redis_is_down(
    limited: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    address, form = stranger()
    unreachable = {"redis_url": "redis://127.0.0.1:9/0", "login_attempts_per_minute": 2}
    async with limited(client=address, **unreachable) as client:
        statuses = [(await client.post("/auth/jwt/login", data=form)).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    # Logged once: after the first failure Redis is left alone for a while.
    assert caplog.text.count("Redis unreachable") == 1


async def test_a_redis_that_never_answers_costs_one_slow_login_not_a_hang(
    limited: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accept, never answer, wait for the client to give up
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    address, form = stranger()
    try:
        async with limited(client=address, redis_url=f"redis://127.0.0.1:{port}/0") as client:
            first = await client.post("/auth/jwt/login", data=form)
            second = await client.post("/auth/jwt/login", data=form)
    finally:
        server.close()
        await server.wait_closed()
    assert (first.status_code, second.status_code) == (400, 400)
    assert caplog.text.count("Redis unreachable") == 1
    assert "Timeout" in caplog.text


async def test_redis_is_tried_again_after_an_outage(redis_url: str) -> None:
    from redis.asyncio import Redis

    from zoo.auth.rate_limit import REDIS_RETRY_SECONDS, RedisWindow

    now = [1000.0]
    prefix = f"zoo:test:{uuid.uuid4().hex}:"
    client = Redis.from_url(redis_url)
    try:
        window = RedisWindow(client, 5, prefix=prefix, clock=lambda: now[0])
        window.down_until = now[0] + REDIS_RETRY_SECONDS
        assert await window.retry_after("k") == 0
        assert not await client.exists(prefix + "k")  # counted in process meanwhile
        now[0] += REDIS_RETRY_SECONDS
        assert await window.retry_after("k") == 0
        assert await client.zcard(prefix + "k") == 1
    finally:
        await client.delete(prefix + "k")
        await client.aclose()


async def test_request_ids(client: httpx.AsyncClient) -> None:
    made = await client.get("/health")
    assert len(made.headers["x-request-id"]) == 32
    echoed = await client.get("/health", headers={"X-Request-ID": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    unsafe = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert unsafe.headers["x-request-id"] != "bad id with spaces"


async def test_sign_ups_are_rate_limited_per_address(limited: ClientFactory) -> None:
    async with limited(client=("10.9.9.9", 1), login_attempts_per_minute=3) as client:
        statuses = []
        for _ in range(4):
            body = {"email": f"{uuid.uuid4().hex}@example.com", "password": "correct-horse-battery"}
            statuses.append((await client.post("/auth/register", json=body)).status_code)
        assert statuses == [202, 202, 202, 429]
        refused = await client.post("/auth/register", json=body)
        assert int(refused.headers["Retry-After"]) >= 1
        # Another address signs up as usual.
        client._transport.client = ("10.9.9.10", 1)  # type: ignore[attr-defined]
        body = {"email": f"{uuid.uuid4().hex}@example.com", "password": "correct-horse-battery"}
        assert (await client.post("/auth/register", json=body)).status_code == 202


async def test_an_ipv6_client_counts_by_its_64_block(limited: ClientFactory) -> None:
    """A host given a /64 holds 2**64 addresses: counted one by one, each would be a fresh
    budget. An IPv4 address written as IPv6 counts as itself."""
    body = {"email": "", "password": "correct-horse-battery"}

    async def sign_up(client: httpx.AsyncClient, address: str) -> int:
        client._transport.client = (address, 1)  # type: ignore[attr-defined]
        fresh = {**body, "email": f"{uuid.uuid4().hex}@example.com"}
        return (await client.post("/auth/register", json=fresh)).status_code

    async with limited(login_attempts_per_minute=2) as client:
        block = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"]
        assert [await sign_up(client, address) for address in block] == [202, 202, 429]
        assert await sign_up(client, "2001:db8:1:3::1") == 202
        mapped = ["::ffff:10.9.9.9", "10.9.9.9", "::ffff:10.9.9.9"]
        assert [await sign_up(client, address) for address in mapped] == [202, 202, 429]


async def test_password_hashing_runs_off_the_event_loop(
    limited: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sign-up, login (right, wrong and unknown) and a password change all hash in the
    hashing threads, never on the loop that serves every other request."""
    import threading

    from fastapi_users.password import PasswordHelper

    threads: list[str] = []
    for name in ("hash", "verify_and_update"):
        real = getattr(PasswordHelper, name)

        def spy(self: Any, *args: Any, real: Any = real) -> Any:
            threads.append(threading.current_thread().name)
            return real(self, *args)

        monkeypatch.setattr(PasswordHelper, name, spy)
    email, password = f"{uuid.uuid4().hex}@example.com", "correct-horse-battery"
    async with limited() as client:
        body = {"email": email, "password": password}
        assert (await client.post("/auth/register", json=body)).status_code == 202
        form = {"username": email, "password": password}
        login = await client.post("/auth/jwt/login", data=form)
        assert login.status_code == 200
        wrong = {"username": email, "password": "not the password"}
        assert (await client.post("/auth/jwt/login", data=wrong)).status_code == 400
        unknown = {"username": "nobody@example.com", "password": password}
        assert (await client.post("/auth/jwt/login", data=unknown)).status_code == 400
        token = login.json()["access_token"]
        changed = await client.patch(
            "/users/me",
            json={"password": "another-long-password", "current_password": password},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert changed.status_code == 200, changed.text
        again = {"username": email, "password": "another-long-password"}
        assert (await client.post("/auth/jwt/login", data=again)).status_code == 200
    # register, login, wrong, unknown, the current password, the new one, login again.
    assert len(threads) == 7
    assert all(name.startswith("zoo-hash") for name in threads), threads


async def test_the_in_process_window_forgets_idle_keys_in_amortized_time() -> None:
    from zoo.auth.rate_limit import MemoryWindow

    now = [0.0]
    window = MemoryWindow(3, 60, clock=lambda: now[0], sweep_at=10)
    for n in range(1000):
        assert await window.retry_after(f"live {n}") == 0
    # Every key is live, so none may go, and the table is scanned when it doubles,
    # not on every event past the threshold.
    assert len(window.hits) == 1000
    assert window.sweeps <= 7
    # A lookup that records nothing adds no key.
    assert await window.retry_after("only looked up", record=False) == 0
    assert "only looked up" not in window.hits

    now[0] += 61
    for n in range(1000):
        await window.retry_after(f"later {n}")
    assert "live 0" not in window.hits
    assert len(window.hits) <= 1000
    for _ in range(2):
        assert await window.retry_after("later 0") == 0
    assert await window.retry_after("later 0") == pytest.approx(60)
