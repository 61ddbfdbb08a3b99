"""The wheel, installed as a user installs it: a fresh venv, no checkout, any directory.

``pip install .`` (not editable) must give a ``zoo`` command whose ``migrate``
and ``serve`` work from anywhere: the migrations and GraphiQL's files ship in
the package. Built once per session; migrated on a new SQLite file and, when
PostgreSQL is configured, a new PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from bench.http import free_port
from tests.support.databases import POSTGRES_URL, admin_sql, with_database
from tests.support.servers import wait_until_serving

pytestmark = pytest.mark.slow
"""Real server processes, or long waits for deadlines."""

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``zoo`` command of a fresh venv holding only the wheel and its dependencies."""
    scratch = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--quiet", "-w", scratch],
        check=True,
        cwd=scratch,
    )
    (wheel,) = scratch.glob("zoo-*.whl")
    venv = scratch / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [venv / "bin" / "pip", "install", "--quiet", "-c", ROOT / "constraints.txt", wheel],
        check=True,
        cwd=scratch,
    )
    return venv / "bin" / "zoo"


def run_zoo(zoo: Path, cwd: Path, env: dict[str, str], *args: str) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ZOO_")}
    result = subprocess.run(
        [zoo, *args], cwd=cwd, env={**environment, **env}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A directory with no checkout in sight."""
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    assert not (directory / "alembic.ini").exists()
    return directory


def test_the_wheel_holds_no_checkout_paths(installed: Path) -> None:
    python = installed.parent / "python"
    located = subprocess.run(
        [python, "-c", "import zoo, zoo.migrations; print(zoo.__file__, zoo.migrations.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    ).stdout
    assert str(ROOT) not in located, located
    assert "site-packages" in located


def test_installed_zoo_migrates_and_serves_sqlite_from_anywhere(
    installed: Path, elsewhere: Path
) -> None:
    env = {
        "ZOO_DATABASE_URL": f"sqlite:///{elsewhere / 'zoo.db'}",
        "ZOO_ENV": "production",
        "ZOO_SECRET": "packaging-test-secret-" + "x" * 32,
        "ZOO_GRAPHIQL": "true",
    }
    run_zoo(installed, elsewhere, env, "migrate")
    run_zoo(installed, elsewhere, env, "seed")
    with serving(installed, elsewhere, env) as base:
        health = httpx.get(f"{base}/health")
        assert health.json()["status"] == "ok"
        data = httpx.post(f"{base}/graphql", json={"query": "{ exhibits { totalCount } }"}).json()
        assert data == {"data": {"exhibits": {"totalCount": 4}}}
        page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        asset = httpx.get(f"{base}/graphql/static/vendor/graphiql.min.js")
        assert asset.status_code == 200


@pytest.mark.postgres
def test_installed_zoo_migrates_a_new_postgresql_database(installed: Path, elsewhere: Path) -> None:
    name = f"zoo_wheel_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin_sql(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    try:
        env = {"ZOO_DATABASE_URL": with_database(POSTGRES_URL, name)}
        run_zoo(installed, elsewhere, env, "migrate")
        with serving(installed, elsewhere, env) as base:
            assert httpx.get(f"{base}/health").json()["status"] == "ok"
            query = {"query": "{ animals { totalCount } }"}
            body = httpx.post(f"{base}/graphql", json=query).json()
            assert body["data"] == {"animals": {"totalCount": 0}}
            # Development (the default) shows each answer's cost beside the limit.
            assert body["extensions"]["cost"]["limit"] == 150_000
    finally:
        asyncio.run(admin_sql(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def serving(zoo: Path, cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """``zoo serve`` of the installed command, in ``cwd``, once its /health answers."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ZOO_")}
    process = subprocess.Popen(
        [zoo, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=cwd,
        env={**environment, **env},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
