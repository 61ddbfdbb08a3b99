"""Fixtures: migrated databases (SQLite always, PostgreSQL when configured), the real app over
HTTP, users with real tokens from the login route, and a GraphQL helper.

Each test gets a clean database: a fresh copy of a migrated SQLite file, or the
shared migrated PostgreSQL database truncated before the test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from sqlalchemy import event

from bench.http import free_port
from zoo.app import create_app
from zoo.auth.service import create_user
from zoo.cli import migrate
from zoo.config import Settings
from zoo.core.group_sizes import PURPOSE
from zoo.domains import Services

ROOT = Path(__file__).resolve().parent.parent

POSTGRES_URL = os.environ.get("ZOO_TEST_POSTGRES_URL", "").strip()
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]
TABLES = "access_tokens, users, animals, staff, exhibits"
PASSWORD = "correct-horse-battery"


def pytest_report_header() -> list[str]:
    redis = os.environ.get("ZOO_TEST_REDIS_URL", "").strip()
    node = shutil.which("node")
    js_clients = (Path(__file__).parent / "js" / "node_modules" / "graphql-ws").is_dir()
    return [
        "JavaScript clients (graphql-ws, graphql-sse, Apollo, urql): "
        + (
            "installed"
            if node and js_clients
            else "skipped (Node or tests/js/node_modules is missing; make test runs npm ci)"
        ),
        "browser (GraphiQL in Chromium, via Playwright): "
        + (
            "/usr/bin/chromium"
            if Path("/usr/bin/chromium").exists()
            else "skipped (no /usr/bin/chromium; apt-get install -y chromium)"
        ),
        f"databases: SQLite and PostgreSQL ({POSTGRES_URL})"
        if POSTGRES_URL
        else "databases: SQLite only; PostgreSQL half skipped (ZOO_TEST_POSTGRES_URL is not set)",
        f"redis: {redis}" if redis else "redis: skipped (ZOO_TEST_REDIS_URL is not set)",
    ]


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://").replace(
        "postgres://", "postgresql://"
    )


def with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def _admin(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url), timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "zoo.db"
    migrate(Settings(database_url=f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated database of our own on the configured server; unreachable fails, never skips."""
    name = f"zoo_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    url = with_database(Settings(database_url=POSTGRES_URL).database_url, name)
    try:
        migrate(Settings(database_url=url))
        yield url
    finally:
        asyncio.run(_admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        path = tmp_path / "zoo.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_admin(url, f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Many tests log in from the same test client address; test_limits covers the limit.
    return Settings(
        database_url=database_url,
        env="test",
        token_lifetime_seconds=3600,
        login_attempts_per_minute=10_000,
    )


async def dispose(app: Any) -> None:
    """What the app's lifespan does on shutdown (the ASGI test transport runs no lifespan)."""
    await app.state.shutdown()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    yield application
    await dispose(application)


@pytest.fixture
def services(app: Any) -> Services:
    services: Services = app.state.services
    return services


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@dataclass
class Account:
    email: str
    password: str
    token: str
    id: str


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/auth/jwt/login", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
def make_account(client: httpx.AsyncClient, services: Services) -> Any:
    async def make(superuser: bool = False, email: str | None = None) -> Account:
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        user = await create_user(services.database, email, PASSWORD, superuser=superuser)
        token = await login(client, email)
        return Account(email=email, password=PASSWORD, token=token, id=str(user.id))

    return make


@pytest.fixture
async def user(make_account: Any) -> Account:
    account: Account = await make_account()
    return account


@pytest.fixture
async def admin(make_account: Any) -> Account:
    account: Account = await make_account(superuser=True)
    return account


class GraphQL:
    """Posts operations to /graphql the way a front end does."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        expect_errors: bool = False,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if not expect_errors:
            assert "errors" not in body, body
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> Any:
        return (await self(query, variables, token))["data"]

    async def error(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        body = await self(query, variables, token, expect_errors=True)
        assert len(body.get("errors", [])) == 1, body
        error: dict[str, Any] = body["errors"][0]
        return error


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQL:
    return GraphQL(client)


class StatementCounter:
    """Statements run to answer a request; the cost estimate's reads of list sizes (made
    once per change, see ``core.group_sizes``) are kept apart, in ``estimates``."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.estimates: list[str] = []

    def __call__(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, *args: Any
    ) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() not in {
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
        }:
            return
        if context is not None and context.execution_options.get(PURPOSE):
            self.estimates.append(statement)
        else:
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_statements(app: Any) -> Iterator[StatementCounter]:
    """Counts the SQL statements the app sends (not BEGIN/COMMIT/PRAGMA)."""
    counter = StatementCounter()
    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


Live = Callable[..., Any]


@asynccontextmanager
async def running(app: Any) -> AsyncIterator[str]:
    """``app`` served by uvicorn in the test's own process (its lifespan included), so that
    a test can look inside it (the broker's subscribers, the loop's tasks) as clients use it."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def live(database_url: str) -> Live:
    """A served app with some settings changed; yields (app, base URL, an admin's token)."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[tuple[Any, str, str]]:
        settings = Settings(**{"database_url": database_url, "env": "test", **overrides})
        app = create_app(settings)
        email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
        await create_user(app.state.database, email, PASSWORD, superuser=True)
        async with running(app) as base:
            async with httpx.AsyncClient(base_url=base) as http:
                login = await http.post(
                    "/auth/jwt/login", data={"username": email, "password": PASSWORD}
                )
            yield app, base, login.json()["access_token"]

    return make


@contextmanager
def zoo_serve(
    database_url: str, *arguments: str, env: Mapping[str, str] | None = None, **popen: Any
) -> Iterator[tuple[str, subprocess.Popen[Any]]]:
    """A real ``zoo serve`` process on a free port, its environment free of the suite's
    ``ZOO_*`` and ``OTEL_*`` settings but for ``env``; yields its base URL and the process,
    stopped at the end if it still runs."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "OTEL_"))}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "zoo", "serve", "--port", str(port), *arguments],
        cwd=ROOT,
        env={**environment, "ZOO_DATABASE_URL": database_url, **(env or {})},
        **popen,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=15)


def zoo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return python_module("zoo", *args, env=env)


def python_module(
    module: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m module args``, its environment free of the suite's ``ZOO_*`` but for ``env``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ZOO_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=120,
        check=False,
    )


def wait_until_serving(base: str, process: subprocess.Popen[Any], seconds: float = 30) -> None:
    """Until the server at ``base`` answers /health (any status); fails if it exits first."""
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, "the server exited"
        try:
            httpx.get(f"{base}/health", timeout=1)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.2)


class Http:
    """Drives the ASGI app from synchronous hypothesis tests, on one event loop of its own."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.app = create_app(settings)
        transport = httpx.ASGITransport(app=self.app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://fuzz")
        self.token = self.run(self._superuser_token())

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    async def _superuser_token(self) -> str:
        await create_user(
            self.app.state.database, "fuzz@example.com", "fuzz password!", superuser=True
        )
        form = {"username": "fuzz@example.com", "password": "fuzz password!"}
        response = await self.client.post("/auth/jwt/login", data=form)
        return str(response.json()["access_token"])

    def post(self, **kwargs: Any) -> httpx.Response:
        return self.run(self.client.post("/graphql", **kwargs))  # type: ignore[no-any-return]

    def close(self) -> None:
        self.run(self.client.aclose())
        self.run(dispose(self.app))
        self.loop.close()
