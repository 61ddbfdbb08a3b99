"""Fixtures: migrated databases (SQLite always, PostgreSQL when configured), the real app over
HTTP, users with real tokens from the login route, and a GraphQL helper.

Each test gets a clean database: a fresh copy of a migrated SQLite file, or the
shared migrated PostgreSQL database truncated before the test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from tests.support import browser
from tests.support.accounts import PASSWORD, Account, login
from tests.support.clients import GraphQL, StatementCounter
from tests.support.databases import (
    BACKENDS,
    POSTGRES_URL,
    TABLES,
    admin_sql,
    dispose,
    with_database,
)
from tests.support.mailbox import Mailbox
from tests.support.servers import Live, free_port, running
from zoo.app import create_app
from zoo.auth.service import create_user
from zoo.cli import migrate
from zoo.config import Settings
from zoo.core.roles import Role
from zoo.domains import Services


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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "zoo.db"
    migrate(Settings(database_url=f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated database of our own on the configured server; unreachable fails, never skips."""
    name = f"zoo_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(admin_sql(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    url = with_database(Settings(database_url=POSTGRES_URL).database_url, name)
    try:
        migrate(Settings(database_url=url))
        yield url
    finally:
        asyncio.run(admin_sql(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test marked ``postgres`` or ``browser`` skips, saying why, where its PostgreSQL
    or Chromium is missing (``.ci/run`` provides both: there it runs or fails)."""
    missing = {
        "postgres": None if POSTGRES_URL else "ZOO_TEST_POSTGRES_URL is not set",
        "browser": "Chromium is missing (apt-get install -y chromium; .ci/run installs it)"
        if browser.MISSING
        else None,
    }
    for item in items:
        for marker, reason in missing.items():
            if reason and item.get_closest_marker(marker) is not None:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(
    params=[
        pytest.param(backend, marks=pytest.mark.postgres) if backend == "postgresql" else backend
        for backend in BACKENDS
    ]
)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        path = tmp_path / "zoo.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(admin_sql(url, f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # Many tests log in from the same test client address; test_limits covers the limit.
    return Settings(
        database_url=database_url,
        env="test",
        token_lifetime_seconds=3600,
        login_attempts_per_minute=10_000,
        account_mails_per_hour=10_000,
        mail_dir=tmp_path / "mail",
    )


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


@pytest.fixture
def make_account(client: httpx.AsyncClient, services: Services) -> Any:
    """A user with a role (default CURATOR: what any user could do in version 1), logged in
    through the real login route."""

    async def make(
        superuser: bool = False,
        email: str | None = None,
        role: Role = Role.CURATOR,
        staff_member_id: int | None = None,
    ) -> Account:
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        user = await create_user(
            services.database,
            email,
            PASSWORD,
            superuser=superuser,
            role=None if superuser else role,
            staff_member_id=staff_member_id,
        )
        token = await login(client, email)
        return Account(email=email, password=PASSWORD, token=token, id=str(user.id))

    return make


@pytest.fixture
async def user(make_account: Any) -> Account:
    """A CURATOR: may create and update anything, delete nothing."""
    account: Account = await make_account()
    return account


@pytest.fixture
async def visitor(make_account: Any) -> Account:
    account: Account = await make_account(role=Role.VISITOR)
    return account


@pytest.fixture
async def admin(make_account: Any) -> Account:
    account: Account = await make_account(superuser=True)
    return account


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQL:
    return GraphQL(client)


@pytest.fixture
def count_statements(app: Any) -> Iterator[StatementCounter]:
    """Counts the SQL statements the app sends (not BEGIN/COMMIT/PRAGMA)."""
    counter = StatementCounter()
    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on a free port, collecting what the app under test sends."""
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Live:
    """A served app with some settings changed; yields (app, base URL, an admin's token)."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[tuple[Any, str, str]]:
        port = free_port()
        defaults = {
            "database_url": database_url,
            "env": "test",
            "mail_dir": tmp_path / "mail",
            "public_url": f"http://127.0.0.1:{port}",  # the links in its mails
        }
        settings = Settings(**{**defaults, **overrides})
        app = create_app(settings)
        email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
        await create_user(app.state.database, email, PASSWORD, superuser=True)
        async with running(app, port) as base:
            async with httpx.AsyncClient(base_url=base) as http:
                login = await http.post(
                    "/auth/jwt/login", data={"username": email, "password": PASSWORD}
                )
            yield app, base, login.json()["access_token"]

    return make
