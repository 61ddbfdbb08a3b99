"""Nobody learns who has an account: sign-up and forgot-password answer a known and an
unknown address alike, in what they say and in how long they take."""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

import httpx

from tests.support.accounts import PASSWORD
from zoo.auth.service import create_user
from zoo.domains import Services

VARYING = {"date", "x-request-id"}
"""Headers whose value differs on every answer, whoever asks."""


def shape(response: httpx.Response) -> tuple[int, str, tuple[tuple[str, str], ...]]:
    headers = tuple(
        sorted(
            (name, "*" if name in VARYING else value) for name, value in response.headers.items()
        )
    )
    return response.status_code, response.text, headers


async def timed(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    response = await client.post(path, json=body)
    return shape(response), time.perf_counter() - started


async def compare(
    client: httpx.AsyncClient, path: str, known: list[str], body: dict[str, Any], n: int
) -> float:
    """Send ``n`` requests alternating known and unknown addresses; assert they look the
    same and return the ratio of their median times (slower over faster)."""
    shapes: dict[str, set[Any]] = {"known": set(), "unknown": set()}
    seconds: dict[str, list[float]] = {"known": [], "unknown": []}
    for i in range(n):
        group = "known" if i % 2 == 0 else "unknown"
        email = (
            known[i // 2 % len(known)] if group == "known" else f"{uuid.uuid4().hex}@example.com"
        )
        answer, took = await timed(client, path, {**body, "email": email})
        shapes[group].add(answer)
        seconds[group].append(took)
    assert len(shapes["known"]) == 1, shapes["known"]
    assert shapes["known"] == shapes["unknown"]
    known_median = statistics.median(seconds["known"])
    unknown_median = statistics.median(seconds["unknown"])
    ratio = max(known_median, unknown_median) / min(known_median, unknown_median)
    print(
        f"{path}: median known {known_median * 1000:.2f} ms, unknown "
        f"{unknown_median * 1000:.2f} ms, ratio {ratio:.3f}"
    )
    return ratio


async def test_known_and_unknown_addresses_are_answered_alike_and_as_fast(
    client: httpx.AsyncClient, services: Services
) -> None:
    known = [f"known-{i}@example.com" for i in range(10)]
    for email in known:
        await create_user(services.database, email, PASSWORD)
    await compare(client, "/auth/forgot-password", known, {}, 20)  # warm up
    forgot = await compare(client, "/auth/forgot-password", known, {}, 200)
    register = await compare(client, "/auth/register", known, {"password": "a long password"}, 200)
    assert forgot < 1.05
    assert register < 1.05


async def test_mail_requests_are_limited_per_address_and_per_email_alike(
    database_url: str, services: Services
) -> None:
    """An unknown address is counted exactly as a known one (else the 429 would tell), and a
    request refused for its client address spends nothing of the e-mail's allowance."""
    from tests.support.databases import dispose
    from zoo.app import create_app
    from zoo.config import Settings

    await create_user(services.database, "counted@example.com", PASSWORD)
    settings = Settings(
        database_url=database_url,
        env="test",
        login_attempts_per_minute=100,
        account_mails_per_hour=2,
    )
    app = create_app(settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("10.1.1.1", 1)), base_url="http://t"
        ) as http:
            for email in ("counted@example.com", "uncounted@example.com"):
                statuses = [
                    (await http.post(route, json={"email": email})).status_code
                    for route in ("/auth/forgot-password", "/auth/request-verify-token") * 2
                ]
                assert statuses == [202, 202, 429, 429], (email, statuses)
            refused = await http.post(
                "/auth/forgot-password", json={"email": "counted@example.com"}
            )
            assert int(refused.headers["Retry-After"]) > 60
    finally:
        await dispose(app)
