"""Migrations are the only way the schema is made: they go up, down and up again on both
databases, match the models exactly, and the documented workflow works on a scratch copy."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.databases import POSTGRES_URL, admin_sql, dispose, with_database
from zoo.app import create_app
from zoo.auth.tokens import stored_form
from zoo.config import Settings

pytestmark = pytest.mark.slow
"""Real server processes, or long waits for deadlines."""

ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "exhibits",
    "animals",
    "staff",
    "users",
    "access_tokens",
    "invitations",
    "mail_outbox",
    "changes",
    "change_log_state",
}


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = Settings(database_url=url).database_url
    config.attributes["configure_logger"] = False
    return config


def table_names(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_async_engine(Settings(database_url=url).database_url)
        try:
            async with engine.connect() as connection:
                names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        finally:
            await engine.dispose()
        return names - {"alembic_version"}

    return asyncio.run(read())


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("ZOO_TEST_POSTGRES_URL is not set")
    name = f"zoo_migrations_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin_sql(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(POSTGRES_URL, name)
    finally:
        asyncio.run(admin_sql(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_upgrade_downgrade_upgrade(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    assert table_names(empty_database) == TABLES
    command.downgrade(config, "base")
    assert table_names(empty_database) == set()
    command.upgrade(config, "head")
    assert table_names(empty_database) == TABLES


def test_models_and_migrations_agree(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    command.check(config)  # raises when autogenerate would write anything


def zoo_env(url: str, **settings: str) -> dict[str, str]:
    """This environment without the suite's ``ZOO_*`` settings, with ``url`` and ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOO_")}
    return {**env, "ZOO_DATABASE_URL": url, **settings}


