"""The test databases: which servers, and statements run as their administrator."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent.parent

POSTGRES_URL = os.environ.get("ZOO_TEST_POSTGRES_URL", "").strip()
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
TABLES = (
    "changes, change_log_state, mail_outbox, invitations, access_tokens, users, animals, "
    "staff, exhibits"
)


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://").replace(
        "postgres://", "postgresql://"
    )


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def admin_sql(url: str, *statements: str) -> None:
    """Run ``statements`` on the server of ``url``, outside any transaction."""
    connection = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def dispose(app: Any) -> None:
    """What the app's lifespan does on shutdown (the ASGI test transport runs no lifespan)."""
    await app.state.shutdown()
