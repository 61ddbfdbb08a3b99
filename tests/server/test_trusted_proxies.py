"""``X-Forwarded-For`` is believed only from the proxies ``ZOO_TRUSTED_PROXIES`` names:
otherwise any client could claim a fresh address for every login attempt."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bench.http import serve_zoo
from tests.support.subscriptions import server_env

pytestmark = pytest.mark.slow
"""Real server processes, or long waits for deadlines."""


def serve_with(database_url: str, **extra: str) -> Iterator[str]:
    env = server_env(database_url, ZOO_LOGIN_ATTEMPTS_PER_MINUTE="1", **extra)
    with serve_zoo(env) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def untrusting(database_url: str) -> Iterator[str]:
    yield from serve_with(database_url)


@pytest.fixture
def behind_a_proxy(database_url: str) -> Iterator[str]:
    yield from serve_with(database_url, ZOO_TRUSTED_PROXIES="127.0.0.1")


async def attempts(base: str) -> list[int]:
    """Four logins (one address may make 3N = 3 attempts a minute), each claiming another
    address, as a client straight from the internet."""
    async with httpx.AsyncClient(base_url=base) as http:
        return [
            (
                await http.post(
                    "/auth/jwt/login",
                    data={"username": f"nobody{i}@example.com", "password": "wrong password"},
                    headers={"X-Forwarded-For": f"203.0.113.{i}"},
                )
            ).status_code
            for i in range(4)
        ]


async def test_forwarded_addresses_are_ignored_by_default(untrusting: str) -> None:
    assert await attempts(untrusting) == [400, 400, 400, 429]


async def test_a_trusted_proxy_forwards_each_clients_address(behind_a_proxy: str) -> None:
    assert await attempts(behind_a_proxy) == [400, 400, 400, 400]