def run(*args: str, cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = zoo_env(url)
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result


def scratch_project(tmp_path: Path) -> tuple[Path, str]:
    """A copy of the project's Alembic set-up, and the URL of its own SQLite file."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "alembic.ini", project / "alembic.ini")
    shutil.copytree(
        ROOT / "migrations", project / "migrations", ignore=shutil.ignore_patterns("__pycache__")
    )
    url = f"sqlite:///{project / 'data' / 'zoo.db'}"
    return project, url


def test_documented_workflow_on_a_scratch_copy(tmp_path: Path) -> None:
    """The commands of docs/architecture.md, as written, on a copy of the project."""
    project, url = scratch_project(tmp_path)

    # Making a new migration: upgrade first; with no model change autogenerate finds nothing.
    run("alembic", "upgrade", "head", cwd=project, url=url)
    run("alembic", "check", cwd=project, url=url)

    # Cold start: remove the database and the revisions, regenerate the initial one, upgrade.
    (project / "data" / "zoo.db").unlink()
    for revision in (project / "migrations" / "versions").glob("*.py"):
        revision.unlink()
    run("alembic", "revision", "--autogenerate", "-m", "initial schema", cwd=project, url=url)
    assert len(list((project / "migrations" / "versions").glob("*.py"))) == 1
    run("alembic", "upgrade", "head", cwd=project, url=url)
    run("alembic", "check", cwd=project, url=url)
    assert table_names(url) == TABLES


@pytest.mark.parametrize("ruff", ["installed", "absent"])
def test_a_new_revision_is_written_with_or_without_the_dev_tools(tmp_path: Path, ruff: str) -> None:
    """After ``make run`` alone ruff is not installed: a revision is still written (and
    said to be left unformatted); with the dev tools it is formatted."""
    project, url = scratch_project(tmp_path)
    run("alembic", "upgrade", "head", cwd=project, url=url)
    hide = "import sys; sys.modules['ruff'] = None; " if ruff == "absent" else ""
    script = hide + "from alembic.config import main; main()"
    result = run(
        sys.executable, "-c", script, "revision", "-m", "feeding times", cwd=project, url=url
    )
    (written,) = (project / "migrations" / "versions").glob("*_feeding_times.py")
    assert written.read_text().count("def upgrade") == 1
    assert ("ruff is not installed" in result.stderr) == (ruff == "absent"), result.stderr


def test_duplicate_emails_are_resolved_before_the_case_blind_index(empty_database: str) -> None:
    """Accounts that share an email in different cases (made before the index): one is
    kept (the active, lower-case one), the others deactivated and renamed, never lost."""
    config = alembic_config(empty_database)
    command.upgrade(config, "7298ba52df32")
    ids = [uuid.uuid4() for _ in range(3)]
    rows = [
        (ids[0], "Keeper@Example.com", True),
        (ids[1], "keeper@example.com", True),
        (ids[2], "KEEPER@example.com", False),
    ]

    async def insert_and_read(after: bool) -> list[tuple[str, str, bool]]:
        engine = create_async_engine(Settings(database_url=empty_database).database_url)
        try:
            async with engine.begin() as connection:
                if not after:
                    for id_, email, active in rows:
                        await connection.execute(
                            text(
                                "INSERT INTO users (id, email, hashed_password, is_active,"
                                " is_superuser, is_verified) VALUES (:id, :email, 'x', :a,"
                                " false, false)"
                            ),
                            {
                                "id": id_ if "postgresql" in empty_database else str(id_),
                                "email": email,
                                "a": active,
                            },
                        )
                result = await connection.execute(
                    text("SELECT id, email, is_active FROM users ORDER BY email")
                )
                return [(str(r[0]).replace("-", ""), r[1], bool(r[2])) for r in result]
        finally:
            await engine.dispose()

    asyncio.run(insert_and_read(after=False))
    command.upgrade(config, "head")
    after = {id_: (email, active) for id_, email, active in asyncio.run(insert_and_read(True))}
    assert after[ids[1].hex] == ("keeper@example.com", True)
    for renamed in (ids[0], ids[2]):
        email, active = after[renamed.hex]
        assert email.startswith(f"duplicate-{renamed.hex[:12]}.")
        assert email.lower().endswith("@example.com")
        assert active is False
    assert len(after) == 3


def test_a_run_of_migrations_is_one_transaction(empty_database: str) -> None:
    """Every revision of a run commits at once, on SQLite too (whose DDL Alembic takes for
    non-transactional, committing after each revision): an instance migrating at the same
    moment then never reads a version between two of them, to run the next one again."""
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    event.listen(Engine, "commit", committed)
    try:
        command.upgrade(alembic_config(empty_database), "head")
    finally:
        event.remove(Engine, "commit", committed)
    assert table_names(empty_database) == TABLES
    assert len(commits) == 1


def test_deploys_that_migrate_at_once_all_succeed(empty_database: str) -> None:
    """Several instances of a deployment each run ``zoo migrate`` as they start. At
    once on PostgreSQL, all but one failed (a traceback, an instance that would not
    start): each began the same DDL from the same version. They take turns now, and
    those after the first find nothing left to do."""
    env = zoo_env(empty_database)
    deploys = [
        subprocess.Popen(
            [sys.executable, "-m", "zoo", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for deploy in deploys:
        out, err = deploy.communicate(timeout=120)
        assert deploy.returncode == 0, err
        assert out.strip() == "database at head"
    assert table_names(empty_database) == TABLES


def test_a_migration_is_not_held_to_a_requests_statement_timeout(empty_database: str) -> None:
    """A migration may rewrite or index a large table: with the requests' statement
    timeout (15 s by default) it failed halfway on PostgreSQL, reported as "database
    unreachable". Here every statement is slower than the timeout it is given."""
    env = zoo_env(empty_database, ZOO_DB_STATEMENT_TIMEOUT="0.000001")
    migrated = subprocess.run(
        [sys.executable, "-m", "zoo", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    assert table_names(empty_database) == TABLES


def test_sessions_made_before_tokens_were_digested_go_on_working(empty_database: str) -> None:
    """The upgrade that keeps digests instead of tokens rewrites the stored tokens, so a
    user logged in before it stays logged in; a downgrade ends every session."""
    config = alembic_config(empty_database)
    command.upgrade(config, "982ca1522e7d")
    user_id, token = uuid.uuid4(), secrets.token_urlsafe()  # as fastapi-users made them
    on_postgres = "postgresql" in empty_database

    async def sql(statement: str, **values: object) -> list[tuple[object, ...]]:
        engine = create_async_engine(Settings(database_url=empty_database).database_url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(statement), values)
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            await engine.dispose()

    asyncio.run(
        sql(
            "INSERT INTO users (id, email, hashed_password, is_active, is_superuser,"
            " is_verified) VALUES (:id, 'before@example.com', 'x', true, false, false)",
            id=user_id if on_postgres else str(user_id),
        )
    )
    asyncio.run(
        sql(
            "INSERT INTO access_tokens (token, user_id, created_at) VALUES (:t, :u, :c)",
            t=token,
            u=user_id if on_postgres else str(user_id),
            c=datetime.now(UTC),
        )
    )
    command.upgrade(config, "head")
    assert asyncio.run(sql("SELECT token FROM access_tokens")) == [(stored_form(token),)]

    async def me() -> object:
        app = create_app(Settings(database_url=empty_database, env="test"))
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://zoo") as http:
                answer = await http.post(
                    "/graphql",
                    json={"query": "{ me { email } }"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                return answer.json()["data"]["me"]
        finally:
            await dispose(app)

    assert asyncio.run(me()) == {"email": "before@example.com"}
    command.downgrade(config, "982ca1522e7d")
    assert asyncio.run(sql("SELECT token FROM access_tokens")) == []


def test_emails_take_their_plain_spelling_and_look_alikes_are_set_aside(
    empty_database: str,
) -> None:
    """Stored before sign-up folded compatibility forms: an address spelled with them takes
    its plain spelling (its owner logs in as before), unless another account has that
    spelling already, when it is a look-alike, deactivated and renamed, never lost."""
    config = alembic_config(empty_database)
    command.upgrade(config, "35448ba5e905")
    ids = [uuid.uuid4() for _ in range(3)]
    rows = [
        (ids[0], "plain@example.com"),
        (ids[1], "\uff30LAIN@example.com"),  # a fullwidth P: a look-alike of the first
        (ids[2], "\uff76\uff85@example.com"),  # halfwidth kana, no one else's
    ]
    on_postgres = "postgresql" in empty_database

    async def insert_and_read(insert: bool) -> dict[str, tuple[str, bool]]:
        engine = create_async_engine(Settings(database_url=empty_database).database_url)
        try:
            async with engine.begin() as connection:
                for id_, email in rows if insert else ():
                    await connection.execute(
                        text(
                            "INSERT INTO users (id, email, hashed_password, is_active,"
                            " is_superuser, is_verified) VALUES (:id, :email, 'x', true,"
                            " false, false)"
                        ),
                        {"id": id_ if on_postgres else str(id_), "email": email},
                    )
                result = await connection.execute(text("SELECT id, email, is_active FROM users"))
                return {str(r[0]).replace("-", ""): (r[1], bool(r[2])) for r in result}
        finally:
            await engine.dispose()

    asyncio.run(insert_and_read(insert=True))
    command.upgrade(config, "head")
    after = asyncio.run(insert_and_read(insert=False))
    assert after[ids[0].hex] == ("plain@example.com", True)
    assert after[ids[2].hex] == ("\u30ab\u30ca@example.com", True)
    renamed, active = after[ids[1].hex]
    assert renamed == f"duplicate-{ids[1].hex[:12]}.\uff30LAIN@example.com"
    assert active is False


def test_roles_are_given_to_existing_users_and_taken_back_on_the_way_down(
    empty_database: str,
) -> None:
    """Superusers become ADMIN; every other user CURATOR (what version 1 let them do);
    the link is empty. Down, the columns go and every user stays; up again, the same."""
    config = alembic_config(empty_database)
    command.upgrade(config, "856b2119281e")
    postgres = "postgresql" in empty_database
    users = [(uuid.uuid4(), "boss@example.com", True), (uuid.uuid4(), "ann@example.com", False)]

    async def sql(statement: str, parameters: list[dict[str, Any]] | None = None) -> list[Any]:
        engine = create_async_engine(Settings(database_url=empty_database).database_url)
        try:
            async with engine.begin() as connection:
                if parameters is not None:
                    await connection.execute(text(statement), parameters)
                    return []
                return list(await connection.execute(text(statement)))
        finally:
            await engine.dispose()

    asyncio.run(
        sql(
            "INSERT INTO users (id, email, hashed_password, is_active, is_superuser,"
            " is_verified) VALUES (:id, :email, 'x', true, :superuser, false)",
            [
                {"id": id_ if postgres else id_.hex, "email": email, "superuser": superuser}
                for id_, email, superuser in users
            ],
        )
    )
    read = "SELECT email, role, staff_member_id FROM users ORDER BY email"
    for _ in range(2):
        command.upgrade(config, "838361e62b83")
        assert [tuple(row) for row in asyncio.run(sql(read))] == [
            ("ann@example.com", "CURATOR", None),
            ("boss@example.com", "ADMIN", None),
        ]
        command.downgrade(config, "856b2119281e")
        rows = asyncio.run(sql("SELECT email, is_superuser FROM users ORDER BY email"))
        assert [(row[0], bool(row[1])) for row in rows] == [
            ("ann@example.com", False),
            ("boss@example.com", True),
        ]
