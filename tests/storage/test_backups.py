"""``zoo backup`` and ``zoo restore`` on a served SQLite database, run as people run them."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.accounts import PASSWORD
from tests.support.servers import zoo, zoo_serve
from zoo.auth.service import create_user
from zoo.config import Settings
from zoo.storage.database import Database

pytestmark = pytest.mark.slow
"""Real server processes, or long waits for deadlines."""

on_sqlite = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

CREATE = "mutation($name: String!) { createAnimal(input: {name: $name}) { id } }"
NAMES = "{ animals(first: 100) { edges { node { name } } } }"


def login(database_url: str, base: str) -> str:
    async def make_user() -> None:
        database = Database(Settings(database_url=database_url))
        try:
            await create_user(database, "keeper@example.com", PASSWORD, superuser=True)
        finally:
            await database.dispose()

    asyncio.run(make_user())
    form = {"username": "keeper@example.com", "password": PASSWORD}
    return str(httpx.post(f"{base}/auth/jwt/login", data=form).json()["access_token"])


def graphql(base: str, query: str, token: str | None = None, **variables: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"query": query, "variables": variables}
    return httpx.post(f"{base}/graphql", json=body, headers=headers).json()


def names_in(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {name for (name,) in connection.execute("SELECT name FROM animals")}


def env_of(database_url: str) -> dict[str, str]:
    return {"ZOO_DATABASE_URL": database_url}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@on_sqlite
def test_a_backup_taken_while_serving_restores_every_write_acknowledged_before_it(
    database_url: str, tmp_path: Path
) -> None:
    database = Path(database_url.removeprefix("sqlite:///"))
    backup = tmp_path / "backups" / "zoo-backup.db"
    with zoo_serve(database_url) as (base, _):
        token = login(database_url, base)
        assert "errors" not in graphql(base, CREATE, token, name="Before")
        # Straight after the write, its commit is still in the WAL beside the database
        # (a copy of the file alone would miss it); the server goes on meanwhile.
        assert Path(f"{database}-wal").stat().st_size > 0
        taken = zoo("backup", str(backup), env=env_of(database_url))
        assert taken.returncode == 0, taken.stderr
        assert f"backed up to {backup}" in taken.stdout
        assert "1 animals" in taken.stdout
        assert "errors" not in graphql(base, CREATE, token, name="After")

        refused = zoo("restore", str(backup), env=env_of(database_url))
        assert refused.returncode == 1
        assert "another Zoo server already serves" in refused.stderr
        assert "stop it before restoring" in refused.stderr
        assert "Traceback" not in refused.stderr
        served = graphql(base, NAMES)["data"]["animals"]["edges"]
        assert {edge["node"]["name"] for edge in served} == {"Before", "After"}

    # One self-contained, checked file.
    assert names_in(backup) == {"Before"}
    assert not Path(f"{backup}-wal").exists()
    assert list(backup.parent.iterdir()) == [backup]

    restored = zoo("restore", str(backup), env=env_of(database_url))
    assert restored.returncode == 0, restored.stderr
    assert "every session ended" in restored.stdout
    (kept,) = database.parent.glob(f"{database.name}.before-restore-*")
    assert f"kept at {kept}" in restored.stdout
    assert names_in(kept) == {"Before", "After"}  # what the restore replaced is kept

    with zoo_serve(database_url) as (base, _):
        served = graphql(base, NAMES)["data"]["animals"]["edges"]
        assert [edge["node"]["name"] for edge in served] == ["Before"]
        # The session from before the restore is over: a logout since the backup
        # would otherwise have been undone.
        ended = graphql(base, CREATE, token, name="Again")
        assert ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        form = {"username": "keeper@example.com", "password": PASSWORD}
        assert httpx.post(f"{base}/auth/jwt/login", data=form).status_code == 200


@on_sqlite
def test_a_restore_refuses_a_file_it_cannot_trust_and_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    database = Path(database_url.removeprefix("sqlite:///"))
    good = tmp_path / "good.db"
    assert zoo("backup", str(good), env=env_of(database_url)).returncode == 0

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database, just bytes" * 100)
    torn = tmp_path / "torn.db"
    torn.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    newer = tmp_path / "newer.db"
    shutil.copy(good, newer)
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
    stranger = tmp_path / "stranger.db"
    with sqlite3.connect(stranger) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")

    before = digest(database)
    for path, reason in (
        (garbage, "file is not a database"),
        (torn, "torn.db: "),
        (newer, "migrated by a newer Zoo (schema f00dfeedbeef)"),
        (stranger, "is not a migrated Zoo database"),
        (tmp_path / "missing.db", "no backup at"),
    ):
        result = zoo("restore", str(path), env=env_of(database_url))
        assert result.returncode == 1, (path, result.stdout)
        assert reason in result.stderr, (path, result.stderr)
        assert "Traceback" not in result.stderr
    assert digest(database) == before
    assert not list(database.parent.glob("*before-restore*"))


def test_backing_up_refuses_what_it_cannot_copy(tmp_path: Path) -> None:
    postgres = {"ZOO_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/nowhere"}
    for command, tool in (("backup", "pg_dump"), ("restore", "pg_restore")):
        result = zoo(command, str(tmp_path / "x.db"), env=postgres)
        assert result.returncode == 1
        assert f"for PostgreSQL use {tool}" in result.stderr
    missing = {"ZOO_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"}
    result = zoo("backup", str(tmp_path / "x.db"), env=missing)
    assert result.returncode == 1
    assert "no database at" in result.stderr
    assert not (tmp_path / "x.db").exists()


@on_sqlite
def test_a_backup_goes_to_a_file_of_its_own(database_url: str, tmp_path: Path) -> None:
    """Not a directory, and never over the database or the files beside it: a backup
    written over the WAL would destroy the commits in it."""
    database = Path(database_url.removeprefix("sqlite:///"))
    with zoo_serve(database_url) as (base, _):
        token = login(database_url, base)
        assert "errors" not in graphql(base, CREATE, token, name="Kept")
        wal = Path(f"{database}-wal")
        before = {path: digest(path) for path in (database, wal)}
        for target, reason in (
            (tmp_path, "is a directory: name the file to write"),
            (database, "is part of the database itself"),
            (wal, "is part of the database itself"),
            (Path(f"{database}-shm"), "is part of the database itself"),
        ):
            result = zoo("backup", str(target), env=env_of(database_url))
            assert result.returncode == 1, target
            assert reason in result.stderr, (target, result.stderr)
            assert "Traceback" not in result.stderr
        assert {path: digest(path) for path in before} == before
    assert not list(tmp_path.parent.glob(".*partial*"))
    refused = zoo("restore", str(database), env=env_of(database_url))
    assert refused.returncode == 1
    assert "is part of the database itself, not a backup of it" in refused.stderr
    assert names_in(database) == {"Kept"}


@on_sqlite
def test_a_restore_to_where_no_database_can_be_is_one_line(
    database_url: str, tmp_path: Path
) -> None:
    backup = tmp_path / "good.db"
    assert zoo("backup", str(backup), env=env_of(database_url)).returncode == 0
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    result = zoo("restore", str(backup), env=env_of(f"sqlite:///{blocked / 'zoo.db'}"))
    assert result.returncode == 1
    assert "a-file" in result.stderr
    assert "Traceback" not in result.stderr
    assert blocked.read_text() == "not a directory"
