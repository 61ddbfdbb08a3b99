"""Structured logs from a real ``zoo serve``: one JSON object per line, the request id,
operation, user and statement count on a slow operation's line, and no secrets."""

from __future__ import annotations

import asyncio
import json
import subprocess

import httpx
import pytest

from tests.support.accounts import PASSWORD
from tests.support.servers import zoo_serve
from zoo.auth.service import create_user
from zoo.config import Settings
from zoo.core.roles import Role
from zoo.storage.database import Database

pytestmark = pytest.mark.slow
"""Real server processes, or long waits for deadlines."""


def test_json_lines_name_the_request_operation_user_and_statements(database_url: str) -> None:
    async def make_user() -> None:
        database = Database(Settings(database_url=database_url))
        try:
            await create_user(database, "logger@example.com", PASSWORD, role=Role.CURATOR)
        finally:
            await database.dispose()

    asyncio.run(make_user())
    env = {"ZOO_LOG_FORMAT": "json", "ZOO_SLOW_OPERATION_MS": "0.001"}  # all are "slow"
    with zoo_serve(database_url, env=env, stderr=subprocess.PIPE, text=True) as (base, process):
        form = {"username": "logger@example.com", "password": PASSWORD}
        token = httpx.post(f"{base}/auth/jwt/login", data=form).json()["access_token"]
        response = httpx.post(
            f"{base}/graphql",
            json={"query": "query Mine { me { email } animals { totalCount } }"},
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "log-test-1"},
        )
        assert "errors" not in response.json()
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert lines, "nothing was logged"
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id"} <= set(line), line
    mine = [line for line in lines if line.get("request_id") == "log-test-1"]
    assert any(line["logger"] == "uvicorn.access" for line in mine), mine  # uvicorn's, as JSON
    slow = [line for line in mine if line["logger"] == "zoo.graphql"]
    assert len(slow) == 1, mine
    assert slow[0]["operation"] == "Mine"
    assert slow[0]["statements"] >= 2  # the user's session and the count, at least
    assert slow[0]["duration_ms"] > 0
    assert slow[0]["user_id"]
    assert token not in stderr
    assert PASSWORD not in stderr
