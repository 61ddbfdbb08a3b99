"""``/health`` as a load balancer reads it: 503 when the database is out, with when to ask
again, as every outage answer carries."""

from __future__ import annotations

import httpx

from tests.support.databases import dispose
from zoo.app import create_app
from zoo.config import Settings


async def test_an_unreachable_database_is_503_with_retry_after() -> None:
    settings = Settings(
        database_url="postgresql://postgres@127.0.0.1:9/nowhere",
        env="test",
        health_timeout_seconds=2,
        db_connect_timeout=1,
    )
    app = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.get("/health")
    finally:
        await dispose(app)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
    assert response.headers["retry-after"] == "5"
