"""Benchmark databases: migrated like production, then filled in bulk."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from zoo.cli import migrate
from zoo.config import Settings

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


ANIMAL_NAMES = ("Lion", "Tiger", "Eagle", "Gorilla", "Koala", "Lizard", "Zebra", "Otter")
"""Names for the query-power data set (goal 9): a search for "li" finds a quarter."""


def rows(exhibits: int, animals_each: int, named: bool = False) -> tuple[list[tuple], list[tuple]]:
    """``named``: animals called by what they are ("Lion 000123"), else "Animal 000123"."""
    exhibit_rows = [
        (i, f"Exhibit {i:04d}", f"About exhibit {i}", f"Zone {i % 7}", EPOCH + timedelta(seconds=i))
        for i in range(1, exhibits + 1)
    ]
    animal_rows = []
    for e in range(1, exhibits + 1):
        for a in range(animals_each):
            id_ = (e - 1) * animals_each + a + 1
            animal_rows.append(
                (
                    id_,
                    f"{ANIMAL_NAMES[id_ % 8] if named else 'Animal'} {id_:06d}",
                    f"A fine animal number {id_}, loved by visitors",
                    f"Species {id_ % 97}",
                    e,
                    EPOCH + timedelta(seconds=id_),
                )
            )
    return exhibit_rows, animal_rows


def sqlite_database(path: Path, exhibits: int, animals_each: int) -> str:
    """A migrated SQLite file holding ``exhibits`` x ``animals_each`` animals."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    migrate(Settings(database_url=url))
    exhibit_rows, animal_rows = rows(exhibits, animals_each)

    def stamp(value: datetime) -> str:
        return value.replace(tzinfo=None).isoformat(sep=" ")

    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO exhibits (id, name, description, location, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(i, n, d, loc, stamp(t), stamp(t)) for i, n, d, loc, t in exhibit_rows],
        )
        connection.executemany(
            "INSERT INTO animals (id, name, description, species, exhibit_id, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(i, n, d, s, e, stamp(t), stamp(t)) for i, n, d, s, e, t in animal_rows],
        )
        connection.execute("ANALYZE")
    return url


def postgres_database(
    admin_url: str, name: str, exhibits: int, animals_each: int, named: bool = False
) -> str:
    """A fresh migrated PostgreSQL database ``name`` on the server of ``admin_url``."""
    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    url = dsn.rsplit("/", 1)[0] + "/" + name

    async def create() -> None:
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()

    async def fill() -> None:
        exhibit_rows, animal_rows = rows(exhibits, animals_each, named)
        connection = await asyncpg.connect(url)
        try:
            await connection.copy_records_to_table(
                "exhibits",
                records=[(i, n, d, loc, t, t) for i, n, d, loc, t in exhibit_rows],
                columns=["id", "name", "description", "location", "created_at", "updated_at"],
            )
            await connection.copy_records_to_table(
                "animals",
                records=[(i, n, d, s, e, t, t) for i, n, d, s, e, t in animal_rows],
                columns=[
                    "id",
                    "name",
                    "description",
                    "species",
                    "exhibit_id",
                    "created_at",
                    "updated_at",
                ],
            )
            for table in ("exhibits", "animals"):
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
            await connection.execute("ANALYZE")
        finally:
            await connection.close()

    asyncio.run(create())
    migrate(Settings(database_url=url))
    asyncio.run(fill())
    return url


def drop_postgres_database(admin_url: str, name: str) -> None:
    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")

    async def drop() -> None:
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(drop())


def superuser_token(url: str, port: int) -> str:
    """A superuser made in the database at ``url``, and its bearer token from the real
    login route of the Zoo serving it on ``port`` (the write benchmarks' caller)."""
    from zoo.auth.service import create_user
    from zoo.core.errors import Conflict
    from zoo.storage.database import Database

    email, password = "bench-writer@example.com", "bench-writer-password"

    async def make() -> None:
        database = Database(Settings(database_url=url))
        try:
            await create_user(database, email, password, superuser=True)
        except Conflict:
            pass  # made by an earlier goal on the same database
        finally:
            await database.dispose()

    asyncio.run(make())
    login = httpx.post(
        f"http://127.0.0.1:{port}/auth/jwt/login",
        data={"username": email, "password": password},
    )
    if login.status_code != 200:
        raise SystemExit(f"could not log in to Zoo: {login.text[:200]}")
    token: str = login.json()["access_token"]
    return token
